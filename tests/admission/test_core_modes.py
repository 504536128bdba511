"""Modes, exempt namespaces, operations, request fields and the API server's size limits."""

from __future__ import annotations

from typing import Any

import pytest

from modelward.admission.config import WebhookConfig
from modelward.admission.review.core import deny_review, parse_review, review
from modelward.admission.review.responses import MAX_WARNING_CHARS, MAX_WARNINGS_CHARS
from modelward.engine.verdicts.signed import SignedVerdict
from tests.admission.core_helpers import (
    REFERENCE,
    REVISION,
    Recorder,
    container,
    make_env,
    pod,
    review_of,
    signed_verdict,
)

UNVETTED = f"hf://acme/unvetted@{REVISION}"
MODE = "modelward.dev/mode"
MANY = WebhookConfig(max_references=128, max_evaluations=256)  # room for 120 containers


def unvetted_pod() -> dict[str, Any]:
    return pod(container("vllm", model=UNVETTED))


def answer(result: Any) -> dict[str, Any]:
    return result.response["response"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("label", ["warn", "dry-run"])
def test_warn_and_dry_run_admit_what_enforce_denies(label: str) -> None:
    env = make_env(labels={"ml": {MODE: label}})
    result = review(review_of(unvetted_pod()), env)
    assert answer(result)["allowed"] is True and "status" not in answer(result)
    assert result.audit["mode"] == label and result.audit["would_deny"] is True
    assert "model-unvetted" in result.audit["message"]
    warnings = answer(result).get("warnings", [])
    if label == "warn":
        assert warnings == [
            f"would deny: model-unvetted (container vllm): {UNVETTED} has no verdict: it was "
            "never vetted"[: MAX_WARNING_CHARS - 3]
            + "..."
        ]
    else:
        assert warnings == []


def test_default_mode_comes_from_the_config() -> None:
    env = make_env(config=WebhookConfig(default_mode="warn"))
    assert answer(review(review_of(unvetted_pod()), env))["allowed"] is True
    enforce = make_env(labels={"ml": {MODE: "enforce"}}, config=WebhookConfig(default_mode="warn"))
    assert answer(review(review_of(unvetted_pod()), enforce))["allowed"] is False


def test_unknown_mode_label_uses_the_default_and_says_so() -> None:
    result = review(review_of(unvetted_pod()), make_env(labels={"ml": {MODE: "off"}}))
    assert answer(result)["allowed"] is False
    assert any("modelward.dev/mode='off'" in w for w in answer(result)["warnings"])


def test_failing_label_lookup_means_labels_not_known() -> None:
    env = make_env()

    def broken(namespace: str) -> dict[str, str]:
        raise OSError("watch not started")

    env = env.__class__(env.config, env.lookup, env.keys, env.evaluate, broken)
    result = review(review_of(unvetted_pod()), env)
    assert answer(result)["allowed"] is False and result.audit["mode"] == "enforce"


def test_exempt_namespace_is_admitted_without_evaluation_and_audited() -> None:
    recorder = Recorder()
    env = make_env(config=WebhookConfig(exempt_namespaces=["kube-system"]), evaluate=recorder)
    result = review(review_of(unvetted_pod(), namespace="kube-system"), env)
    assert answer(result)["allowed"] is True and recorder.inputs == []
    assert result.audit["exempt"] is True and result.audit["would_deny"] is False


@pytest.mark.parametrize("operation", ["DELETE", "CONNECT"])
def test_delete_and_connect_are_admitted_without_evaluation(operation: str) -> None:
    recorder = Recorder()
    result = review(review_of(None, operation=operation, oldObject=unvetted_pod()),
                    make_env(evaluate=recorder))  # fmt: skip
    assert answer(result)["allowed"] is True and recorder.inputs == []
    assert result.audit["operation"] == operation


def test_update_judges_the_new_object() -> None:
    vetted: SignedVerdict = signed_verdict()
    env = make_env({REFERENCE: vetted})
    old, new = pod(container("vllm", model=REFERENCE)), unvetted_pod()
    denied = review(review_of(new, operation="UPDATE", oldObject=old), env)
    assert answer(denied)["allowed"] is False
    allowed = review(review_of(old, operation="UPDATE", oldObject=new), env)
    assert answer(allowed)["allowed"] is True


def test_v1beta1_is_answered_as_v1beta1_with_the_uid() -> None:
    result = review(review_of(unvetted_pod(), api_version="admission.k8s.io/v1beta1", uid="u-1"),
                    make_env())  # fmt: skip
    assert result.response["apiVersion"] == "admission.k8s.io/v1beta1"
    assert answer(result)["uid"] == "u-1"


def test_name_falls_back_to_metadata_name_then_generate_name() -> None:
    recorder = Recorder()
    env = make_env(evaluate=recorder)
    review(review_of(unvetted_pod()), env)
    generated = unvetted_pod()
    generated["metadata"] = {"generateName": "llm-7f9c-"}
    result = review(review_of(generated), env)
    names = [i["context"]["workload"]["name"] for i in recorder.inputs]
    assert names == ["server", "llm-7f9c-"]
    assert result.audit["name"] == "llm-7f9c-"
    named = review(review_of(generated, name="from-request"), env)
    assert named.audit["name"] == "from-request"


def test_dry_run_is_read_from_the_request_or_beside_it() -> None:
    recorder = Recorder()
    env = make_env(evaluate=recorder)
    review(review_of(unvetted_pod(), dryRun=True), env)
    beside = review_of(unvetted_pod())
    beside["dryRun"] = True
    review(beside, env)
    review(review_of(unvetted_pod()), env)
    assert [i["context"]["dry_run"] for i in recorder.inputs] == [True, True, False]


def test_warnings_stay_within_the_api_servers_limits() -> None:
    long_name = "a" * 60
    containers = [
        container(f"c{i}-{long_name}", model=f"hf://acme/m{i}@{REVISION}") for i in range(120)
    ]
    env = make_env(labels={"ml": {MODE: "warn"}}, config=MANY)
    warnings = answer(review(review_of(pod(*containers)), env))["warnings"]
    assert all(len(w) <= MAX_WARNING_CHARS for w in warnings)
    assert sum(len(w) for w in warnings) <= MAX_WARNINGS_CHARS
    assert not any(w.lower().startswith("warning") for w in warnings)
    assert warnings[-1].endswith("more warnings not shown")
    assert len(warnings) == len(set(warnings)) > 10


def test_deny_message_is_capped_at_4_kib_and_names_the_first_models() -> None:
    containers = [container(f"c{i}", model=f"hf://acme/m{i}@{REVISION}") for i in range(120)]
    message = answer(review(review_of(pod(*containers)), make_env(config=MANY)))["status"][
        "message"
    ]
    assert len(message.encode()) <= 4096
    assert message.startswith("Pod ml/server is denied: container c0, model hf://acme/m0@")
    assert message.endswith("...")


def test_too_many_models_are_denied_without_evaluation() -> None:
    recorder = Recorder()
    containers = [container(f"c{i}", model=f"hf://acme/m@{REVISION}") for i in range(129)]
    result = review(review_of(pod(*containers)), make_env(evaluate=recorder, config=MANY))
    assert answer(result)["allowed"] is False and recorder.inputs == []
    assert result.audit["problems"] == ["too-many-models"]
    assert "129 model references, more than the 128" in answer(result)["status"]["message"]


def test_control_characters_never_reach_the_answer() -> None:
    obj = pod(container("vllm", model=UNVETTED))
    obj["metadata"]["annotations"] = {"modelward.dev/models": "hf://acme/x\u0007y"}
    result = review(review_of(obj, name="evil\nname"), make_env(labels={"ml": {MODE: "warn"}}))
    texts = [result.audit["message"], *answer(result).get("warnings", [])]
    assert all(ch.isprintable() for text in texts for ch in text)


def test_deny_review_answers_with_the_reason() -> None:
    parsed = parse_review(b'{"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview",'
                          b' "request": {"uid": "u-2", "operation": "CREATE", "namespace": "ml",'
                          b' "kind": {"group": "", "version": "v1", "kind": "Pod"},'
                          b' "object": {"metadata": {"name": "p"}}}}')  # fmt: skip
    result = deny_review(parsed, "the policy deadline of 3.0 s passed")
    assert result.response == {
        "apiVersion": "admission.k8s.io/v1beta1",
        "kind": "AdmissionReview",
        "response": {"uid": "u-2", "allowed": False, "status": {
            "code": 403, "reason": "Forbidden",
            "message": "Pod ml/p is denied: the policy deadline of 3.0 s passed"}},
    }  # fmt: skip
    assert result.audit["allowed"] is False and result.audit["uid"] == "u-2"


def test_deny_review_of_a_malformed_review_still_answers() -> None:
    result = deny_review({"request": {"uid": 7}}, "internal error")
    assert answer(result) == {"uid": "", "allowed": False, "status": {
        "code": 403, "reason": "Forbidden", "message": "internal error"}}  # fmt: skip
    assert result.response["apiVersion"] == "admission.k8s.io/v1"
