"""sigstore-python's own bundles (not model signatures), each against the right trust root."""

from __future__ import annotations

from pathlib import Path

import pytest
from sigstore.verify import policy

from modelward.engine.collectors import SignatureOptions
from modelward.engine.signatures import SignatureConfigError
from modelward.engine.signatures.generic import verify_sigstore_bundle
from modelward.engine.signatures.payload import parse_payload
from modelward.engine.signatures.verify import verify_bundle_file

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
RFC8785 = "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2"
BEACON = (
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
    ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
)


@pytest.fixture(scope="module")
def prod(signing: Path) -> Path:
    return signing / "sigstore-python" / "production"


@pytest.fixture(scope="module")
def staging(signing: Path) -> Path:
    return signing / "sigstore-python" / "staging"


@pytest.mark.parametrize("root", [None, "production.trusted_root.json"])
def test_github_release_bundle_verifies_with_its_claims(
    prod: Path, trust: Path, root: str | None
) -> None:
    check = verify_sigstore_bundle(
        prod / "bundle_v3_github.whl.sigstore",
        artifact=prod / "bundle_v3_github.whl",
        trust_root=trust / root if root else None,
        identity=RFC8785,
        issuer=GITHUB_ISSUER,
        policies=[
            policy.GitHubWorkflowRepository("trailofbits/rfc8785.py"),
            policy.GitHubWorkflowRef("refs/tags/v0.1.2"),
            policy.GitHubWorkflowSHA("d8b4a6445f38c48b9137a8099706d9b8073146e4"),
            policy.GitHubWorkflowTrigger("release"),
        ],
    )
    assert check.verified, check.error
    assert (check.signer.identity, check.signer.issuer) == (RFC8785, GITHUB_ISSUER)


def test_github_release_bundle_rejects_another_repository(prod: Path) -> None:
    check = verify_sigstore_bundle(
        prod / "bundle_v3_github.whl.sigstore",
        artifact=prod / "bundle_v3_github.whl",
        policies=[policy.GitHubWorkflowRepository("someone/else")],
    )
    assert not check.verified
    assert "GitHubWorkflowRepository" in (check.error or "")


def test_github_release_bundle_rejects_other_content(prod: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.whl"
    other.write_bytes(prod.joinpath("bundle_v3_github.whl").read_bytes() + b"\0")
    check = verify_sigstore_bundle(prod / "bundle_v3_github.whl.sigstore", artifact=other)
    assert not check.verified
    assert check.signer.identity == RFC8785  # who claims to have signed, shown for diagnosis


def test_bundle_without_signed_time_is_rejected(prod: Path) -> None:
    check = verify_sigstore_bundle(
        prod / "bundle_v3_no_signed_time.txt.sigstore.json",
        artifact=prod / "bundle_v3_no_signed_time.txt",
    )
    assert not check.verified
    assert "inclusion promise or signed timestamp" in (check.error or "")
    assert check.signer.identity == "william@yossarian.net"


def test_v0_1_bundle_without_checkpoint_is_rejected_at_parse(prod: Path) -> None:
    check = verify_sigstore_bundle(prod / "Python-3.12.5.tgz.sigstore", artifact=None)
    assert not check.verified
    assert "InvalidBundle" in (check.error or "")
    assert check.signer.identity == "thomas@python.org"


STAGING = [
    ("bundle_v3.txt.sigstore", "bundle_v3.txt", "william@yossarian.net",
     "https://github.com/login/oauth"),
    ("staging-rekor-v2.txt.sigstore.json", "staging-rekor-v2.txt", "jku@goto.fi",
     "https://github.com/login/oauth"),
    ("a.dsse.staging-rekor-v2.txt.sigstore.json", None, BEACON, GITHUB_ISSUER),
]  # fmt: skip


@pytest.mark.parametrize(("bundle", "artifact", "identity", "issuer"), STAGING)
def test_staging_bundles_verify_against_the_staging_root(
    staging: Path, trust: Path, bundle: str, artifact: str | None, identity: str, issuer: str
) -> None:
    check = verify_sigstore_bundle(
        staging / bundle,
        artifact=staging / artifact if artifact else None,
        trust_root=trust / "staging.trusted_root.json",
        identity=identity,
        issuer=issuer,
    )
    assert check.verified, check.error


@pytest.mark.parametrize(("bundle", "artifact", "identity", "issuer"), STAGING)
@pytest.mark.parametrize("root", [None, "production.trusted_root.json"])
def test_production_root_rejects_staging_bundles(
    staging: Path,
    trust: Path,
    bundle: str,
    artifact: str | None,
    identity: str,
    issuer: str,
    root: str | None,
) -> None:
    check = verify_sigstore_bundle(
        staging / bundle,
        artifact=staging / artifact if artifact else None,
        trust_root=trust / root if root else None,
    )
    assert not check.verified
    assert check.signer.identity == identity


def test_dsse_slsa_bundle_is_verified_but_is_not_a_model_signature(
    staging: Path, trust: Path
) -> None:
    bundle = staging / "a.dsse.staging-rekor-v2.txt.sigstore.json"
    check = verify_sigstore_bundle(bundle, trust_root=trust / "staging.trusted_root.json")
    assert check.verified
    assert check.payload_type == "application/vnd.in-toto+json"
    with pytest.raises(ValueError, match="not a model signature"):
        parse_payload(check.payload_type, check.payload or b"")
    # The model-signature path verifies the same cryptography, then refuses the statement.
    result = verify_bundle_file(
        bundle, SignatureOptions(trust_root=trust / "staging.trusted_root.json")
    )
    assert result.manifest is None
    assert result.signer.identity == BEACON
    assert "not a model signature" in (result.error or "")
    production = verify_bundle_file(bundle, SignatureOptions())
    assert production.manifest is None
    assert production.error


def test_message_signature_bundle_is_not_a_model_signature(prod: Path) -> None:
    result = verify_bundle_file(prod / "bundle_v3_github.whl.sigstore", SignatureOptions())
    assert result.manifest is None
    assert "DSSE" in (result.error or "")


def test_a_trust_root_must_be_a_trust_root(tmp_path: Path, prod: Path, signing: Path) -> None:
    for content in ("not json", '{"mediaType": "application/vnd.example+json"}', "[]"):
        bad = tmp_path / "root.json"
        bad.write_text(content)
        with pytest.raises(SignatureConfigError):
            verify_sigstore_bundle(prod / "bundle_v3_github.whl.sigstore", trust_root=bad)
    with pytest.raises(SignatureConfigError):
        verify_sigstore_bundle(
            prod / "bundle_v3_github.whl.sigstore", trust_root=tmp_path / "absent.json"
        )
