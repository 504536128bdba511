"""Changing a signed model (in a copy) changes the facts the way the policies expect."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.signature.conftest import copy_model, facts_for

#: (fixture, how to verify it) for one fixture of each method.
METHODS: dict[str, tuple[str, dict[str, Any]]] = {
    "sigstore": ("v1.1.0-sigstore", {}),
    "key": ("v1.1.0-elliptic-key", {"key": "signing-key-pub.pem"}),
    "certificate": ("v1.1.0-certificate", {"certificate_chain": ("ca-cert.pem",)}),
    "legacy-certificate": ("v0.2.0-certificate", {"certificate_chain": ("ca-cert.pem",)}),
    "legacy-sigstore": ("v0.3.1-sigstore", {}),
}
SAFETENSORS = b"\x08\x00\x00\x00\x00\x00\x00\x00{}      "


@pytest.fixture(params=sorted(METHODS))
def model(request: pytest.FixtureRequest, mt: Path, certs: Path, tmp_path: Path) -> Any:
    name, raw = METHODS[request.param]
    options = {
        k: (tuple(certs / c for c in v) if isinstance(v, tuple) else certs / v)
        for k, v in raw.items()
    }
    path = copy_model(mt / name, tmp_path / name)

    def check() -> Any:
        sig = facts_for(path, **options).signature
        assert sig is not None
        return sig

    return path, check


def test_the_copy_still_verifies(model: Any) -> None:
    _, check = model
    sig = check()
    assert sig.verified is True, sig.error
    assert sig.covers_all_files is True


def test_a_flipped_byte_breaks_verification(model: Any) -> None:
    path, check = model
    target = path / "signme-1"
    data = bytearray(target.read_bytes())
    data[0] ^= 0x01
    target.write_bytes(bytes(data))
    sig = check()
    assert sig.verified is False
    assert sig.covers_all_files is False
    assert sig.error == "hash mismatch: signme-1"
    assert sig.missing_files == []


def test_an_added_file_is_unsigned_but_the_signature_holds(model: Any) -> None:
    path, check = model
    (path / "extra.safetensors").write_bytes(SAFETENSORS)
    (path / "sub").mkdir()
    (path / "sub" / "notes.txt").write_text("hello\n")
    sig = check()
    assert sig.verified is True
    assert sig.covers_all_files is False
    assert sig.unsigned_files == ["extra.safetensors", "sub/notes.txt"]


def test_a_removed_file_is_missing(model: Any) -> None:
    path, check = model
    (path / "signme-2").unlink()
    sig = check()
    assert sig.verified is False
    assert sig.covers_all_files is False
    assert sig.missing_files == ["signme-2"]
    assert "signme-2" in (sig.error or "")


def test_git_paths_are_left_out_not_unsigned(model: Any) -> None:
    path, check = model
    (path / ".git").mkdir()
    (path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (path / ".gitattributes").write_text("*.bin filter=lfs\n")
    sig = check()
    assert sig.verified is True
    assert sig.covers_all_files is True
    assert sig.unsigned_files == []
    # .git/ is not model content: the scan skips it, so only .gitattributes reaches the check
    assert ".gitattributes" in sig.ignored_paths


def test_weights_under_a_signer_ignored_path_are_flagged(mt: Path, tmp_path: Path) -> None:
    path = copy_model(mt / "v1.1.0-sigstore", tmp_path / "m")
    (path / "ignore-me").write_bytes(SAFETENSORS)  # the signer's list leaves it out
    sig = facts_for(path).signature
    assert sig is not None
    assert sig.verified is True
    assert sig.unsigned_files == []
    assert sig.ignored_paths == ["ignore-me"]
    assert sig.ignored_weights == ["ignore-me"]
    assert sig.covers_all_files is False


def test_a_renamed_file_is_both_missing_and_unsigned(mt: Path, tmp_path: Path) -> None:
    path = copy_model(mt / "v1.0.0-sigstore", tmp_path / "m")
    (path / "signme-1").rename(path / "signme-1.bak")
    sig = facts_for(path).signature
    assert sig is not None
    assert sig.verified is False
    assert sig.missing_files == ["signme-1"]
    assert sig.unsigned_files == ["signme-1.bak"]


def test_a_signature_outside_the_model_is_found_with_the_option(mt: Path, tmp_path: Path) -> None:
    path = copy_model(mt / "v1.1.0-sigstore", tmp_path / "m")
    outside = tmp_path / "elsewhere.sig"
    (path / "model.sig").rename(outside)
    assert facts_for(path).signature.present is False  # type: ignore[union-attr]
    sig = facts_for(path, signature=outside).signature
    assert sig is not None
    assert sig.verified is True
    assert sig.covers_all_files is True


def test_a_pre_1_1_signature_under_another_name_is_not_a_model_file(
    mt: Path, tmp_path: Path
) -> None:
    path = copy_model(mt / "v1.0.0-sigstore", tmp_path / "m")
    (path / "model.sig").rename(path / "release.sig")
    sig = facts_for(path, signature=path / "release.sig").signature
    assert sig is not None
    assert sig.verified is True
    assert sig.unsigned_files == []


def test_a_single_file_model_needs_an_explicit_signature(tmp_path: Path) -> None:
    from model_signing import signing

    from tests.signature.keys import ec_key_pair

    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"weights")
    key, public = ec_key_pair(tmp_path)
    signer = signing.Config().use_elliptic_key_signer(private_key=key)  # type: ignore[no-untyped-call]
    signer.sign(weights, tmp_path / "weights.sig")
    assert facts_for(weights, key=public).signature.present is False  # type: ignore[union-attr]
    sig = facts_for(weights, key=public, signature=tmp_path / "weights.sig").signature
    assert sig is not None
    assert sig.verified is True, sig.error
    assert sig.covers_all_files is True
    assert sig.signed_files == ["."]  # model signing names a single-file model "."
    weights.write_bytes(b"Weights")
    sig = facts_for(weights, key=public, signature=tmp_path / "weights.sig").signature
    assert sig is not None
    assert sig.verified is False
