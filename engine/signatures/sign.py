"""Sign a model directory with OpenSSF model signing (EC key, or key plus certificate chain).

Keyless sigstore signing needs an identity provider and the network, so it is left to
``model_signing`` itself; the signatures it makes verify here like any other.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from modelward.engine.extras import requires
from modelward.engine.signatures import SigningError
from modelward.engine.signatures.material import Method

DEFAULT_SIGNATURE = "model.sig"


@dataclass(frozen=True)
class SignResult:
    signature: Path
    method: Method
    signed_files: list[str]
    ignored_paths: list[str]


def sign_model(
    model: Path,
    *,
    private_key: Path,
    signature: Path | None = None,
    signing_certificate: Path | None = None,
    certificate_chain: Sequence[Path] = (),
    password: str | None = None,
) -> SignResult:
    """Sign every file of ``model`` (except git paths and the signature itself).

    With ``signing_certificate`` the bundle carries the certificate and ``certificate_chain``
    (method ``certificate``); otherwise only a hint of the public key (method ``key``).
    """
    with requires("signing", "signing a model"):
        from model_signing import hashing, signing  # slow to import: only when signing

    if not model.is_dir():
        raise SigningError(f"{model}: not a model directory")
    if certificate_chain and signing_certificate is None:
        raise SigningError("--certificate-chain needs --signing-cert (the signing certificate)")
    out = signature if signature is not None else model / DEFAULT_SIGNATURE
    hashing_config = hashing.Config().use_file_serialization(  # type: ignore[no-untyped-call]
        hashing_algorithm="sha256"
    )
    inside = _inside(out, model)
    if inside is not None:
        hashing_config.add_ignored_paths(model_path=model, paths=[inside])
    config = signing.Config().set_hashing_config(hashing_config)  # type: ignore[no-untyped-call]
    try:
        if signing_certificate is None:
            config.use_elliptic_key_signer(private_key=private_key, password=password)
        else:
            config.use_certificate_signer(
                private_key=private_key,
                signing_certificate=signing_certificate,
                certificate_chain=list(certificate_chain),
            )
    except OSError as exc:
        raise SigningError(f"{exc.filename or private_key}: {exc.strerror or exc}") from None
    except Exception as exc:
        raise SigningError(f"cannot sign with the given key/certificate: {exc}") from None
    try:
        config.sign(model, out)
    except OSError as exc:
        raise SigningError(f"{exc.filename or model}: {exc.strerror or exc}") from None
    except ValueError as exc:  # e.g. symbolic links in the model
        raise SigningError(f"{model}: {exc}") from None
    method: Method = "key" if signing_certificate is None else "certificate"
    files, ignored = _own_statement(out)
    return SignResult(out, method, files, ignored)


def _inside(path: Path, root: Path) -> str | None:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None


def _own_statement(signature: Path) -> tuple[list[str], list[str]]:
    """What the bundle just written says it signs (read back for the report)."""
    document = json.loads(signature.read_text(encoding="utf-8"))
    statement = json.loads(base64.b64decode(document["dsseEnvelope"]["payload"]))
    predicate = statement["predicate"]
    files = sorted(str(r["name"]) for r in predicate["resources"])
    ignored = sorted(str(p) for p in predicate["serialization"].get("ignore_paths", []))
    return files, ignored
