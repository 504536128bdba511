"""Shard-serialized signatures: each signed range is checked, and shards must tile the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from model_signing import hashing, signing

from modelward.engine.signatures.payload import PayloadError, parse_payload
from tests.signature.conftest import facts_for
from tests.signature.keys import ec_key_pair


def sign_sharded(model: Path, key: Path, hash_type: Any = "sha256") -> None:
    config = hashing.Config().use_shard_serialization(  # type: ignore[no-untyped-call]
        hashing_algorithm=hash_type, shard_size=8
    )
    signer = signing.Config().use_elliptic_key_signer(  # type: ignore[no-untyped-call]
        private_key=key
    )
    signer.set_hashing_config(config).sign(model, model / "model.sig")


@pytest.fixture
def sharded(tmp_path: Path) -> tuple[Path, Path]:
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(bytes(range(30)))
    (model / "odd:name.bin").write_bytes(b"abcdefghij")  # ":" in a path: parse from the right
    private, public = ec_key_pair(tmp_path)
    sign_sharded(model, private)
    return model, public


def check(model: Path, public: Path) -> Any:
    sig = facts_for(model, key=public).signature
    assert sig is not None
    return sig


def test_sharded_signature_verifies(sharded: tuple[Path, Path]) -> None:
    sig = check(*sharded)
    assert sig.verified is True, sig.error
    assert sig.covers_all_files is True
    assert sig.signed_files == ["odd:name.bin", "weights.bin"]


def test_an_empty_file_has_no_shard_and_stays_unsigned(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"x" * 20)
    (model / "marker").write_bytes(b"")
    private, public = ec_key_pair(tmp_path)
    sign_sharded(model, private)
    sig = check(model, public)
    assert sig.verified is True
    assert sig.unsigned_files == ["marker"]
    assert sig.covers_all_files is False


def test_a_changed_shard_is_a_mismatch(sharded: tuple[Path, Path]) -> None:
    model, public = sharded
    data = bytearray((model / "weights.bin").read_bytes())
    data[20] ^= 0xFF
    (model / "weights.bin").write_bytes(bytes(data))
    sig = check(model, public)
    assert sig.verified is False
    assert sig.error == "hash mismatch: weights.bin"


def test_an_appended_tail_is_not_signed(sharded: tuple[Path, Path]) -> None:
    model, public = sharded
    with (model / "odd:name.bin").open("ab") as fp:
        fp.write(b"tail")
    sig = check(model, public)
    assert sig.verified is False
    assert "odd:name.bin" in (sig.error or "")


def test_a_removed_sharded_file_is_missing(sharded: tuple[Path, Path]) -> None:
    model, public = sharded
    (model / "weights.bin").unlink()
    sig = check(model, public)
    assert sig.verified is False
    assert sig.missing_files == ["weights.bin"]


def test_non_sha256_digests_are_reported_not_guessed(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"x" * 20)
    private, public = ec_key_pair(tmp_path)
    sign_sharded(model, private, hash_type="blake2")
    sig = check(model, public)
    assert sig.verified is False
    assert "SHA-256" in (sig.error or "")
    assert sig.signed_files == ["weights.bin"]


@pytest.mark.parametrize("name", ["no-colons", "a:b", "a:1:x", "a:5:2"])
def test_bad_shard_names_are_rejected(name: str) -> None:
    import hashlib
    import json

    digest = "00" * 32
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "m", "digest": {"sha256": hashlib.sha256(bytes(32)).hexdigest()}}],
        "predicateType": "https://model_signing/signature/v1.0",
        "predicate": {
            "serialization": {"method": "shards", "hash_type": "sha256", "shard_size": 8},
            "resources": [{"name": name, "algorithm": "sha256", "digest": digest}],
        },
    }
    with pytest.raises(PayloadError):
        parse_payload("application/vnd.in-toto+json", json.dumps(statement).encode())
