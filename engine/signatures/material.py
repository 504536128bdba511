"""What a signature bundle carries before anything is verified: its method and its signer.

Nothing here vouches for anything. The method decides which verifier runs; the signer is read
from the certificate so that facts can name who claims to have signed, and it is trusted only
once the signature verifies.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID, ObjectIdentifier

Method = Literal["sigstore", "key", "certificate"]

MAX_BUNDLE_BYTES: Final = 16 << 20
#: Fulcio's OIDC issuer extensions: the DER-encoded one (v2), then the raw legacy one.
ISSUER_V2: Final = ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
ISSUER_V1: Final = ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
#: Fulcio's "other name" SAN for usernames.
OTHERNAME_USERNAME: Final = ObjectIdentifier("1.3.6.1.4.1.57264.1.7")


class MalformedBundle(Exception):
    """A signature file that is not a usable sigstore bundle (the message says why)."""


@dataclass(frozen=True)
class Signer:
    """Who the certificate names: identity (SAN, else CN), issuer, SHA-256 fingerprint."""

    identity: str | None = None
    issuer: str | None = None
    fingerprint: str | None = None


@dataclass(frozen=True)
class RawBundle:
    """A bundle read from disk and parsed as JSON, with the method its material implies."""

    path: Path
    text: str
    document: dict[str, Any]
    method: Method


def read_bundle(path: Path) -> RawBundle:
    """Read ``path`` (bounded) and classify it; raise ``MalformedBundle`` with the reason."""
    text, document = read_document(path)
    return RawBundle(path, text, document, bundle_method(document))


def read_document(path: Path) -> tuple[str, dict[str, Any]]:
    """The text and JSON object of a bundle file, read with a size bound."""
    try:
        with path.open("rb") as fp:
            data = fp.read(MAX_BUNDLE_BYTES + 1)
    except OSError as exc:
        raise MalformedBundle(f"cannot read the signature: {exc.strerror or exc}") from None
    if len(data) > MAX_BUNDLE_BYTES:
        raise MalformedBundle(f"the signature is larger than {MAX_BUNDLE_BYTES} bytes")
    try:
        text = data.decode("utf-8")
        document = json.loads(text)
    except ValueError as exc:
        raise MalformedBundle(f"the signature is not a JSON sigstore bundle: {exc}") from None
    if not isinstance(document, dict):
        raise MalformedBundle("the signature is not a JSON object")
    return text, document


def bundle_method(document: dict[str, Any]) -> Method:
    """``key`` (public key hint), ``certificate`` (X.509 chain, no log entry) or ``sigstore``."""
    material = document.get("verificationMaterial")
    if not isinstance(material, dict):
        raise MalformedBundle("the bundle has no verificationMaterial")
    if not isinstance(document.get("dsseEnvelope"), dict):
        raise MalformedBundle("the bundle has no DSSE envelope (not a model signature)")
    if "publicKey" in material:
        return "key"
    if "x509CertificateChain" in material and not material.get("tlogEntries"):
        return "certificate"
    if "certificate" in material or "x509CertificateChain" in material:
        return "sigstore"
    raise MalformedBundle("the bundle names no public key and no certificate")


def chain_leaf(document: dict[str, Any]) -> x509.Certificate | None:
    """The signing certificate of a bundle, unverified (``None`` if it has none)."""
    material = document.get("verificationMaterial") or {}
    raw: Any = None
    if isinstance(material.get("certificate"), dict):
        raw = material["certificate"].get("rawBytes")
    chain = material.get("x509CertificateChain")
    if raw is None and isinstance(chain, dict) and chain.get("certificates"):
        first = chain["certificates"][0]
        raw = first.get("rawBytes") if isinstance(first, dict) else None
    if not isinstance(raw, str):
        return None
    try:
        return x509.load_der_x509_certificate(base64.b64decode(raw, validate=True))
    except ValueError:
        return None


def fulcio_signer(cert: x509.Certificate) -> Signer:
    """Identity (first SAN) and OIDC issuer of a Fulcio certificate."""
    return Signer(san_identity(cert), fulcio_issuer(cert), fingerprint(cert))


def certificate_signer(cert: x509.Certificate) -> Signer:
    """Identity (SAN, else subject CN) and issuing CA (its DN) of an X.509 signing certificate."""
    identity = san_identity(cert) or _common_name(cert)
    return Signer(identity, cert.issuer.rfc4514_string() or None, fingerprint(cert))


def fingerprint(cert: x509.Certificate) -> str:
    return "sha256:" + cert.fingerprint(hashes.SHA256()).hex()


def san_identity(cert: x509.Certificate) -> str | None:
    """The first e-mail, URI, Fulcio username or DNS name in the SAN, in that order."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return None
    values: list[str] = [
        *san.get_values_for_type(x509.RFC822Name),
        *san.get_values_for_type(x509.UniformResourceIdentifier),
    ]
    for other in san.get_values_for_type(x509.OtherName):
        if other.type_id == OTHERNAME_USERNAME:
            values.append(_der_utf8(other.value) or other.value.decode("utf-8", "replace"))
    values.extend(san.get_values_for_type(x509.DNSName))
    return values[0] if values else None


def fulcio_issuer(cert: x509.Certificate) -> str | None:
    for oid, decode in ((ISSUER_V2, _der_utf8), (ISSUER_V1, _raw_utf8)):
        try:
            ext = cert.extensions.get_extension_for_oid(oid).value
        except (x509.ExtensionNotFound, ValueError):
            continue
        value = decode(getattr(ext, "value", b""))
        if value:
            return value
    return None


def _common_name(cert: x509.Certificate) -> str | None:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = names[0].value if names else None
    return value if isinstance(value, str) and value else None


def _raw_utf8(data: bytes) -> str | None:
    try:
        return data.decode("utf-8") or None
    except UnicodeDecodeError:
        return None


def _der_utf8(data: bytes) -> str | None:
    """A DER UTF8String (tag 0x0c) with a short or long length."""
    if len(data) < 2 or data[0] != 0x0C:
        return None
    length, offset = data[1], 2
    if length & 0x80:
        size = length & 0x7F
        length, offset = int.from_bytes(data[2 : 2 + size], "big"), 2 + size
    return _raw_utf8(data[offset : offset + length])
