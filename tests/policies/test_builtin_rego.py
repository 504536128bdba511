"""The built-in library's Rego tests and samples, on the embedded engine."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import pytest

from modelward.engine.policy.bundle import PolicyBundle
from modelward.engine.policy.evaluators.embedded import EmbeddedEvaluator
from modelward.engine.policy.testing import run_rego_tests

POLICIES = Path(str(files("modelward.policies")))
BUNDLE = PolicyBundle.builtin()
RESULTS = run_rego_tests(BUNDLE)
SAMPLES = sorted(POLICIES.glob("*/*/samples/*/*.json"))


def test_there_are_rego_tests() -> None:
    assert len(RESULTS) >= 15


@pytest.mark.parametrize("result", RESULTS, ids=lambda r: f"{r.module}::{r.name}")
def test_rego_test_passes(result: object) -> None:
    assert result.status == "pass", result.message  # type: ignore[attr-defined]


def test_every_policy_has_tests_readme_and_samples() -> None:
    for policy in sorted(POLICIES.glob("*/*/policy.rego")):
        folder = policy.parent
        assert (folder / "policy_test.rego").is_file(), folder
        assert (folder / "README.md").is_file(), folder
        assert list((folder / "samples" / "allowed").glob("*.json")), folder
        assert list((folder / "samples" / "denied").glob("*.json")), folder


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: str(p.relative_to(POLICIES)))
def test_sample_gets_the_decision_its_folder_says(sample: Path) -> None:
    policy = str(sample.parent.parent.parent.relative_to(POLICIES))
    expected = sample.parent.name  # "allowed" or "denied"
    decision = EmbeddedEvaluator().evaluate(BUNDLE, json.loads(sample.read_text()))
    assert decision.outcome != "error", decision.error
    own = [f for f in decision.deny + decision.warn if f.policy == policy]
    assert bool(own) == (expected == "denied"), [f.msg for f in own]
