"""The embedded engine and real OPA return identical decisions and test results."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

import pytest

from modelward.engine.decision import Decision
from modelward.engine.pipeline import collect_facts, policy_input
from modelward.engine.policy.bundle import PolicyBundle
from modelward.engine.policy.evaluators.embedded import EmbeddedEvaluator
from modelward.engine.policy.evaluators.opa import OpaEvaluator
from modelward.engine.policy.testing import run_opa_tests, run_rego_tests
from tests.conftest import corpus_manifest

BUNDLE = PolicyBundle.builtin()
SAMPLES = sorted(Path(str(files("modelward.policies"))).glob("*/*/samples/*/*.json"))
EMBEDDED = EmbeddedEvaluator()


@pytest.fixture(scope="module")
def opa(opa_binary: Path) -> Iterator[OpaEvaluator]:
    with OpaEvaluator(binary=str(opa_binary)) as evaluator:
        yield evaluator


def _comparable(decision: Decision) -> dict[str, object]:
    return decision.model_dump(include={"outcome", "deny", "warn", "error"})


def _assert_same(opa: OpaEvaluator, document: dict[str, object]) -> Decision:
    on_opa = opa.evaluate(BUNDLE, document)
    embedded = EMBEDDED.evaluate(BUNDLE, document)
    assert on_opa.outcome != "error", on_opa.error
    assert _comparable(on_opa) == _comparable(embedded)
    return on_opa


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: "/".join(p.parts[-5:]))
def test_samples_decide_identically(opa: OpaEvaluator, sample: Path) -> None:
    _assert_same(opa, json.loads(sample.read_text()))


@pytest.mark.parametrize("row", corpus_manifest(), ids=lambda r: r["file"])
def test_corpus_facts_decide_identically(
    opa: OpaEvaluator, row: dict[str, str], corpus_files: Path
) -> None:
    facts = collect_facts(str(corpus_files / row["file"]))
    _assert_same(opa, policy_input(facts))


def test_rego_tests_pass_identically_on_both_engines(opa_binary: Path) -> None:
    on_opa = run_opa_tests(BUNDLE, str(opa_binary))
    embedded = run_rego_tests(BUNDLE)
    assert [r for r in on_opa if r.status != "pass"] == []
    assert [r for r in embedded if r.status != "pass"] == []
    assert sorted((r.module, r.name) for r in on_opa) == sorted(
        (r.module, r.name) for r in embedded
    )


def test_undefined_result_is_an_error_not_allow(opa_binary: Path, tmp_path: Path) -> None:
    (tmp_path / "main.rego").write_text(
        "package modelward.main\n\ndeny contains x if {\n  x := input.never\n}\n"
    )
    bundle = PolicyBundle.load(tmp_path)
    with OpaEvaluator(binary=str(opa_binary)) as evaluator:
        assert evaluator.evaluate(bundle, {"model": {}}).outcome == "allow"  # empty set: defined
    (tmp_path / "main.rego").write_text("package modelward.main\n\nwarn contains 1 if false\n")
    bundle = PolicyBundle.load(tmp_path)
    with OpaEvaluator(binary=str(opa_binary)) as evaluator:
        decision = evaluator.evaluate(bundle, {"model": {}})
    assert decision.outcome == "error"
    assert "no data.modelward.main.deny" in (decision.error or "")


def test_unreachable_opa_is_an_error_not_allow() -> None:
    evaluator = OpaEvaluator(url="http://127.0.0.1:9")
    decision = evaluator.evaluate(BUNDLE, {"model": {}})
    assert decision.outcome == "error" and "OPA request failed" in (decision.error or "")
