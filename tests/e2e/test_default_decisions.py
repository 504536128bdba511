"""The built-in library with its default configuration, on real models and the whole corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelward.engine.facts import SEVERITY_RANK
from modelward.engine.pipeline import collect_facts, decide
from modelward.engine.policy.bundle import PolicyBundle
from modelward.engine.policy.evaluators.embedded import EmbeddedEvaluator
from tests.conftest import corpus_manifest

REPO = Path(__file__).resolve().parents[2]
BUNDLE = PolicyBundle.builtin()
EVALUATOR = EmbeddedEvaluator()


@pytest.mark.parametrize("row", corpus_manifest(), ids=lambda r: r["file"])
def test_corpus_file_findings_and_decision(row: dict[str, str], corpus_files: Path) -> None:
    facts = collect_facts(str(corpus_files / row["file"]))
    worst = max((SEVERITY_RANK[f.severity] for f in facts.scan.findings), default=-1)
    decision = decide(facts, BUNDLE, EVALUATOR)
    assert decision.outcome != "error", decision.error
    if row["label"] == "malicious":
        needed = "medium" if "[dormant]" in row["technique"] else "high"
        assert worst >= SEVERITY_RANK[needed], [f.id for f in facts.scan.findings]
        assert decision.outcome == "deny"
    elif row["label"] == "benign":
        assert worst <= SEVERITY_RANK["low"], [(f.id, f.severity) for f in facts.scan.findings]


def test_real_safetensors_model_is_allowed() -> None:
    facts = collect_facts(str(REPO / ".cache" / "models" / "all-minilm-l6-v2"))
    decision = decide(facts, BUNDLE, EVALUATOR)
    assert decision.outcome == "allow", [d.msg for d in decision.deny]


def test_real_pytorch_pickle_checkpoints_with_a_clean_complete_scan_are_allowed() -> None:
    facts = collect_facts(str(REPO / ".cache" / "models" / "mtcnn"))
    assert {f.format for f in facts.files} == {"pytorch-legacy"}
    assert facts.scan.complete
    assert all(SEVERITY_RANK[f.severity] <= SEVERITY_RANK["low"] for f in facts.scan.findings)
    assert {i.verdict for i in facts.scan.imports} == {"allowed"}
    decision = decide(facts, BUNDLE, EVALUATOR)
    assert decision.outcome == "allow", [d.msg for d in decision.deny]
