"""``modelward sign`` and ``modelward verify``: OpenSSF model signatures, offline."""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from modelward.cli.attach import is_oci, sign_attached
from modelward.cli.exit import EXIT_ALLOW, EXIT_DENY
from modelward.cli.options import (
    ChainOpt,
    IdentityOpt,
    IssuerOpt,
    KeyOpt,
    SignatureOpt,
    TrustRootOpt,
    signature_options,
)
from modelward.engine.errors import Error
from modelward.engine.facts import SignatureFacts
from modelward.engine.signatures.check import verify_model
from modelward.engine.signatures.sign import sign_model


class VerifyFormat(StrEnum):
    table = "table"
    json = "json"


ModelDirArg = Annotated[Path, typer.Argument(help="Model directory.")]
VerifyFormatOpt = Annotated[VerifyFormat, typer.Option("--format", "-f", help="Report format.")]
PrivateKeyOpt = Annotated[
    Path, typer.Option("--key", help="EC private key (PEM, P-256/384/521) to sign with.")
]
SigningCertOpt = Annotated[
    Path | None,
    typer.Option("--signing-cert", help="Signing certificate (PEM) for --key: certificate mode."),
]
SignChainOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--certificate-chain",
        help="Intermediate/root certificate(s) (PEM) to embed with --signing-cert.",
    ),
]
OutOpt = Annotated[
    Path | None,
    typer.Option("--signature", help="Where to write the signature (default: PATH/model.sig)."),
]
PasswordEnvOpt = Annotated[
    str | None,
    typer.Option("--password-env", help="Environment variable holding the key's password."),
]


def sign_command(
    path: Annotated[
        str,
        typer.Argument(
            help="Model directory, or an oci:// / kit:// model to sign in its registry."
        ),
    ],
    key: PrivateKeyOpt,
    signing_cert: SigningCertOpt = None,
    certificate_chain: SignChainOpt = None,
    signature: OutOpt = None,
    password_env: PasswordEnvOpt = None,
) -> None:
    """Sign every file of PATH with an EC key (or key and certificate); exit 0, or 2 on error.

    For an oci:// or kit:// model the signature is attached to its manifest in the registry
    (OCI referrers), where scans of that reference find and verify it."""
    password = None
    if password_env is not None:
        password = os.environ.get(password_env)
        if password is None:
            raise Error(f"--password-env: environment variable {password_env} is not set")
    if is_oci(path):  # sign the files as the manifest unpacks them; attach to that manifest
        sign_attached(
            path, key=key, signing_certificate=signing_cert,
            certificate_chain=certificate_chain or (), password=password,
        )  # fmt: skip
        return
    result = sign_model(
        Path(path),
        private_key=key,
        signature=signature,
        signing_certificate=signing_cert,
        certificate_chain=certificate_chain or (),
        password=password,
    )
    typer.echo(f"signed {len(result.signed_files)} files of {path} ({result.method})")
    for name in result.signed_files:
        typer.echo(f"  {name}")
    if result.ignored_paths:
        typer.echo(f"left out: {', '.join(result.ignored_paths)}")
    typer.echo(f"signature: {result.signature}")


def verify_command(
    path: ModelDirArg,
    signature: SignatureOpt = None,
    key: KeyOpt = None,
    certificate_chain: ChainOpt = None,
    identity: IdentityOpt = None,
    issuer: IssuerOpt = None,
    trust_root: TrustRootOpt = None,
    output_format: VerifyFormatOpt = VerifyFormat.table,
) -> None:
    """Verify PATH's signature offline; exit 0 verified over every file, 1 not, 2 error."""
    options = signature_options(signature, key, certificate_chain, identity, issuer, trust_root)
    facts = verify_model(path, options)
    if output_format is VerifyFormat.json:
        typer.echo(json.dumps(facts.model_dump(mode="json"), indent=2))
    else:
        typer.echo(render_table(facts), nl=False)
    raise typer.Exit(EXIT_ALLOW if facts.verified and facts.covers_all_files else EXIT_DENY)


def render_table(facts: SignatureFacts) -> str:
    if not facts.present:
        return "signature: none found (no model.sig; pass --signature FILE)\nresult: NOT SIGNED\n"
    rows = [
        ("verified", "yes" if facts.verified else "no"),
        ("method", facts.method or "unknown"),
        ("identity", facts.identity or "-"),
        ("issuer", facts.issuer or "-"),
        ("certificate", facts.certificate_fingerprint or "-"),
        ("covers all files", "yes" if facts.covers_all_files else "no"),
        ("model files present", "yes" if facts.files_present else "no"),
        ("signed files", _listing(facts.signed_files)),
        ("unsigned files", _listing(facts.unsigned_files)),
        ("missing files", _listing(facts.missing_files)),
        ("ignored by signer", _listing(facts.ignored_paths)),
        ("ignored weights", _listing(facts.ignored_weights)),
    ]
    if facts.error:
        rows.append(("error", facts.error))
    width = max(len(name) for name, _ in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    if facts.verified and facts.covers_all_files:
        verdict = "VERIFIED"
    elif facts.verified:
        verdict = "VERIFIED, BUT NOT EVERY FILE IS COVERED"
    else:
        verdict = "NOT VERIFIED"
    return "\n".join([*lines, f"{'result':<{width}}  {verdict}"]) + "\n"


def _listing(items: list[str]) -> str:
    return f"{len(items)}: {', '.join(items)}" if items else "-"
