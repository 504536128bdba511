"""Files the scan skips as not model content (download metadata) still count for a signature."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from modelward.engine.signatures.sign import sign_model
from tests.signature.conftest import facts_for

SAFETENSORS = b"\x08\x00\x00\x00\x00\x00\x00\x00{}      "


def _key_pair(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    private, public = tmp_path / "k.pem", tmp_path / "k.pub"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def _local_dir_download(root: Path) -> Path:
    """An ``hf download --local-dir`` folder: the files plus huggingface_hub's metadata."""
    (root / ".cache" / "huggingface" / "download").mkdir(parents=True)
    (root / "model.safetensors").write_bytes(SAFETENSORS)
    (root / ".cache" / "huggingface" / ".gitignore").write_text("*\n")
    meta = root / ".cache" / "huggingface" / "download" / "model.safetensors.metadata"
    meta.write_text("0123\nabcd\n1700000000.0\n")
    return meta


def test_signed_download_metadata_is_checked_not_missing(tmp_path: Path) -> None:
    private, public = _key_pair(tmp_path)
    model = tmp_path / "m"
    meta = _local_dir_download(model)
    sign_model(model, private_key=private)
    facts = facts_for(model, key=public)
    assert facts.scan.skipped and facts.scan.skipped[0].path == ".cache/huggingface"
    sig = facts.signature
    assert sig is not None and sig.verified is True, sig and sig.error
    assert sig.missing_files == []
    meta.write_text("tampered\n")
    tampered = facts_for(model, key=public).signature
    assert tampered is not None and tampered.verified is False
    assert "hash mismatch" in (tampered.error or "")
