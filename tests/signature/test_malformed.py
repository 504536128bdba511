"""Malformed or hostile signature files are facts (present, not verified, a reason)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from modelward.engine.collectors import SignatureOptions
from modelward.engine.signatures import SignatureConfigError
from modelward.engine.signatures.material import MAX_BUNDLE_BYTES
from modelward.engine.signatures.verify import verify_bundle_file
from tests.signature.conftest import copy_model, facts_for

VECTORS = Path("oms-spec") / "test-vectors" / "v1.0"


def sigstore_bundle(mt: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((mt / "v1.1.0-sigstore" / "model.sig").read_text())
    return document


def with_signature(mt: Path, tmp_path: Path, content: bytes) -> Any:
    path = copy_model(mt / "v1.1.0-sigstore", tmp_path / "m")
    (path / "model.sig").write_bytes(content)
    facts = facts_for(path)
    assert facts.collection.collectors["signature"].status == "ok"
    sig = facts.signature
    assert sig is not None
    assert sig.present is True
    assert sig.verified is False
    assert sig.covers_all_files is False
    assert sig.error
    return sig


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"", "not a JSON"),
        (b"\xff\xfe garbage", "not a JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b"{}", "verificationMaterial"),
        (b'{"verificationMaterial": {}}', "DSSE"),
        (b'{"verificationMaterial": {}, "dsseEnvelope": {}}', "no public key"),
        (b'{"verificationMaterial": {"certificate": 5}, "dsseEnvelope": {}}', ""),
    ],
)
def test_garbage_signatures(mt: Path, tmp_path: Path, content: bytes, needle: str) -> None:
    sig = with_signature(mt, tmp_path, content)
    assert needle in sig.error


def test_truncated_bundle(mt: Path, tmp_path: Path) -> None:
    raw = (mt / "v1.1.0-sigstore" / "model.sig").read_bytes()
    with_signature(mt, tmp_path, raw[: len(raw) // 2])


def test_oversized_bundle(mt: Path, tmp_path: Path) -> None:
    sig = with_signature(mt, tmp_path, b" " * (MAX_BUNDLE_BYTES + 1))
    assert "larger than" in sig.error


def test_altered_payload_fails_the_signature(mt: Path, tmp_path: Path) -> None:
    bundle = sigstore_bundle(mt)
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    statement["predicate"]["resources"][0]["digest"] = "00" * 32
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    sig = with_signature(mt, tmp_path, json.dumps(bundle).encode())
    assert sig.signed_files == []


def test_swapped_certificate_fails(mt: Path, tmp_path: Path) -> None:
    bundle = sigstore_bundle(mt)
    other = json.loads((mt / "v1.0.0-sigstore" / "model.sig").read_text())
    bundle["verificationMaterial"]["certificate"] = other["verificationMaterial"]["certificate"]
    with_signature(mt, tmp_path, json.dumps(bundle).encode())


def test_wrong_types_inside_the_bundle(mt: Path, tmp_path: Path) -> None:
    bundle = sigstore_bundle(mt)
    bundle["dsseEnvelope"]["signatures"] = "not a list"
    with_signature(mt, tmp_path, json.dumps(bundle).encode())


def test_oms_spec_invalid_vectors_are_rejected(signing: Path, certs: Path) -> None:
    for vector in sorted((signing / VECTORS).glob("invalid*/*.json")):
        for options in (
            SignatureOptions(),
            SignatureOptions(key=certs / "signing-key-pub.pem"),
            SignatureOptions(certificate_chain=(certs / "ca-cert.pem",)),
        ):
            result = verify_bundle_file(vector, options)
            assert result.manifest is None, vector
            assert result.error, vector


@pytest.mark.parametrize(
    ("vector", "options"),
    [
        ("sigstore.bundle.json", {}),
        ("key.bundle.json", {"key": "signing-key-pub.pem"}),
        ("certificate.bundle.json", {"certificate_chain": ("ca-cert.pem",)}),
    ],
)
def test_oms_spec_valid_vectors_verify_and_list_their_files(
    signing: Path, certs: Path, vector: str, options: dict[str, Any]
) -> None:
    resolved: dict[str, Any] = {
        k: (tuple(certs / c for c in v) if isinstance(v, tuple) else certs / v)
        for k, v in options.items()
    }
    result = verify_bundle_file(signing / VECTORS / "valid" / vector, SignatureOptions(**resolved))
    assert result.error is None
    assert result.manifest is not None
    assert result.manifest.files() == ["signme-1", "signme-2"]


def test_missing_explicit_signature_is_an_option_error(mt: Path, tmp_path: Path) -> None:
    facts = facts_for(mt / "v1.1.0-sigstore", signature=tmp_path / "absent.sig")
    status = facts.collection.collectors["signature"]
    assert status.status == "error"
    assert "no such signature file" in (status.reason or "")


@pytest.mark.parametrize(
    "options",
    [
        {"key": "KEY", "certificate_chain": ("KEY",)},
        {"key": "KEY", "identity": "a@b"},
        {"certificate_chain": ("KEY",), "issuer": "https://x"},
        {"trust_root": "KEY"},
        {"key": "NOPE"},
    ],
)
def test_bad_options_fail_the_collector(mt: Path, certs: Path, options: dict[str, Any]) -> None:
    files = {"KEY": certs / "signing-key-pub.pem", "NOPE": certs / "absent.pem"}
    resolved: dict[str, Any] = {
        k: (tuple(files[x] for x in v) if isinstance(v, tuple) else files.get(v, v))
        for k, v in options.items()
    }
    facts = facts_for(mt / "v1.1.0-sigstore", **resolved)
    assert facts.collection.collectors["signature"].status == "error"
    assert facts.signature is None
    with pytest.raises(SignatureConfigError):
        verify_bundle_file(mt / "v1.1.0-sigstore" / "model.sig", SignatureOptions(**resolved))
