"""Admission and the verdict lifecycle: expiry warnings, approval scopes, revocations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from modelward.admission.config import WebhookConfig
from modelward.admission.review.core import review
from modelward.engine.verdicts.freshness import format_time
from modelward.engine.verdicts.keys import load_private_key
from modelward.engine.verdicts.revocation import revocation_verdict
from modelward.engine.verdicts.scope import parse_scope
from modelward.engine.verdicts.signed import SignedVerdict, VerdictSigner
from tests.admission.core_helpers import (
    REFERENCE,
    Recorder,
    builtin_bundle,
    container,
    deployment,
    make_env,
    review_of,
    signed_verdict,
    vetting_keys,
)

LABELS = {
    "team-a": {"team": "a", "modelward.dev/environment": "prod"},
    "team-b": {"team": "b", "stage": "dev"},
}


def _signer() -> VerdictSigner:
    return VerdictSigner(load_private_key(vetting_keys()[0]))


def _with(
    expires_in: timedelta = timedelta(days=60), scope: list[str] | None = None
) -> SignedVerdict:
    base = signed_verdict().unverified_verdict()
    assert base is not None
    created = datetime.now(UTC)
    verdict = base.model_copy(
        update={
            "created_at": format_time(created),
            "expires_at": format_time(created + expires_in),
            "scope": parse_scope(scope or []),
        }
    )
    return _signer().sign(verdict)


def _review(
    signed: SignedVerdict, namespace: str, config: WebhookConfig | None = None
) -> tuple[bool, list[str], str, dict[str, Any]]:
    recorder = Recorder()
    env = make_env({REFERENCE: signed}, labels=LABELS, evaluate=recorder, config=config)
    result = review(
        review_of(deployment(container("vllm", model=REFERENCE)), namespace=namespace), env
    )
    answer = result.response["response"]
    message = answer.get("status", {}).get("message", "")
    return result.allowed, answer.get("warnings") or [], message, recorder.inputs[-1]


def test_the_lifecycle_is_visible_to_policies() -> None:
    allowed, warnings, _, policy_input = _review(_with(scope=["namespace=team-a"]), "team-a")
    assert allowed and not warnings
    verdict = policy_input["admission"]["verdict"]
    assert 59.9 < verdict["expires_in_days"] <= 60 and verdict["expires_at"].endswith("Z")
    assert verdict["expiry_warning_days"] == 14 and verdict["revoked"] is None
    assert verdict["scope"]["namespaces"] == ["team-a"] and verdict["in_scope"] is True
    assert policy_input["context"]["environment"] == "prod"


def test_a_verdict_expiring_soon_admits_with_a_warning() -> None:
    allowed, warnings, _, _ = _review(_with(timedelta(days=3)), "team-a")
    assert allowed and any("verdict-expiring" in w and "expires in 3.0 days" in w for w in warnings)


def test_the_warning_period_is_configurable() -> None:
    config = WebhookConfig(verdict_expiry_warning_days=2)
    allowed, warnings, _, _ = _review(_with(timedelta(days=3)), "team-a", config)
    assert allowed and not warnings


def test_a_workload_outside_the_scope_is_denied() -> None:
    signed = _with(scope=["namespace-selector=team=a", "use=chat-support"])
    assert _review(signed, "team-a")[0]
    allowed, _, message, policy_input = _review(signed, "team-b")
    assert not allowed and "verdict-out-of-scope" in message
    assert policy_input["admission"]["verdict"]["in_scope"] is False


def test_the_environment_comes_from_the_configured_label() -> None:
    signed = _with(scope=["env=dev"])
    assert not _review(signed, "team-b")[0]
    config = WebhookConfig(environment_label="stage")
    allowed, _, _, policy_input = _review(signed, "team-b", config)
    assert allowed and policy_input["context"]["environment"] == "dev"


def test_unknown_namespace_labels_are_outside_a_labelled_scope() -> None:
    allowed, _, message, _ = _review(_with(scope=["env=prod"]), "nowhere")
    assert not allowed and "environment is not known" in message


def test_a_revoked_verdict_is_denied_with_reason_and_who() -> None:
    now = datetime.now(UTC)
    previous = signed_verdict().unverified_verdict()
    revocation = revocation_verdict(
        REFERENCE,
        reason="backdoor reported",
        revoked_by="secops",
        created_at=format_time(now),
        expires_at=format_time(now + timedelta(days=3650)),
        previous=previous,
    )
    allowed, _, message, policy_input = _review(_signer().sign(revocation), "team-a")
    assert not allowed
    assert "verdict-revoked" in message and "revoked by secops: backdoor reported" in message
    assert "verdict-denied" not in message
    verdict = policy_input["admission"]["verdict"]
    assert verdict["outcome"] == "revoked" and verdict["revoked"]["reason"] == "backdoor reported"
    assert set(policy_input["model"]) == {"schema", "subject"}  # a revocation's facts are not used


def test_two_parts_decide_lifecycle_cases_as_the_whole_bundle() -> None:
    from tests.admission.test_parts import envs, seen

    now = datetime.now(UTC)
    revocation = revocation_verdict(
        REFERENCE,
        reason="backdoor",
        revoked_by="secops",
        created_at=format_time(now),
        expires_at=format_time(now + timedelta(days=3650)),
        previous=signed_verdict().unverified_verdict(),
    )
    decided: dict[tuple[str, str], Any] = {}
    cases = {
        "revoked": _signer().sign(revocation),
        "scoped": _with(timedelta(days=2), ["namespace=team-a"]),
    }
    for name, signed in cases.items():
        whole, split = envs(builtin_bundle(), {REFERENCE: signed})
        for namespace in ("team-a", "team-b"):
            obj = deployment(container("vllm", model=REFERENCE))
            document = review_of(obj, namespace=namespace)
            decided[name, namespace] = seen(whole, document)
            assert seen(split, document) == decided[name, namespace]
            assert seen(split, document) == decided[name, namespace]  # from the cache
    # no finding about a revocation's stub facts; the scope decides per namespace
    assert [m[2] for m in decided["revoked", "team-a"][3]] == [["verdict-revoked"]]
    assert [m[2] for m in decided["scoped", "team-a"][3]] == [[]]
    assert [m[2] for m in decided["scoped", "team-b"][3]] == [["verdict-out-of-scope"]]
