"""The admission core on real policies and real signed verdicts: input, verdicts, fail-closed."""

from __future__ import annotations

import json
import re

import pytest

from modelward.admission.review.core import AdmissionEnv, review
from modelward.engine.decision import Decision, PolicyFinding
from modelward.engine.verdicts.registry import RegistryUnavailable
from modelward.engine.verdicts.signed import SignedVerdict
from tests.admission.core_helpers import (
    REFERENCE,
    REVISION,
    DictRegistry,
    Recorder,
    bundle_with,
    container,
    deployment,
    make_env,
    other_keys,
    pod,
    real_facts,
    review_of,
    signed_verdict,
)

UNVETTED = f"hf://acme/unvetted@{REVISION}"


def status_message(result: object) -> str:
    return str(result.response["response"]["status"]["message"])  # type: ignore[attr-defined]


def denied_ids(result: object) -> set[str]:
    return {i for m in result.audit["models"] for i in m["deny"]}  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def vetted() -> SignedVerdict:
    return signed_verdict()


def test_a_workload_without_models_is_allowed_without_evaluation() -> None:
    recorder = Recorder()
    result = review(review_of(pod()), make_env(evaluate=recorder))
    assert result.response == {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "response": {"uid": "705ab4f5-6393-11e8-b7cc-42010a800002", "allowed": True},
    }
    assert recorder.inputs == [] and result.audit["models"] == []


def test_trusted_allow_verdict_admits_and_its_facts_are_the_model(vetted: SignedVerdict) -> None:
    recorder = Recorder()
    env = make_env({REFERENCE: vetted}, labels={"ml": {"team": "search"}}, evaluate=recorder)
    obj = deployment(container("vllm", model=REFERENCE))
    result = review(review_of(obj, dryRun=True), env)
    assert result.allowed, result.response
    [policy_input] = recorder.inputs
    assert policy_input["model"] == real_facts()
    assert policy_input["context"] == {
        "source": "admission",
        "operation": "CREATE",
        "dry_run": True,
        "namespace": "ml",
        "namespace_labels": {"team": "search"},
        "environment": None,
        "workload": {"kind": "Deployment", "name": "llm", "api_version": "apps/v1"},
        "container": "vllm",
        "user": {"username": "alice@example.com", "groups": ["ml-engineers"]},
        "mode": "enforce",
    }
    assert policy_input["admission"]["reference"] == {
        "raw": REFERENCE,
        "reference": REFERENCE,
        "origin": "spec.template.spec.containers[0].args[1]",
        "source": "vllm",
        "pinned": True,
        "unresolvable": None,
        "trust_remote_code": False,
    }
    verdict = policy_input["admission"]["verdict"]
    assert verdict["present"] and verdict["trusted"] and verdict["outcome"] == "allow"
    assert verdict["deny"] == [] and verdict["digest"] == vetted.digest
    assert verdict["key_id"] == vetted.key_id and verdict["created_at"] == vetted.created_at


def test_unvetted_model_is_denied_naming_workload_container_model_and_policy() -> None:
    recorder = Recorder()
    result = review(review_of(pod(container("vllm", model=UNVETTED))), make_env(evaluate=recorder))
    assert not result.allowed
    status = result.response["response"]["status"]
    assert status["code"] == 403 and status["reason"] == "Forbidden"
    assert status["message"].startswith(
        f"Pod ml/server is denied: container vllm, model {UNVETTED}"
    )
    assert "model-unvetted" in status["message"]
    stub = recorder.inputs[0]["model"]
    assert stub == {
        "schema": "modelward.dev/facts/v1",
        "subject": {"ref": UNVETTED, "scheme": "hf", "location": "acme/unvetted",
                    "repo": "acme/unvetted", "revision": REVISION, "pinned": True,
                    "digest": None},
    }  # fmt: skip
    assert recorder.inputs[0]["admission"]["verdict"]["present"] is False


def test_forged_verdict_is_untrusted_and_its_facts_are_not_used() -> None:
    forged = signed_verdict(private_pem=other_keys()[0])
    recorder = Recorder()
    env = make_env({REFERENCE: forged}, evaluate=recorder)
    result = review(review_of(pod(container("vllm", model=REFERENCE))), env)
    assert not result.allowed
    assert denied_ids(result) == {"verdict-untrusted"}
    reason = result.audit["models"][0]["verdict"]["reason"]
    assert reason and reason in status_message(result)
    assert result.audit["models"][0]["verdict"]["trusted"] is False
    assert recorder.inputs[0]["model"]["subject"]["digest"] is None  # the stub, not the facts


def test_verdict_replayed_for_another_reference_is_untrusted(vetted: SignedVerdict) -> None:
    env = make_env({UNVETTED: vetted})  # a real verdict, stored under the wrong reference
    result = review(review_of(pod(container("vllm", model=UNVETTED))), env)
    assert denied_ids(result) == {"verdict-untrusted"}


def test_trusted_deny_verdict_is_denied_with_its_deny_ids() -> None:
    finding = PolicyFinding(id="scan-finding", msg="os.system in model.pkl", severity="critical")
    decision = Decision(outcome="deny", deny=[finding], engine="embedded", bundle_revision="x")
    env = make_env({REFERENCE: signed_verdict(decision=decision)})
    result = review(review_of(pod(container("vllm", model=REFERENCE))), env)
    assert denied_ids(result) == {"verdict-denied"}
    assert "vetted with outcome deny (deny: scan-finding)" in status_message(result)


def test_model_facts_policies_judge_a_trusted_verdict() -> None:
    facts = real_facts()
    facts["card"] = {"present": False}
    env = make_env(
        {REFERENCE: signed_verdict(facts=facts)},
        evaluate=Recorder(bundle_with(require_model_card=True)),
    )
    result = review(review_of(pod(container("vllm", model=REFERENCE))), env)
    assert "model-card-required" in denied_ids(result)


def test_registry_unavailable_fails_closed_with_the_reason() -> None:
    def lookup(reference: str) -> SignedVerdict | None:
        raise RegistryUnavailable("verdict cache not synced yet")

    recorder = Recorder()
    env = make_env(lookup=lookup, evaluate=recorder)
    result = review(review_of(pod(container("vllm", model=REFERENCE))), env)
    assert not result.allowed and recorder.inputs == []
    assert denied_ids(result) == {"registry-unavailable"}
    assert "verdict cache not synced yet" in status_message(result)


def test_evaluation_error_denies() -> None:
    def evaluate(policy_input: dict[str, object]) -> Decision:
        return Decision.failed("OPA request failed: connection refused", engine="opa",
                               bundle_revision="x")  # fmt: skip

    result = review(review_of(pod(container("vllm", model=UNVETTED))), make_env(evaluate=evaluate))
    assert not result.allowed and denied_ids(result) == {"evaluation-error"}
    assert "connection refused" in status_message(result)


def test_an_unexpected_exception_is_a_deny_not_a_crash() -> None:
    def evaluate(policy_input: dict[str, object]) -> Decision:
        raise ZeroDivisionError("boom")

    result = review(review_of(pod(container("vllm", model=UNVETTED))), make_env(evaluate=evaluate))
    assert not result.allowed and result.audit["problems"] == ["internal-error"]
    assert "ZeroDivisionError: boom" in status_message(result)


def test_malformed_object_is_denied_naming_the_field() -> None:
    obj = pod()
    obj["spec"]["containers"] = [{"name": "vllm", "image": "x", "args": "--model org/m"}]
    result = review(review_of(obj), make_env())
    assert not result.allowed and result.audit["problems"] == ["malformed-object"]
    assert "spec.containers[0].args" in status_message(result)


def test_unresolvable_reference_is_denied_with_the_extractors_reason() -> None:
    env_var = {"name": "MODEL_ID", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}
    obj = pod(
        {
            "name": "tgi",
            "image": "ghcr.io/huggingface/text-generation-inference:2",
            "env": [env_var],
        }
    )
    result = review(review_of(obj), make_env())
    assert denied_ids(result) == {"model-reference-unresolvable"}
    assert result.audit["models"][0]["reference"] is None
    assert "cannot be resolved" in status_message(result)


def test_one_lookup_per_reference_and_one_evaluation_per_container(vetted: SignedVerdict) -> None:
    registry, recorder = DictRegistry({REFERENCE: vetted}), Recorder()
    env = make_env(lookup=registry, evaluate=recorder)
    obj = pod(container("a", model=REFERENCE), container("b", model=REFERENCE))
    result = review(review_of(obj), env)
    assert result.allowed
    assert registry.calls == [REFERENCE]
    assert [i["context"]["container"] for i in recorder.inputs] == ["a", "b"]


def test_trust_remote_code_warns_by_default_and_denies_when_configured(
    vetted: SignedVerdict,
) -> None:
    obj = pod(container("vllm", model=REFERENCE, args=["--trust-remote-code"]))
    result = review(review_of(obj), make_env({REFERENCE: vetted}))
    assert result.allowed
    [warning] = result.response["response"]["warnings"]
    assert warning.startswith("trust-remote-code (container vllm): ")
    strict = make_env({REFERENCE: vetted},
                      evaluate=Recorder(bundle_with(allow_trust_remote_code=False)))  # fmt: skip
    assert denied_ids(review(review_of(obj), strict)) == {"trust-remote-code-denied"}


def test_audit_record_has_every_field_and_is_json(vetted: SignedVerdict) -> None:
    env = make_env({REFERENCE: vetted})
    obj = pod(container("a", model=REFERENCE), container("b", model=UNVETTED))
    audit = review(review_of(obj), env).audit
    assert json.loads(json.dumps(audit)) == audit
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", audit["time"])
    assert {k: audit[k] for k in ("uid", "apiVersion", "namespace", "kind", "name", "operation",
                                  "user", "mode", "exempt", "allowed", "would_deny")} == {
        "uid": "705ab4f5-6393-11e8-b7cc-42010a800002", "apiVersion": "admission.k8s.io/v1",
        "namespace": "ml", "kind": "Pod", "name": "server", "operation": "CREATE",
        "user": "alice@example.com", "mode": "enforce", "exempt": False, "allowed": False,
        "would_deny": True,
    }  # fmt: skip
    assert audit["message"] and audit["seconds"] >= 0
    assert audit["models"][1] == {
        "reference": UNVETTED, "raw": UNVETTED, "container": "b",
        "origin": "spec.containers[1].args[1]",
        "verdict": {"present": False, "trusted": False,
                    "reason": "no verdict is stored for this reference", "digest": None},
        "deny": ["model-unvetted"], "warn": [],
    }  # fmt: skip


def test_env_type_is_the_contracts() -> None:
    assert AdmissionEnv.__dataclass_fields__.keys() == {
        "config",
        "lookup",
        "keys",
        "evaluate",
        "namespace_labels",
        "parts",
    }
