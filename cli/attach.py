"""Signatures and verdict attestations attached to models in OCI registries (referrers).

``modelward sign oci://…`` signs the files of the model as its manifest unpacks them and
attaches the bundle; ``vet --publish --to-oci`` attaches the signed verdict as an in-toto
attestation; ``registry attestation oci://…`` finds and verifies it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from modelward.engine.errors import Error
from modelward.engine.extras import requires
from modelward.engine.refs import ModelRef

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec

    from modelward.engine.verdicts.signed import SignedVerdict

OCI_SCHEMES = ("oci", "kit")


def is_oci(text: str) -> bool:
    return text.partition("://")[0].lower() in OCI_SCHEMES and "://" in text


def pinned_reference(location: str, digest: str) -> ModelRef:
    """The digest a scan resolved, as a reference: attaching to it never re-reads a tag that
    may have moved since the files were read."""
    return ModelRef.parse(f"oci://{location}@{digest}")


def sign_attached(
    reference: str,
    *,
    key: Path,
    signing_certificate: Path | None,
    certificate_chain: Sequence[Path],
    password: str | None,
) -> None:
    """Sign the model ``reference`` names and attach the signature to its manifest."""
    from modelward.engine.signatures.sign import sign_model

    ref = ModelRef.parse(reference)
    with requires("oci", "oci:// references"):
        from modelward.engine.resolvers.oci.attached import SIGNATURE_TYPE, attach, model_manifest
        from modelward.engine.resolvers.oci.resolver import OciResolver
    source = OciResolver().resolve(ref)
    if source.findings:
        raise Error(f"{reference}: not signed: resolving it reported {source.findings[0].message}")
    with tempfile.TemporaryDirectory() as tmp:
        result = sign_model(
            source.root,
            private_key=key,
            signature=Path(tmp) / "model.sig",
            signing_certificate=signing_certificate,
            certificate_chain=certificate_chain,
            password=password,
        )
        origin = source.metadata["origin"]
        model = model_manifest(pinned_reference(origin["location"], origin["digest"]))
        pushed = attach(model, SIGNATURE_TYPE, result.signature.read_bytes(), SIGNATURE_TYPE)
    typer.echo(f"signed {len(result.signed_files)} files of {reference} ({result.method})")
    typer.echo(f"attached to {model.descriptor.digest} as {pushed}")


def attest_verdict(
    location: str, digest: str, signed: SignedVerdict, private_key: ec.EllipticCurvePrivateKey
) -> str:
    """Attach ``signed`` to the manifest ``digest`` of ``location`` (what the vetted scan
    resolved) as an in-toto attestation; return the attestation's digest."""
    from modelward.engine.verdicts.attestation import (
        IN_TOTO_PAYLOAD,
        sign_statement,
        verdict_statement,
    )

    with requires("oci", "oci:// references"):
        from modelward.engine.resolvers.oci.attached import DSSE_LAYER, attach, model_manifest
    model = model_manifest(pinned_reference(location, digest))
    statement = verdict_statement(signed, model.remote.name.location, model.descriptor.digest)
    envelope = sign_statement(statement, private_key)
    return attach(model, IN_TOTO_PAYLOAD, envelope, DSSE_LAYER)


def verified_attestation(reference: str, keys: Sequence[Path]) -> tuple[str, str]:
    """``(manifest digest, verdict outcome)`` of the verdict attested on ``reference``."""
    from modelward.engine.verdicts.attestation import (
        IN_TOTO_PAYLOAD,
        verdict_outcome,
        verify_attestation,
    )

    with requires("oci", "oci:// references"):
        from modelward.engine.resolvers.oci.attached import model_manifest, newest_attached
    model = model_manifest(ModelRef.parse(reference))
    digest = model.descriptor.digest
    found = newest_attached(model.remote, digest, IN_TOTO_PAYLOAD)
    if found is None:
        raise Error(f"{reference}: no verdict attestation is attached to {digest}")
    pems = [path.read_bytes() for path in keys]
    statement = verify_attestation(found.read_bytes(), pems, digest)
    return digest, verdict_outcome(statement)
