"""Every model-transparency fixture verifies, or is rejected, as its README says (offline)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.signature.conftest import IDENTITY, ISSUER, facts_for
from tests.signature.keys import ca, ec_key_pair

SIGSTORE = ["v1.1.0-sigstore", "v1.0.0-sigstore", "v0.3.1-sigstore"]
#: The leaf of the upstream certificate fixtures (its subject CN; it has no SAN).
CERT_IDENTITY = "intermediate-ca"
CERT_FINGERPRINT = "sha256:da3662b630eb0f585c33f114a076b8da2ceda0f275cb578e6d1d9cab84c04d3b"


def assert_full(sig: Any, method: str) -> None:
    assert sig.present is True
    assert sig.verified is True, sig.error
    assert sig.error is None
    assert sig.method == method
    assert sig.covers_all_files is True
    assert sig.files_present is True
    assert sig.signed_files == ["signme-1", "signme-2"]
    assert sig.unsigned_files == []
    assert sig.missing_files == []
    assert sig.ignored_weights == []


@pytest.mark.parametrize("name", SIGSTORE)
@pytest.mark.parametrize("trust_root", [None, "production.trusted_root.json",
                                        "production.client_trust_config.json"])  # fmt: skip
def test_sigstore_fixtures_verify_and_name_their_signer(
    mt: Path, trust: Path, name: str, trust_root: str | None
) -> None:
    root = trust / trust_root if trust_root else None
    sig = facts_for(mt / name, trust_root=root).signature
    assert sig is not None
    assert_full(sig, "sigstore")
    assert (sig.identity, sig.issuer) == (IDENTITY, ISSUER)
    assert sig.certificate_fingerprint is not None
    assert sig.certificate_fingerprint.startswith("sha256:")


@pytest.mark.parametrize("name", SIGSTORE)
def test_sigstore_fixtures_verify_with_the_expected_signer_enforced(mt: Path, name: str) -> None:
    sig = facts_for(mt / name, identity=IDENTITY, issuer=ISSUER).signature
    assert sig is not None
    assert_full(sig, "sigstore")


def test_v1_1_records_ignore_paths_and_they_are_reported(mt: Path) -> None:
    sig = facts_for(mt / "v1.1.0-sigstore").signature
    assert sig is not None
    # ignore-me exists and the signer left it out; model.sig is the signature itself.
    assert sig.ignored_paths == ["ignore-me"]


@pytest.mark.parametrize("name", ["v1.0.0-sigstore", "v0.3.1-sigstore", "v0.2.0-certificate"])
def test_pre_1_1_bundles_record_no_ignore_list(mt: Path, certs: Path, name: str) -> None:
    options: dict[str, Any] = {}
    if "certificate" in name:
        options["certificate_chain"] = (certs / "ca-cert.pem",)
    sig = facts_for(mt / name, **options).signature
    assert sig is not None
    assert sig.verified is True
    assert sig.ignored_paths == []
    assert "model.sig" not in sig.unsigned_files


def test_elliptic_key_fixture_verifies(mt: Path, certs: Path) -> None:
    sig = facts_for(mt / "v1.1.0-elliptic-key", key=certs / "signing-key-pub.pem").signature
    assert sig is not None
    assert_full(sig, "key")
    assert sig.ignored_paths == ["ignore-me"]
    assert (sig.identity, sig.issuer, sig.certificate_fingerprint) == (None, None, None)


@pytest.mark.parametrize("name", ["v1.1.0-certificate", "v0.2.0-certificate"])
def test_certificate_fixtures_verify_and_report_the_leaf(mt: Path, certs: Path, name: str) -> None:
    sig = facts_for(mt / name, certificate_chain=(certs / "ca-cert.pem",)).signature
    assert sig is not None
    assert_full(sig, "certificate")
    assert sig.identity == CERT_IDENTITY
    assert sig.issuer == "CN=intermediate-ca"
    assert sig.certificate_fingerprint == CERT_FINGERPRINT


# -- rejections ---------------------------------------------------------------------------------


def rejected(sig: Any, *needles: str) -> None:
    assert sig is not None
    assert sig.present is True
    assert sig.verified is False
    assert sig.covers_all_files is False
    assert sig.error
    for needle in needles:
        assert needle in sig.error, sig.error


@pytest.mark.parametrize(
    ("identity", "issuer", "needle"),
    [
        ("someone@example.com", ISSUER, "SANs do not match"),
        (IDENTITY, "https://accounts.google.com", "issuer"),
        (None, "https://github.com/login/oauth", "issuer"),
    ],
)
def test_wrong_expected_signer_is_rejected(
    mt: Path, identity: str | None, issuer: str, needle: str
) -> None:
    sig = facts_for(mt / "v1.1.0-sigstore", identity=identity, issuer=issuer).signature
    rejected(sig, needle)
    assert sig is not None
    # The claimed signer is still shown, so a mismatch can be diagnosed.
    assert sig.identity == IDENTITY
    assert sig.signed_files == []


@pytest.mark.parametrize("name", SIGSTORE)
def test_staging_root_rejects_production_signatures(mt: Path, trust: Path, name: str) -> None:
    sig = facts_for(mt / name, trust_root=trust / "staging.trusted_root.json").signature
    rejected(sig)


def test_wrong_key_is_rejected(mt: Path, tmp_path: Path) -> None:
    _, public = ec_key_pair(tmp_path)
    sig = facts_for(mt / "v1.1.0-elliptic-key", key=public).signature
    rejected(sig, "Key mismatch")


def test_unrelated_ca_is_rejected(mt: Path, tmp_path: Path) -> None:
    _, other_ca = ca(tmp_path)
    sig = facts_for(mt / "v1.1.0-certificate", certificate_chain=(other_ca,)).signature
    rejected(sig, "certificate chain")


@pytest.mark.parametrize(
    ("name", "options", "hint"),
    [
        ("v1.1.0-elliptic-key", {}, "--key"),
        ("v1.1.0-certificate", {}, "--certificate-chain"),
        ("v1.1.0-sigstore", {"key": "PUB"}, "without --key"),
        ("v1.1.0-certificate", {"key": "PUB"}, "--certificate-chain"),
        ("v1.1.0-elliptic-key", {"certificate_chain": ("CA",)}, "--key"),
    ],
)
def test_method_mismatch_says_how_to_verify(
    mt: Path, certs: Path, name: str, options: dict[str, Any], hint: str
) -> None:
    materials = {"PUB": certs / "signing-key-pub.pem", "CA": certs / "ca-cert.pem"}
    resolved = {
        k: (tuple(materials[x] for x in v) if isinstance(v, tuple) else materials[v])
        for k, v in options.items()
    }
    sig = facts_for(mt / name, **resolved).signature
    rejected(sig, hint)


def test_no_signature_is_a_fact_not_a_skip(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    facts = facts_for(tmp_path)
    assert facts.collection.collectors["signature"].status == "ok"
    assert facts.signature is not None
    assert facts.signature.present is False
    assert facts.signature.verified is False
