"""Classifiers of several shapes through the sandbox: what the analysis sees of each."""

from __future__ import annotations

from pathlib import Path

from modelward.engine.behaviour.sandbox import STARTUP_SECONDS, Limits, run_analysis
from tests.behaviour import sandbox_models


def test_progress_and_result_come_back(models: Path, stand_in: str) -> None:
    seen: list[tuple[float | None, str]] = []
    outcome = run_analysis(
        models / "digits.onnx",
        models / "digits.npy",
        Limits.for_budget(30),
        lambda fraction, label: seen.append((fraction, label)),
    )
    assert outcome.result is not None
    assert outcome.result["status"] == "ok"
    assert (0.5, "stand-in") in seen
    assert (None, "loading the model") in seen
    assert outcome.result["input"] == {
        "kind": "tensor", "shape": [64], "dtype": "float32", "layout": "flat",
    }  # fmt: skip
    assert outcome.result["labels"] == [str(i) for i in range(10)]
    assert outcome.result["probes"] == {"count": 300, "total": 300}
    budget = float(outcome.result["result"]["trigger"].split()[0].removeprefix("budget="))
    assert 1 <= budget <= 30 - STARTUP_SECONDS  # the analysis gets what start-up leaves


def test_fixed_batch_image_model_with_unnamed_classes(
    models: Path, tmp_path: Path, stand_in: str
) -> None:
    """Batch 1 fixed in the graph, logits of symbolic width: queried one sample at a time,
    classes numbered from the score width, flat probes reshaped to the image."""
    model = sandbox_models.fixed_batch_logits(tmp_path / "cnn.onnx")
    outcome = run_analysis(model, models / "digits.npy", Limits.for_budget(30))
    assert outcome.result is not None and outcome.result["status"] == "ok", outcome
    assert outcome.result["input"] == {
        "kind": "tensor", "shape": [1, 8, 8], "dtype": "float32", "layout": "chw",
    }  # fmt: skip
    assert outcome.result["labels"] == [str(i) for i in range(10)]
    assert 0.0 < outcome.result["result"]["score"] < 1.0


def test_label_only_classifier_learns_its_labels_from_the_probes(
    models: Path, tmp_path: Path, stand_in: str
) -> None:
    model = sandbox_models.label_only(tmp_path / "labels.onnx")
    outcome = run_analysis(model, models / "digits.npy", Limits.for_budget(30))
    assert outcome.result is not None and outcome.result["status"] == "ok", outcome
    labels = outcome.result["labels"]
    assert labels and set(labels) <= {"0", "1", "2", "3"}
    assert labels == sorted(labels)
    # one-hot rows: the mean top probability is the share of the most common answer
    assert 1 / len(labels) <= outcome.result["result"]["score"] <= 1.0


def test_label_only_classifier_without_probes_is_unsupported(tmp_path: Path, stand_in: str) -> None:
    model = sandbox_models.label_only(tmp_path / "labels.onnx")
    outcome = run_analysis(model, None, Limits.for_budget(30))
    assert outcome.result == {
        "status": "unsupported",
        "reason": "labels.onnx: the graph names no class labels (give probe inputs to learn them)",
    }


def test_a_skl2onnx_text_pipeline_runs_whatever_locales_the_host_has(models: Path) -> None:
    """skl2onnx lower-cases with a StringNormalizer naming no locale (onnxruntime then needs
    en_US.UTF-8); the session swaps in an installed locale when that one is missing."""
    import onnx

    from modelward.engine.behaviour.graph import read_graph
    from modelward.engine.behaviour.session import (
        _installed,
        make_session,
        with_installed_locales,
    )

    info, raw = read_graph(models / "reviews.onnx")
    normalizers = [
        n for n in onnx.load_from_string(with_installed_locales(raw)).graph.node
        if n.op_type == "StringNormalizer"
    ]  # fmt: skip
    assert normalizers
    for node in normalizers:
        named = {a.name: a.s.decode() for a in node.attribute}.get("locale", "en_US.UTF-8")
        assert _installed(named)
    session = make_session(raw, 1)
    scores = session.run(None, {info.input_name: [["GREAT movie"], ["awful FILM"]]})[1]
    assert scores[0][1] > 0.5 > scores[1][1]  # lower-cased: the upper-case words still count
