"""The behaviour collector in the pipeline: opt-in, the facts it records, and the decisions the
built-in policy takes on them (fail closed when the requested analysis could not run)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest

from modelward.engine.behaviour import sandbox
from modelward.engine.behaviour.sandbox import Outcome
from modelward.engine.collectors import BehaviourOptions, CollectOptions
from modelward.engine.facts import Facts
from modelward.engine.pipeline import collect_facts, decide
from modelward.engine.policy.bundle import PolicyBundle
from modelward.engine.policy.evaluators.embedded import EmbeddedEvaluator
from tests.behaviour import sandbox_models

BUNDLE = PolicyBundle.builtin()


def scan(model: Path, probes: Path | None = None, budget: float = 30) -> Facts:
    options = CollectOptions(behaviour=BehaviourOptions(probes, budget))
    return collect_facts(str(model), options=options)


def outcome_ids(facts: Facts) -> tuple[str, set[str], set[str]]:
    decision = decide(facts, BUNDLE, EmbeddedEvaluator())
    return decision.outcome, {f.id for f in decision.deny}, {f.id for f in decision.warn}


def test_not_requested_means_no_behaviour_facts(models: Path) -> None:
    facts = collect_facts(str(models / "digits.onnx"))
    assert facts.behaviour is None
    assert "behaviour" not in facts.to_json_dict()
    assert "behaviour" not in facts.collection.collectors


def test_clean_classifier_with_probes(models: Path, stand_in: str) -> None:
    facts = scan(models / "digits.onnx", models / "digits.npy")
    behaviour = facts.to_json_dict()["behaviour"]
    backdoor = behaviour["backdoor"]
    assert backdoor["status"] == "ok" and backdoor["complete"] is True
    assert 0.0 <= backdoor["score"] < 0.3
    assert [m["name"] for m in backdoor["methods"]] == ["stand-in"]
    assert behaviour["file"] == "digits.onnx" and behaviour["probes"] == 300
    assert behaviour["input"] == {"kind": "tensor", "shape": [64], "dtype": "float32",
                                  "layout": "flat"}  # fmt: skip
    assert behaviour["sandbox"]["filesystem"] == "landlock"
    assert behaviour["sandbox"]["network"] == "namespace"
    assert facts.collection.collectors["behaviour"].status == "ok"
    assert outcome_ids(facts)[0] == "allow"


def test_without_probes_it_warns_and_does_not_deny(models: Path, stand_in: str) -> None:
    facts = scan(models / "digits.onnx")
    assert facts.behaviour is not None and facts.behaviour.backdoor.complete is False
    outcome, deny, warn = outcome_ids(facts)
    assert outcome == "allow" and not deny
    assert "backdoor-analysis-incomplete" in warn


def test_one_class_model_is_denied(models: Path, stand_in: str) -> None:
    facts = scan(models / "one_class.onnx", models / "digits.npy")
    assert facts.behaviour is not None and facts.behaviour.backdoor.score is not None
    assert facts.behaviour.backdoor.score > 0.9
    assert facts.behaviour.backdoor.suspected_target == "0"
    assert outcome_ids(facts)[:2] == ("deny", {"backdoor-suspected"})


def test_directory_with_one_onnx_file(models: Path, tmp_path: Path, stand_in: str) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    shutil.copy(models / "reviews.onnx", folder / "classifier.onnx")
    (folder / "README.md").write_text("---\nlicense: mit\n---\n")
    facts = scan(folder, models / "reviews.txt")
    assert facts.behaviour is not None and facts.behaviour.file == "classifier.onnx"
    assert facts.behaviour.backdoor.status == "ok" and facts.behaviour.probes == 3


@pytest.mark.parametrize("count", [0, 2])
def test_no_single_onnx_file_fails_closed(tmp_path: Path, count: int) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "README.md").write_text("---\nlicense: mit\n---\n")
    for i in range(count):
        sandbox_models.linear_softmax(folder / f"m{i}.onnx")
    facts = scan(folder)
    assert facts.behaviour is not None and facts.behaviour.backdoor.status == "unsupported"
    assert outcome_ids(facts)[:2] == ("deny", {"backdoor-analysis-failed"})


def test_refused_graph_is_denied_naming_the_reason(tmp_path: Path, stand_in: str) -> None:
    facts = scan(sandbox_models.custom_op(tmp_path / "custom.onnx"))
    assert facts.behaviour is not None and facts.behaviour.backdoor.status == "refused"
    decision = decide(facts, BUNDLE, EmbeddedEvaluator())
    (finding,) = [f for f in decision.deny if f.id == "backdoor-analysis-failed"]
    assert "custom.onnx" in finding.msg and "evil.ops" in finding.msg


def test_limit_hit_is_denied_unless_configured(tmp_path: Path, stand_in: str) -> None:
    facts = scan(sandbox_models.endless_loop(tmp_path / "loop.onnx"), budget=6)
    assert facts.behaviour is not None
    assert facts.behaviour.backdoor.reason == (
        "loop.onnx: stopped at the wall-clock limit (6 s) while querying the model"
    )
    assert outcome_ids(facts)[:2] == ("deny", {"backdoor-analysis-failed"})
    lenient = PolicyBundle.builtin()
    lenient.config = {**lenient.config, "behaviour": {"deny_on_failure": False}}
    decision = decide(facts, lenient, EmbeddedEvaluator())
    assert decision.outcome == "allow"
    assert "backdoor-analysis-not-run" in {f.id for f in decision.warn}


@pytest.mark.parametrize(
    "result",
    [
        {"status": "ok", "result": {"score": 7.0, "suspected_target": None, "trigger": None,
                                    "methods": [], "complete": True, "note": None},
         "input": {"kind": "tensor", "shape": [4], "dtype": "float32", "layout": None}},
        {"status": "ok", "result": {"score": "high"}},
        {"status": "ok"},
        {"status": "ok", "result": {"score": float("nan"), "suspected_target": None,
                                    "trigger": None, "methods": [], "complete": True},
         "input": {"kind": "tensor", "shape": [4], "dtype": "float32", "layout": None}},
    ],
    ids=["score-out-of-range", "score-not-a-number", "no-result", "nan-score"],
)  # fmt: skip
def test_invalid_child_result_is_an_error(
    models: Path, monkeypatch: pytest.MonkeyPatch, result: dict[str, object]
) -> None:
    monkeypatch.setattr(
        sandbox, "run_analysis", lambda *args, **kwargs: Outcome(result=result, reason=None)
    )
    facts = scan(models / "digits.onnx")
    assert facts.behaviour is not None and facts.behaviour.backdoor.status == "error"
    assert "sent back an invalid result" in str(facts.behaviour.backdoor.reason)
    assert outcome_ids(facts)[:2] == ("deny", {"backdoor-analysis-failed"})


def test_a_runtime_failure_names_the_model(tmp_path: Path, stand_in: str) -> None:
    facts = scan(sandbox_models.huge_allocation(tmp_path / "huge.onnx"))
    assert facts.behaviour is not None and facts.behaviour.backdoor.status == "error"
    assert str(facts.behaviour.backdoor.reason).startswith(
        "huge.onnx: the model exceeded the sandbox memory limit"
    )


def test_a_probe_failure_names_the_probe_file(models: Path, tmp_path: Path, stand_in: str) -> None:
    probes = tmp_path / "clean.npy"
    probes.write_bytes(b"not an array")
    facts = scan(models / "digits.onnx", probes)
    assert facts.behaviour is not None
    assert facts.behaviour.backdoor.reason == (
        "clean.npy: not a .npy array (the model takes a tensor: give a .npy file of shape (N, 64))"
    )


HOSTILE = {
    "custom-op-in-loop-body": lambda d: (sandbox_models.custom_op(d / "m.onnx", nested=True), None),
    "external-data": lambda d: (sandbox_models.external_data(d / "m.onnx"), None),
    "huge-tensor": lambda d: (sandbox_models.huge_allocation(d / "m.onnx"), None),
    "garbage-graph": lambda d: (_write(d / "m.onnx", b"\x08" * 100), None),
    "nan-probes": lambda d: (
        sandbox_models.linear_softmax(d / "m.onnx"),
        _write(d / "p.npy", _npy(np.full((2, 64), np.nan, np.float32))),
    ),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_input_is_never_allowed_by_default(
    tmp_path: Path, stand_in: str, case: str
) -> None:
    model, probes = HOSTILE[case](tmp_path)
    facts = scan(model, probes)
    assert facts.behaviour is not None
    assert facts.behaviour.backdoor.status in ("refused", "error", "unsupported")
    assert str(facts.behaviour.backdoor.reason).startswith(("m.onnx: ", "p.npy: "))
    outcome, deny, _ = outcome_ids(facts)
    assert outcome == "deny" and "backdoor-analysis-failed" in deny
