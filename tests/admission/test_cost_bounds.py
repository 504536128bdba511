"""What one review may cost: references without a trusted verdict take the cheap path, an object
carries at most ``max_references`` references and a review uses at most ``max_evaluations``
policy evaluations; what is over a limit is denied quickly, naming the limit."""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from typing import Any

import pytest

from modelward.admission.config import WebhookConfig
from modelward.admission.review.core import AdmissionEnv, review
from modelward.admission.review.judge import ALREADY_DENIED
from modelward.admission.review.parts import PartEvaluation
from modelward.admission.workloads.extract import extract_references
from modelward.admission.workloads.fields import TooManyReferences
from modelward.engine.decision import Decision
from modelward.engine.policy.bundle import PolicyBundle
from modelward.engine.policy.evaluators import MODEL_PART, REQUEST_PART, Entry
from modelward.engine.verdicts.signed import SignedVerdict
from tests.admission.core_helpers import (
    EVALUATOR,
    REFERENCE,
    REVISION,
    DictRegistry,
    Recorder,
    builtin_bundle,
    bundle_with,
    container,
    deployment,
    make_env,
    pod,
    real_facts,
    review_of,
    signed_verdict,
)

MODE = "modelward.dev/mode"


class CountingParts:
    """``evaluate_json`` over a real bundle, counting the evaluations of each part."""

    def __init__(self, bundle: PolicyBundle | None = None) -> None:
        self.bundle = bundle or builtin_bundle()
        self.calls: Counter[Entry] = Counter()

    def __call__(self, text: str, entry: Entry) -> Decision:
        self.calls[entry] += 1
        return EVALUATOR.evaluate_json(self.bundle, text, entry)

    @property
    def total(self) -> int:
        return sum(self.calls.values())


def split_env(
    verdicts: dict[str, SignedVerdict] | None = None,
    *,
    bundle: PolicyBundle | None = None,
    **options: Any,
) -> tuple[AdmissionEnv, CountingParts]:
    """An environment deciding in two parts, as the webhook does, and its counter."""
    parts = CountingParts(bundle)
    env = make_env(verdicts, **options)
    return dataclasses.replace(env, parts=PartEvaluation(parts)), parts


def unvetted(count: int, tag: str = "m") -> list[dict[str, Any]]:
    return [container(f"c{i}", model=f"hf://acme/{tag}{i}@{REVISION}") for i in range(count)]


def answer(result: Any) -> dict[str, Any]:
    return result.response["response"]  # type: ignore[no-any-return]


def denied_ids(result: Any) -> set[str]:
    return {i for m in result.audit["models"] for i in m["deny"]}


# --- the cheap path --------------------------------------------------------------------------


def test_distinct_unvetted_references_cost_about_one_evaluation() -> None:
    registry = DictRegistry()
    env, parts = split_env(lookup=registry)
    result = review(review_of(deployment(*unvetted(32))), env)
    assert answer(result)["allowed"] is False
    assert parts.calls == {MODEL_PART: 1, REQUEST_PART: 1}
    assert registry.calls == [f"hf://acme/m0@{REVISION}"]
    models = result.audit["models"]
    assert models[0]["deny"] == ["model-unvetted"] and "skipped" not in models[0]
    assert all(m["skipped"] == ALREADY_DENIED and m["deny"] == [] for m in models[1:])
    assert models[1]["verdict"] == {"present": False, "trusted": False, "reason": "not looked up",
                                   "digest": None}  # fmt: skip
    assert len(models) == 32


def test_the_cheap_path_holds_for_the_whole_bundle_and_in_every_mode() -> None:
    for mode in ("enforce", "warn", "dry-run"):
        recorder = Recorder()
        env = make_env(evaluate=recorder, labels={"ml": {MODE: mode}})
        result = review(review_of(deployment(*unvetted(32, tag=mode))), env)
        assert len(recorder.inputs) == 1, mode
        assert result.audit["would_deny"] is True
        assert answer(result)["allowed"] is (mode != "enforce")


def test_the_references_not_evaluated_are_named() -> None:
    env, _ = split_env(labels={"ml": {MODE: "warn"}})
    warnings = answer(review(review_of(pod(*unvetted(3))), env))["warnings"]
    assert warnings[0].startswith("would deny: model-unvetted (container c0)")
    assert warnings[1:] == [
        f"not evaluated (the review is denied already): container c{i}, model hf://acme/m{i}@"
        f"{REVISION}"
        for i in (1, 2)
    ]
    env, _ = split_env()
    message = answer(review(review_of(pod(*unvetted(3))), env))["status"]["message"]
    assert message.startswith(
        "Pod ml/server is denied: container c0, model hf://acme/m0@"
        f"{REVISION}: model-unvetted; not evaluated (the review is denied already): "
        f"container c1 (hf://acme/m1@{REVISION}), container c2 (hf://acme/m2@{REVISION})."
    )


def test_references_before_the_first_deny_are_all_judged() -> None:
    registry = DictRegistry({REFERENCE: signed_verdict()})
    env, parts = split_env(lookup=registry)
    obj = pod(container("v", model=REFERENCE), *unvetted(2))
    result = review(review_of(obj), env)
    models = result.audit["models"]
    assert [m.get("skipped") for m in models] == [None, None, ALREADY_DENIED]
    assert [m["deny"] for m in models] == [[], ["model-unvetted"], []]
    assert registry.calls == [REFERENCE, f"hf://acme/m0@{REVISION}"]
    assert parts.calls == {MODEL_PART: 2, REQUEST_PART: 2}


def test_nothing_after_a_deny_is_looked_up_or_evaluated() -> None:
    denied = Decision.from_results([{"id": "x", "msg": "no"}], [], engine="embedded",
                                   bundle_revision="r")  # fmt: skip
    registry = DictRegistry({REFERENCE: signed_verdict(decision=denied)})
    env, parts = split_env(lookup=registry)
    obj = pod(container("v", model=REFERENCE), *unvetted(2), container("w", model=REFERENCE))
    result = review(review_of(obj), env)
    assert [m.get("skipped") for m in result.audit["models"]] == [None] + [ALREADY_DENIED] * 3
    assert denied_ids(result) == {"verdict-denied"}
    assert registry.calls == [REFERENCE] and parts.total == 2


def test_unvetted_references_that_are_not_denied_are_each_evaluated() -> None:
    env, parts = split_env(bundle=bundle_with(require_verdict=False))
    result = review(review_of(pod(*unvetted(5))), env)
    assert answer(result)["allowed"] is True
    assert parts.calls == {MODEL_PART: 5, REQUEST_PART: 5}
    assert all(m["warn"] == ["model-unvetted-allowed"] for m in result.audit["models"])


def test_stub_model_parts_never_push_out_a_verdicts() -> None:
    env, parts = split_env({REFERENCE: signed_verdict()})
    assert env.parts is not None
    review(review_of(pod(container("v", model=REFERENCE))), env)
    for batch in range(40):
        review(review_of(pod(*unvetted(1, tag=f"b{batch}-"))), env)
    assert len(env.parts.cache) == 1 and len(env.parts.stubs) == 40
    before = parts.calls[MODEL_PART]
    assert review(review_of(pod(container("v", model=REFERENCE))), env).allowed
    assert parts.calls[MODEL_PART] == before


# --- the cap on references -------------------------------------------------------------------


def test_the_default_cap_is_32_references_and_names_its_key() -> None:
    registry, recorder = DictRegistry(), Recorder()
    env = make_env(lookup=registry, evaluate=recorder)
    assert review(review_of(pod(*unvetted(32))), env).audit["problems"] == []
    registry.calls.clear()
    recorder.inputs.clear()
    result = review(review_of(pod(*unvetted(33))), env)
    assert result.audit["problems"] == ["too-many-models"]
    assert registry.calls == [] and recorder.inputs == []
    message = answer(result)["status"]["message"]
    assert "33 model references, more than the 32 one object may carry (max_references)" in message


def test_an_object_far_over_the_cap_is_denied_quickly() -> None:
    refs = " ".join(f"hf://a/m{i}" for i in range(4_000))  # within the 64 KiB of one field
    obj = pod(container("web", image="nginx"))
    obj["metadata"]["annotations"] = {"modelward.dev/models": refs}
    env, parts = split_env()
    started = time.perf_counter()
    result = review(review_of(obj), env)
    assert time.perf_counter() - started < 2.0
    assert result.audit["problems"] == ["too-many-models"] and parts.total == 0


def test_reading_stops_once_more_containers_name_a_model_than_the_cap() -> None:
    obj = pod(*unvetted(127))
    started = time.perf_counter()
    with pytest.raises(TooManyReferences):
        extract_references(obj, max_references=32)
    stopped = time.perf_counter() - started
    started = time.perf_counter()
    assert len(extract_references(obj)) == 127
    assert stopped < (time.perf_counter() - started) / 2  # 33 containers read, not 127
    result = review(review_of(obj), make_env())
    assert result.audit["problems"] == ["too-many-models"]
    assert (
        "at least 33 model references, more than the 32 one object may carry"
        in (answer(result)["status"]["message"])
    )


def test_container_paths_do_not_stop_reading_early() -> None:
    covered = [container(f"p{i}", model="/mnt/models/m", volumeMounts=[
        {"name": "models", "mountPath": "/mnt/models"}]) for i in range(40)]  # fmt: skip
    obj = pod(*covered, container("loader", model=REFERENCE))
    obj["spec"]["volumes"] = [{"name": "models", "image": {"reference": "reg.example.com/m:1"}}]
    refs = extract_references(obj, max_references=2)
    assert sorted(r.source for r in refs) == ["image-volume", "vllm"]


def test_an_object_with_more_containers_than_anyone_runs_is_denied() -> None:
    plain = [{"name": f"c{i}", "image": "nginx"} for i in range(129)]
    result = review(review_of(pod(*plain)), make_env())
    assert result.audit["problems"] == ["malformed-object"]
    assert (
        "more than 128 containers, the limit on one object" in answer(result)["status"]["message"]
    )
    assert review(review_of(pod(*plain[:128])), make_env()).allowed


def test_a_text_over_its_size_limit_is_reported_with_the_limit() -> None:
    long_env = [{"name": "A", "value": "x" * (64 * 1024 + 1)}]
    obj = pod(container("web", image="nginx", env=long_env))
    result = review(review_of(obj), make_env())
    message = answer(result)["status"]["message"]
    assert result.audit["problems"] == ["malformed-object"]
    assert "the Pod is over a limit admission enforces: spec.containers[0].env[0].value" in message
    assert "65537 characters, over the 64 KiB limit on one text field" in message
    assert "wrong type" not in message
    obj = pod(container("web", image="nginx", args=["x" * 40_000] * 2))
    message = answer(review(review_of(obj), make_env()))["status"]["message"]
    assert "80000 characters in total, over the 64 KiB limit on one command or argument list" in (
        message
    )


def test_the_cap_is_configurable() -> None:
    env, _ = split_env(config=WebhookConfig(max_references=2))
    result = review(review_of(pod(*unvetted(3))), env)
    assert "more than the 2 one object may carry" in answer(result)["status"]["message"]


# --- the evaluation budget -------------------------------------------------------------------


def vetted_models(count: int) -> tuple[dict[str, SignedVerdict], list[dict[str, Any]]]:
    """``count`` vetted references whose facts differ (so their model parts do too)."""
    verdicts, containers = {}, []
    for i in range(count):
        reference = f"hf://acme/vetted{i}@{REVISION}"
        facts = real_facts()
        facts["subject"].update(ref=reference, location=f"acme/vetted{i}")
        verdicts[reference] = signed_verdict(reference, facts=facts)
        containers.append(container(f"v{i}", model=reference))
    return verdicts, containers


def test_the_budget_counts_whole_evaluations_too() -> None:
    verdicts, containers = vetted_models(5)
    recorder = Recorder()
    config = WebhookConfig(max_evaluations=4)
    result = review(
        review_of(pod(*containers)), make_env(verdicts, evaluate=recorder, config=config)
    )
    assert len(recorder.inputs) == 4 and answer(result)["allowed"] is False
    assert result.audit["problems"] == ["evaluation-budget"]
    assert "(max_evaluations)" in answer(result)["status"]["message"]


def test_a_review_stops_at_the_budget_and_names_it() -> None:
    verdicts, containers = vetted_models(3)
    env, parts = split_env(verdicts, config=WebhookConfig(max_evaluations=4))
    result = review(review_of(pod(*containers)), env)
    assert parts.total == 4  # two models in two parts; the third is not evaluated
    assert answer(result)["allowed"] is False
    assert result.audit["problems"] == ["evaluation-budget"]
    assert [m.get("skipped") for m in result.audit["models"]] == [
        None,
        None,
        "over the evaluation budget",
    ]
    assert (
        "more than the 4 one review may use (max_evaluations)"
        in answer(result)["status"]["message"]
    )
    again, _ = split_env(verdicts, config=WebhookConfig(max_evaluations=6))
    assert review(review_of(pod(*containers)), again).allowed


def test_remembered_model_parts_cost_nothing() -> None:
    verdicts, containers = vetted_models(3)
    env, parts = split_env(verdicts, config=WebhookConfig(max_evaluations=4))
    for one in containers:
        review(review_of(pod(one)), env)  # each model part is now remembered
    before = parts.total
    assert review(review_of(pod(*containers)), env).allowed
    assert parts.total - before == 3


def test_the_default_budget_fits_every_object_within_the_cap() -> None:
    verdicts, containers = vetted_models(16)
    containers += [container(f"u{i}", model=REFERENCE) for i in range(16)]
    verdicts[REFERENCE] = signed_verdict()
    env, parts = split_env(verdicts)
    result = review(review_of(pod(*containers)), env)
    assert result.allowed and result.audit["problems"] == []
    assert parts.total == 17 + 32
