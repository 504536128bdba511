"""Verdict signing keys: ECDSA P-256 key pairs, their ids, and their files on disk.

A key id is ``sha256:`` + the hex SHA-256 of the public key's SubjectPublicKeyInfo (DER), so
the same public key always has the same id, whoever computes it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from modelward.engine.errors import Error

#: Environment variable holding the passphrase of an encrypted private key.
PASSWORD_ENV = "MODELWARD_KEY_PASSWORD"  # noqa: S105 (a variable name)


class VerdictError(Error):
    """A key or verdict that cannot be read, written or signed."""


def generate_keypair(password: bytes | None = None) -> tuple[bytes, bytes]:
    """A new ECDSA P-256 key pair as (private key PEM, public key PEM).

    The private key is PKCS#8, encrypted with ``password`` when one is given.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    return private_pem, public_pem(key.public_key())


def public_pem(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_id(key: ec.EllipticCurvePublicKey) -> str:
    """``sha256:<hex>`` over the DER SubjectPublicKeyInfo of ``key``."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "sha256:" + hashlib.sha256(der).hexdigest()


def load_public_key(pem: bytes, source: str = "public key") -> ec.EllipticCurvePublicKey:
    """Parse a PEM public key; it must be ECDSA P-256."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise VerdictError(f"{source}: not a PEM public key ({exc})") from None
    return _p256(key, source)


def load_private_key(
    pem: bytes, password: bytes | None = None, source: str = "private key"
) -> ec.EllipticCurvePrivateKey:
    """Parse a PEM private key (encrypted with ``password`` or not); it must be ECDSA P-256."""
    try:
        key = serialization.load_pem_private_key(pem, password)
    except TypeError as exc:  # encrypted without a password, or a password for a plain key
        hint = f"; set {PASSWORD_ENV}" if password is None else ""
        raise VerdictError(f"{source}: {exc}{hint}") from None
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise VerdictError(f"{source}: cannot read the private key ({exc})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise VerdictError(f"{source}: not an ECDSA key ({type(key).__name__})")
    _p256(key.public_key(), source)
    return key


def _p256(key: object, source: str) -> ec.EllipticCurvePublicKey:
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise VerdictError(f"{source}: not an ECDSA public key ({type(key).__name__})")
    if not isinstance(key.curve, ec.SECP256R1):
        raise VerdictError(f"{source}: curve {key.curve.name} is not P-256")
    return key


def password_from_env() -> bytes | None:
    value = os.environ.get(PASSWORD_ENV)
    return value.encode() if value else None


def read_private_key(path: Path, password: bytes | None = None) -> ec.EllipticCurvePrivateKey:
    """Load the signing key at ``path`` (``password`` defaults to $MODELWARD_KEY_PASSWORD)."""
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise VerdictError(f"{path}: cannot read the signing key: {exc.strerror}") from None
    return load_private_key(pem, password or password_from_env(), str(path))


def write_keypair(
    out_dir: Path, name: str = "verdict", password: bytes | None = None
) -> tuple[Path, Path, str]:
    """Write ``NAME.key`` (mode 0600) and ``NAME.pub`` into ``out_dir``; never overwrite.

    Returns (private key path, public key path, key id).
    """
    if not name or "/" in name or name.startswith("."):
        raise VerdictError(f"invalid key name {name!r}")
    private_path, public_path = out_dir / f"{name}.key", out_dir / f"{name}.pub"
    for path in (private_path, public_path):
        if path.exists() or path.is_symlink():
            raise VerdictError(f"{path} already exists; refusing to overwrite a key")
    private_pem, public = generate_keypair(password)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_new(private_path, private_pem, 0o600)
    _write_new(public_path, public, 0o644)
    return private_path, public_path, key_id(load_public_key(public))


def _write_new(path: Path, data: bytes, mode: int) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError:
        raise VerdictError(f"{path} already exists; refusing to overwrite a key") from None
    except OSError as exc:
        raise VerdictError(f"{path}: cannot write the key: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), mode)  # the umask must not widen or narrow it
        handle.write(data)
