"""Documented configuration changes change decisions the way policies/config.yaml says."""

from __future__ import annotations

import copy
import json
import re
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from modelward.engine.decision import Decision
from modelward.engine.policy.bundle import PolicyBundle
from modelward.engine.policy.evaluators.embedded import EmbeddedEvaluator

POLICIES = Path(str(files("modelward.policies")))
EVALUATOR = EmbeddedEvaluator()
FAR_FUTURE = "2199-12-31"
PAST = "2020-01-01"


def sample(rel: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((POLICIES / rel).read_text())
    return document


LOCAL_WITH_CARD = sample("license/allowed/samples/allowed/apache_card.json")
MALICIOUS = sample("scan/findings/samples/denied/os_system_in_pickle.json")
HUB_MODEL = sample("publisher/trusted/samples/allowed/hub_publisher_default_config.json")
UNSIGNED = sample("signature/required/samples/allowed/unsigned_local_model.json")
VERIFIED = sample("signature/required/samples/allowed/verified_signature.json")
SIGNED_HUB = sample("signature/signer/samples/denied/signer_not_configured.json")
BASE_MODEL = sample("bom/base_model/samples/allowed/card_and_bom_agree.json")
NON_COMMERCIAL = sample("license/allowed/samples/denied/non_commercial_licence.json")
UNPINNED = sample("reference/unpinned/samples/denied/hf_branch.json")
NO_CARD = sample("card/required/samples/denied/no_card_found.json")
NO_BOM = sample("bom/required/samples/allowed/no_bom.json")


def evaluate(policy_input: dict[str, Any], **config: Any) -> Decision:
    bundle = PolicyBundle.builtin()
    bundle.config = {**copy.deepcopy(bundle.config), **config}
    decision = EVALUATOR.evaluate(bundle, policy_input)
    assert decision.outcome != "error", decision.error
    return decision


def deny_ids(decision: Decision) -> set[str]:
    return {f.id for f in decision.deny}


def warn_ids(decision: Decision) -> set[str]:
    return {f.id for f in decision.warn}


def exemption(**fields: Any) -> dict[str, Any]:
    base = {
        "rule": "unpinned-reference",
        "owner": "ml-platform@acme-ai.example",
        "reason": "tracks the main branch on purpose",
        "expires": FAR_FUTURE,
    }
    return {**base, **fields}


# -- defaults ---------------------------------------------------------------------------------


def test_every_config_key_is_documented() -> None:
    lines = (POLICIES / "config.yaml").read_text().splitlines()
    keys = [i for i, line in enumerate(lines) if re.match(r"^[a-z_]+:", line)]
    assert keys
    for i in keys:
        assert lines[i - 1].startswith("#"), f"{lines[i]!r} has no comment above it"


def test_default_config_allows_a_local_safetensors_model_with_a_card() -> None:
    decision = evaluate(LOCAL_WITH_CARD)
    assert decision.outcome == "allow", [f.msg for f in decision.deny]


def test_default_config_denies_a_malicious_model() -> None:
    decision = evaluate(MALICIOUS)
    assert decision.outcome == "deny"
    assert "scan-finding" in deny_ids(decision)


# -- allowed_imports --------------------------------------------------------------------------


def unreviewed_import(symbol: str, finding_id: str = "pickle.call.unreviewed") -> dict[str, Any]:
    """MALICIOUS with its one finding replaced by a call of an unreviewed class."""
    facts = copy.deepcopy(MALICIOUS)
    finding = facts["model"]["scan"]["findings"][0]
    finding.update(id=finding_id, severity="high", symbol=symbol,
                   message=f"pytorch_model.bin: NEWOBJ instantiates {symbol}")  # fmt: skip
    return facts


ACCEPT_ACME = {"pattern": "acme.models.*", "owner": "ml@acme.example", "reason": "reviewed"}


def test_allowed_imports_default_accepts_nothing() -> None:
    decision = evaluate(unreviewed_import("acme.models.Net"))
    assert "scan-finding" in deny_ids(decision)


def test_allowed_imports_accepts_a_reviewed_class_and_says_so() -> None:
    decision = evaluate(unreviewed_import("acme.models.Net"), allowed_imports=[ACCEPT_ACME])
    assert decision.outcome == "allow", [f.msg for f in decision.deny]
    applied = [f for f in decision.warn if f.id == "allowed-import-applied"]
    assert applied and "ml@acme.example" in applied[0].msg


def test_allowed_imports_never_accepts_a_denied_import_or_another_module() -> None:
    wide = {**ACCEPT_ACME, "pattern": "**"}
    assert "scan-finding" in deny_ids(evaluate(MALICIOUS, allowed_imports=[wide]))
    other = evaluate(unreviewed_import("other.models.Net"), allowed_imports=[ACCEPT_ACME])
    assert "scan-finding" in deny_ids(other)


def test_allowed_imports_entry_without_owner_is_denied_and_not_applied() -> None:
    broken = {k: v for k, v in ACCEPT_ACME.items() if k != "owner"}
    decision = evaluate(unreviewed_import("acme.models.Net"), allowed_imports=[broken])
    assert {"scan-finding", "allowed-import-invalid"} <= deny_ids(decision)


# -- trusted_publishers -----------------------------------------------------------------------


def test_trusted_publishers_empty_allows_any_publisher() -> None:
    assert evaluate(HUB_MODEL).outcome == "allow"


def test_trusted_publishers_restricts_publishers() -> None:
    untrusted = evaluate(HUB_MODEL, trusted_publishers=["other-org"])
    assert deny_ids(untrusted) == {"publisher-untrusted"}
    assert evaluate(HUB_MODEL, trusted_publishers=["other-org", "ACME-AI"]).outcome == "allow"


def test_trusted_publishers_does_not_judge_local_models() -> None:
    assert evaluate(LOCAL_WITH_CARD, trusted_publishers=["other-org"]).outcome == "allow"


# -- require_pinned ---------------------------------------------------------------------------


def test_require_pinned_default_and_off() -> None:
    assert deny_ids(evaluate(UNPINNED)) == {"unpinned-reference"}
    assert evaluate(UNPINNED, require_pinned=False).outcome == "allow"


# -- allowed_licenses -------------------------------------------------------------------------


def test_allowed_licenses_default_is_permissive_only() -> None:
    assert evaluate(LOCAL_WITH_CARD).outcome == "allow"
    assert deny_ids(evaluate(NON_COMMERCIAL)) == {"license-not-allowed"}


def test_allowed_licenses_changes_the_decision() -> None:
    assert deny_ids(evaluate(LOCAL_WITH_CARD, allowed_licenses=["mit"])) == {"license-not-allowed"}
    assert evaluate(NON_COMMERCIAL, allowed_licenses=["CC-BY-NC-4.0"]).outcome == "allow"
    assert evaluate(NON_COMMERCIAL, allowed_licenses=[]).outcome == "allow"


# -- require_signature, require_signature_for -------------------------------------------------


def test_require_signature() -> None:
    assert evaluate(UNSIGNED).outcome == "allow"
    assert deny_ids(evaluate(UNSIGNED, require_signature=True)) == {"signature-required"}
    assert evaluate(VERIFIED, require_signature=True).outcome == "allow"


def test_require_signature_for_a_publisher() -> None:
    unsigned_hub = copy.deepcopy(HUB_MODEL)
    assert deny_ids(evaluate(unsigned_hub, require_signature_for=["acme-ai"])) == {
        "signature-required"
    }
    assert evaluate(unsigned_hub, require_signature_for=["other-org"]).outcome == "allow"


# -- expected_signers -------------------------------------------------------------------------


def test_expected_signers() -> None:
    signature = SIGNED_HUB["model"]["signature"]
    right = {"identity": signature["identity"], "issuer": signature["issuer"]}
    wrong = {"identity": "someone@elsewhere.example", "issuer": signature["issuer"]}

    default = evaluate(SIGNED_HUB)
    assert default.outcome == "allow"
    assert "signature-signer-unpinned" in warn_ids(default)

    pinned = evaluate(SIGNED_HUB, expected_signers={"acme-ai": [right]})
    assert pinned.outcome == "allow"
    assert "signature-signer-unpinned" not in warn_ids(pinned)

    mismatch = evaluate(SIGNED_HUB, expected_signers={"acme-ai": [wrong]})
    assert deny_ids(mismatch) == {"signature-signer-mismatch"}

    borrowed = evaluate(SIGNED_HUB, expected_signers={"other-org": [right]})
    assert deny_ids(borrowed) == {"signature-signer-mismatch"}


# -- allowed_base_models ----------------------------------------------------------------------


def test_allowed_base_models() -> None:
    assert evaluate(BASE_MODEL).outcome == "allow"
    assert evaluate(BASE_MODEL, allowed_base_models=["acme-ai/*"]).outcome == "allow"
    assert deny_ids(evaluate(BASE_MODEL, allowed_base_models=["meta-llama/*"])) == {
        "base-model-not-allowed"
    }


# -- require_bom, require_model_card ----------------------------------------------------------


def test_require_bom() -> None:
    assert evaluate(NO_BOM).outcome == "allow"
    assert deny_ids(evaluate(NO_BOM, require_bom=True)) == {"bom-required"}


def test_require_model_card() -> None:
    assert evaluate(NO_CARD).outcome == "allow"
    assert "model-card-missing" in warn_ids(evaluate(NO_CARD))
    assert deny_ids(evaluate(NO_CARD, require_model_card=True)) == {"model-card-required"}


# -- exemptions -------------------------------------------------------------------------------


def test_exemption_turns_a_deny_into_a_warn() -> None:
    decision = evaluate(UNPINNED, exemptions=[exemption(subject="hf://acme-ai/*")])
    assert decision.outcome == "allow"
    (exempted,) = [f for f in decision.warn if f.id == "unpinned-reference"]
    assert exempted.msg.startswith("exempted: ")
    assert exempted.model_extra == {
        "exemption": {
            "owner": "ml-platform@acme-ai.example",
            "reason": "tracks the main branch on purpose",
            "expires": FAR_FUTURE,
        }
    }


def test_exemption_by_digest() -> None:
    digest = UNPINNED["model"]["subject"]["digest"]
    assert evaluate(UNPINNED, exemptions=[exemption(digest=digest)]).outcome == "allow"
    other = "sha256:" + "0" * 64
    assert evaluate(UNPINNED, exemptions=[exemption(digest=other)]).outcome == "deny"


def test_exemption_for_another_subject_does_not_apply() -> None:
    decision = evaluate(UNPINNED, exemptions=[exemption(subject="hf://other-org/*")])
    assert deny_ids(decision) == {"unpinned-reference"}
    assert not decision.warn


def test_expired_exemption_no_longer_applies_and_is_reported() -> None:
    decision = evaluate(UNPINNED, exemptions=[exemption(expires=PAST)])
    assert deny_ids(decision) == {"unpinned-reference"}
    (expired,) = [f for f in decision.warn if f.id == "exemption-expired"]
    assert expired.policy == "main"
    assert PAST in expired.msg


@pytest.mark.parametrize("missing", ["owner", "reason", "expires"])
def test_exemption_without_required_field_is_denied_and_not_applied(missing: str) -> None:
    bad = exemption()
    del bad[missing]
    decision = evaluate(UNPINNED, exemptions=[bad])
    assert deny_ids(decision) == {"unpinned-reference", "exemption-invalid"}
