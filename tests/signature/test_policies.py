"""The facts the collector produces drive the built-in signature policies as they expect."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from modelward.engine.decision import Decision
from modelward.engine.facts import Facts
from modelward.engine.pipeline import policy_input
from modelward.engine.policy.bundle import PolicyBundle
from modelward.engine.policy.evaluators.embedded import EmbeddedEvaluator
from tests.signature.conftest import IDENTITY, ISSUER, copy_model, facts_for

EVALUATOR = EmbeddedEvaluator()
SHA = "0123456789abcdef0123456789abcdef01234567"
SAFETENSORS = b"\x08\x00\x00\x00\x00\x00\x00\x00{}      "
SIGNATURE_RULES = {
    "signature-required",
    "signature-invalid",
    "signature-signer-mismatch",
    "signature-incomplete-coverage",
}


def evaluate(facts: Facts, publisher: str | None = None, **config: Any) -> Decision:
    document = policy_input(facts)
    if publisher is not None:  # as if the same files came from the hub under this publisher
        document["model"]["subject"] = {
            "ref": f"hf://{publisher}/toy-model@{SHA}",
            "scheme": "hf",
            "location": f"{publisher}/toy-model",
            "revision": SHA,
            "resolved_revision": SHA,
            "pinned": True,
            "digest": document["model"]["subject"]["digest"],
        }
    bundle = PolicyBundle.builtin()
    bundle.config = {**copy.deepcopy(bundle.config), **config}
    decision = EVALUATOR.evaluate(bundle, document)
    assert decision.outcome != "error", decision.error
    return decision


def ids(findings: Any) -> set[str]:
    return {f.id for f in findings}


@pytest.fixture(scope="module")
def signed_facts(mt: Path) -> Facts:
    """The v1.1.0 sigstore fixture, verified with no expected signer: identity is a fact."""
    facts = facts_for(mt / "v1.1.0-sigstore")
    assert facts.signature is not None
    assert (facts.signature.identity, facts.signature.issuer) == (IDENTITY, ISSUER)
    return facts


IBM = {"ibm-granite": [{"identity": IDENTITY, "issuer": ISSUER}]}


def test_expected_signer_for_the_publisher_allows(signed_facts: Facts) -> None:
    decision = evaluate(signed_facts, "ibm-granite", expected_signers=IBM)
    assert decision.outcome == "allow", decision.deny
    assert not ids(decision.warn) & {"signature-signer-unpinned"}


def test_another_signer_for_the_publisher_is_denied(signed_facts: Facts) -> None:
    other = {"ibm-granite": [{"identity": "release@ibm.example", "issuer": ISSUER}]}
    decision = evaluate(signed_facts, "ibm-granite", expected_signers=other)
    assert decision.outcome == "deny"
    assert "signature-signer-mismatch" in ids(decision.deny)


def test_the_right_identity_from_another_issuer_is_denied(signed_facts: Facts) -> None:
    other = {"ibm-granite": [{"identity": IDENTITY, "issuer": "https://accounts.google.com"}]}
    decision = evaluate(signed_facts, "ibm-granite", expected_signers=other)
    assert "signature-signer-mismatch" in ids(decision.deny)


def test_a_publishers_signer_on_another_namespace_is_denied(signed_facts: Facts) -> None:
    decision = evaluate(signed_facts, "not-ibm", expected_signers=IBM)
    assert "signature-signer-mismatch" in ids(decision.deny)


def test_an_unconfigured_publisher_only_warns(signed_facts: Facts) -> None:
    decision = evaluate(signed_facts, "someone")
    assert decision.outcome == "allow", decision.deny
    assert "signature-signer-unpinned" in ids(decision.warn)


def test_local_copy_with_required_signature_is_allowed(signed_facts: Facts) -> None:
    decision = evaluate(signed_facts, require_signature=True)
    assert not ids(decision.deny) & SIGNATURE_RULES


def test_tampered_copy_is_denied_as_invalid(mt: Path, tmp_path: Path) -> None:
    path = copy_model(mt / "v1.1.0-sigstore", tmp_path / "m")
    (path / "signme-2").write_bytes(b"swapped")
    decision = evaluate(facts_for(path), "ibm-granite", expected_signers=IBM)
    assert "signature-invalid" in ids(decision.deny)
    assert "signature-signer-mismatch" not in ids(decision.deny)


def test_unsigned_extra_file_is_incomplete_coverage(mt: Path, tmp_path: Path) -> None:
    path = copy_model(mt / "v1.1.0-sigstore", tmp_path / "m")
    (path / "extra.safetensors").write_bytes(SAFETENSORS)
    decision = evaluate(facts_for(path))
    assert ids(decision.deny) & SIGNATURE_RULES == {"signature-incomplete-coverage"}


def test_signer_ignored_weights_are_incomplete_coverage(mt: Path, tmp_path: Path) -> None:
    path = copy_model(mt / "v1.1.0-sigstore", tmp_path / "m")
    (path / "ignore-me").write_bytes(SAFETENSORS)
    decision = evaluate(facts_for(path))
    assert ids(decision.deny) & SIGNATURE_RULES == {"signature-incomplete-coverage"}
    assert any("ignores weight files" in f.msg for f in decision.deny)


def test_unsigned_model_is_denied_only_when_required(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(SAFETENSORS)
    facts = facts_for(tmp_path)
    assert not ids(evaluate(facts).deny) & SIGNATURE_RULES
    assert "signature-required" in ids(evaluate(facts, require_signature=True).deny)
