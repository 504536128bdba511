"""Two-part evaluation gives the decision the whole bundle gives, and remembers only what it may.

Each case runs the core twice on real policies (embedded engine): once evaluating the whole
decision per model, once as model part (remembered) plus request part, and compares what the
cluster would see and what the audit log records.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

import pytest

from modelward.admission.config import WebhookConfig
from modelward.admission.review.core import AdmissionEnv, review
from modelward.admission.review.parts import ModelPartCache, PartEvaluation, merge
from modelward.engine.decision import Decision
from modelward.engine.policy.bundle import PolicyBundle
from modelward.engine.policy.evaluators import MODEL_PART, REQUEST_PART, Entry
from tests.admission.core_helpers import (
    EVALUATOR,
    REFERENCE,
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

UNPINNED = "hf://sentence-transformers/all-MiniLM-L6-v2@main"
FAR_FUTURE = "2199-12-31"


class CountingParts:
    """``evaluate_json`` over a real bundle, counting the evaluations of each part."""

    def __init__(self, bundle: PolicyBundle) -> None:
        self.bundle = bundle
        self.calls: Counter[Entry] = Counter()

    def __call__(self, text: str, entry: Entry) -> Decision:
        self.calls[entry] += 1
        return EVALUATOR.evaluate_json(self.bundle, text, entry)


def envs(bundle: PolicyBundle, verdicts: dict[str, Any]) -> tuple[AdmissionEnv, AdmissionEnv]:
    whole = make_env(verdicts, evaluate=Recorder(bundle))
    split = dataclasses.replace(whole, parts=PartEvaluation(CountingParts(bundle)))
    return whole, split


def seen(env: AdmissionEnv, document: dict[str, Any]) -> tuple[Any, ...]:
    result = review(document, env)
    answer = result.response["response"]
    models = [(m["container"], m["reference"], sorted(m["deny"]), sorted(m["warn"]))
              for m in result.audit["models"]]  # fmt: skip
    return answer["allowed"], answer.get("status"), sorted(answer.get("warnings", [])), models


def exemption(rule: str, **extra: str) -> dict[str, str]:
    return {"rule": rule, "owner": "ml-platform", "reason": "tested", "expires": FAR_FUTURE,
            **extra}  # fmt: skip


CASES = {
    "vetted": ({}, pod(container("a", model=REFERENCE))),
    "unvetted and unpinned": ({}, pod(container("a", model=UNPINNED))),
    "several containers": (
        {},
        deployment(container("a", model=REFERENCE), container("b", model=UNPINNED)),
    ),
    "unresolvable": ({}, pod(container("a", args=["--model", "$(MODEL)"]))),
    "trust remote code": ({}, pod(container("a", model=REFERENCE, args=["--trust-remote-code"]))),
    "remote code denied": (
        {"allow_trust_remote_code": False},
        pod(container("a", model=REFERENCE, args=["--trust-remote-code"])),
    ),
    "model card required": ({"require_model_card": True}, pod(container("a", model=REFERENCE))),
    "exempted admission finding": (
        {"exemptions": [exemption("model-unvetted", subject="hf://sentence-transformers/**")]},
        pod(container("a", model=UNPINNED)),
    ),
    "exempted model finding, expired and invalid exemptions": (
        {
            "require_model_card": True,
            "exemptions": [
                exemption("model-card-required"),
                exemption("unpinned-reference", expires="2020-01-01"),
                {"rule": "model-unvetted"},
            ],
        },
        pod(container("a", model=REFERENCE)),
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_two_parts_decide_as_the_whole_bundle(name: str) -> None:
    config, obj = CASES[name]
    bundle = bundle_with(**config)
    verdicts = {REFERENCE: signed_verdict()}
    whole, split = envs(bundle, verdicts)
    document = review_of(obj)
    assert seen(split, document) == seen(whole, document)
    assert seen(split, document) == seen(whole, document)  # and again, from the cache


def test_untrusted_and_denied_verdicts_decide_as_the_whole_bundle() -> None:
    denied = Decision.from_results([{"id": "x", "msg": "no"}], [], engine="embedded",
                                   bundle_revision="r")  # fmt: skip
    for verdict in (signed_verdict(private_pem=other_keys()[0]), signed_verdict(decision=denied)):
        whole, split = envs(bundle_with(), {REFERENCE: verdict})
        document = review_of(pod(container("a", model=REFERENCE)))
        assert seen(split, document) == seen(whole, document)
        assert seen(split, document)[0] is False


def test_the_model_part_is_evaluated_once_per_verdict() -> None:
    parts = CountingParts(bundle_with())
    env = dataclasses.replace(make_env({REFERENCE: signed_verdict()}), parts=PartEvaluation(parts))
    for name in ("one", "two", "three"):
        review(review_of(pod(container("a", model=REFERENCE), name=name)), env)
    assert parts.calls == {MODEL_PART: 1, REQUEST_PART: 3}


def test_a_new_verdict_for_the_same_reference_is_evaluated_anew() -> None:
    parts = CountingParts(bundle_with(require_model_card=True))
    without_card = real_facts()
    without_card["card"] = {**without_card["card"], "present": False}
    registry = {REFERENCE: signed_verdict(facts=without_card)}
    env = dataclasses.replace(make_env(registry), parts=PartEvaluation(parts))
    document = review_of(pod(container("a", model=REFERENCE)))
    assert review(document, env).allowed is False
    env.lookup.verdicts[REFERENCE] = signed_verdict()  # type: ignore[attr-defined]
    assert review(document, env).allowed is True  # the real model has a card
    assert parts.calls[MODEL_PART] == 2


def test_a_failed_model_part_denies_and_is_not_remembered() -> None:
    failures = Counter[Entry]()

    def failing(text: str, entry: Entry) -> Decision:
        failures[entry] += 1
        if entry == MODEL_PART:
            return Decision.failed("engine down", engine="embedded", bundle_revision="r")
        return EVALUATOR.evaluate_json(bundle_with(), text, entry)

    env = dataclasses.replace(make_env({REFERENCE: signed_verdict()}),
                              parts=PartEvaluation(failing))  # fmt: skip
    for _ in range(2):
        result = review(review_of(pod(container("a", model=REFERENCE))), env)
        assert result.allowed is False
        assert "engine down (model part)" in result.response["response"]["status"]["message"]
    assert failures[MODEL_PART] == 2


def test_merge_takes_the_union_and_fails_closed() -> None:
    finding = {"id": "a", "msg": "m", "severity": "high"}
    model = Decision.from_results([finding], [], engine="e", bundle_revision="r")
    request = Decision.from_results([finding, {"id": "b", "msg": "n"}], [finding],
                                    engine="e", bundle_revision="r")  # fmt: skip
    merged = merge(model, request)
    assert merged.outcome == "deny" and [f.id for f in merged.deny] == ["a", "b"]
    assert [f.id for f in merged.warn] == ["a"]
    failed = Decision.failed("boom", engine="e", bundle_revision="r")
    assert merge(model, failed).outcome == "error"
    assert merge(ALLOW, ALLOW).outcome == "allow"


ALLOW = Decision.from_results([], [], engine="e", bundle_revision="r")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_remembered_parts_end_at_utc_midnight() -> None:
    clock = Clock(1_767_225_600 - 10)  # 2025-12-31T23:59:50Z
    cache = ModelPartCache(clock=clock)
    cache.put("k", ALLOW)
    clock.now += 9
    assert cache.get("k") is ALLOW
    clock.now += 1  # 2026-01-01T00:00:00Z: an exemption that expired yesterday no longer applies
    assert cache.get("k") is None


def test_remembered_parts_end_after_max_age_and_errors_are_never_remembered() -> None:
    clock = Clock(1_767_225_600)
    cache = ModelPartCache(clock=clock, max_age=60)
    cache.put("k", ALLOW)
    cache.put("e", Decision.failed("x", engine="e", bundle_revision="r"))
    assert cache.get("e") is None
    clock.now += 59.9
    assert cache.get("k") is ALLOW
    clock.now += 0.1
    assert cache.get("k") is None


def test_the_cache_is_bounded_and_keeps_the_recently_used() -> None:
    cache = ModelPartCache(max_entries=2)
    cache.put("a", ALLOW)
    cache.put("b", ALLOW)
    assert cache.get("a") is ALLOW
    cache.put("c", ALLOW)
    assert cache.get("b") is None and cache.get("a") is ALLOW and len(cache) == 2


CONTEXT_POLICY = """package modelward.policies.custom.prod_hub

import data.modelward.lib

# METADATA
# title: No Hub models in production
# custom:
#   id: prod-no-hub-models
#   severity: high
#   remediation: Mirror the model into the internal registry.
deny contains lib.finding("prod-no-hub-models", "production pulls no model from the Hub") if {
	input.context.namespace == "prod"
	input.model.subject.scheme == "hf"
}
"""


def test_a_model_policy_that_reads_the_request_is_evaluated_whole(tmp_path: Any) -> None:
    from modelward.admission.env import build_env
    from modelward.engine.policy.parts import split_problem

    bundle_dir = tmp_path / "policies"
    for module in PolicyBundle.builtin().modules:
        target = bundle_dir / module.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(module.source)
    custom = bundle_dir / "custom" / "prod_hub" / "policy.rego"
    custom.parent.mkdir(parents=True)
    custom.write_text(CONTEXT_POLICY)
    bundle = PolicyBundle.load(bundle_dir)
    assert split_problem(bundle) == (
        "custom/prod_hub/policy.rego:12 reads input.context.namespace, "
        "which the model part does not receive"
    )
    config = WebhookConfig(policies=bundle_dir)
    env, close = build_env(config, lookup=make_env({REFERENCE: signed_verdict()}).lookup)
    try:
        assert env.parts is None
        env = dataclasses.replace(env, keys=make_env().keys)
        document = review_of(pod(container("a", model=REFERENCE)), namespace="prod")
        result = review(document, env)
        assert result.allowed is False and "prod-no-hub-models" in str(result.audit["models"])
        assert review(review_of(pod(container("a", model=REFERENCE))), env).allowed is True
    finally:
        close()
