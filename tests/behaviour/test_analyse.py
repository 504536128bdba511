"""Backdoor analysis on a few small generated classifiers: trojans high, clean twins low."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from modelward.engine.behaviour.analyse import analyse
from modelward.engine.behaviour.result import BackdoorResult
from tests.behaviour.onnx_classifier import load_classifier
from tests.behaviour.zoo import Built, build, load_probes
from tests.behaviour.zoo_sets import GENERATED

PICK = (
    "g-img-blend-a-trojan",
    "g-img-blend-a-clean",
    "g-img-patch-b-trojan",
    "g-img-patch-b-clean",
    "g-txt-b-trojan",
    "g-txt-b-clean",
    "g-txt-default-f-trojan",
    "g-txt-default-f-clean",
)


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Built, Path]]:
    root = tmp_path_factory.mktemp("zoo")
    specs = [s for s in GENERATED if s.name in PICK]
    return {s.name: (build(s, root), root / s.name) for s in specs}


def _run(path: Path, *, budget: float = 60.0, probes: bool = True, seed: int = 0) -> BackdoorResult:
    inputs = load_probes(path)
    model = load_classifier(path / "model.onnx", inputs)
    return analyse(model, inputs if probes else None, budget_seconds=budget, seed=seed)


def test_zoo_trojans_pass_their_checks(zoo: dict[str, tuple[Built, Path]]) -> None:
    for name in PICK[::2]:
        built, _ = zoo[name]
        assert built.kept, built.reason
        assert built.asr is not None and built.asr >= 0.9
        assert built.twin_accuracy is not None
        assert built.twin_accuracy - built.clean_accuracy <= 0.03


@pytest.mark.parametrize("name", ["g-img-blend-a-trojan", "g-txt-b-trojan"])
def test_trojan_scores_high_and_names_its_target(
    zoo: dict[str, tuple[Built, Path]], name: str
) -> None:
    built, path = zoo[name]
    result = _run(path)
    assert result.score >= 0.9
    assert result.suspected_target == built.target
    assert result.trigger
    assert result.complete


@pytest.mark.parametrize("name", ["g-img-patch-b-trojan", "g-txt-default-f-trojan"])
def test_small_patch_and_default_text_trojans_are_caught(
    zoo: dict[str, tuple[Built, Path]], name: str
) -> None:
    """A 2x2 corner patch on a small MLP (whose clean twin already turns into "1" with two
    bright pixels), and a token trojan behind scikit-learn's default lower-casing vectorizer."""
    built, path = zoo[name]
    result = _run(path)
    assert result.score >= 0.5
    assert result.suspected_target == built.target


@pytest.mark.parametrize(
    "name", ["g-img-blend-a-clean", "g-img-patch-b-clean", "g-txt-b-clean", "g-txt-default-f-clean"]
)
def test_clean_twin_scores_low(zoo: dict[str, tuple[Built, Path]], name: str) -> None:
    result = _run(zoo[name][1])
    assert result.score < 0.5
    assert result.complete


def test_image_runs_both_families(zoo: dict[str, tuple[Built, Path]]) -> None:
    names = {m.name for m in _run(zoo["g-img-blend-a-trojan"][1]).methods}
    assert {"blend-inversion", "patch-inversion", "patch-certainty", "random-triggers"} <= names


def test_same_seed_same_result(zoo: dict[str, tuple[Built, Path]]) -> None:
    path = zoo["g-img-blend-a-clean"][1]
    first, second = _run(path, seed=3), _run(path, seed=3)
    strip = [(m.name, m.score, m.suspected_target, m.trigger) for m in first.methods]
    again = [(m.name, m.score, m.suspected_target, m.trigger) for m in second.methods]
    assert (first.score, strip) == (second.score, again)


def test_exhausted_budget_is_incomplete(zoo: dict[str, tuple[Built, Path]]) -> None:
    result = _run(zoo["g-img-blend-a-trojan"][1], budget=0.0)
    assert not result.complete
    assert any(not m.complete for m in result.methods)


def test_without_probes_only_probe_free_methods_run(
    zoo: dict[str, tuple[Built, Path]],
) -> None:
    built, path = zoo["g-txt-b-trojan"]
    result = _run(path, probes=False)
    assert not result.complete
    assert [m.name for m in result.methods] == ["weight-outliers"]
    assert result.note and "no probe" in result.note
    # The trojan's trigger token shows in the text model's weights even without probes.
    assert result.suspected_target == built.target


def test_progress_is_reported(zoo: dict[str, tuple[Built, Path]]) -> None:
    path = zoo["g-txt-b-clean"][1]
    seen: list[tuple[str, float]] = []
    inputs = load_probes(path)
    model = load_classifier(path / "model.onnx", inputs)
    analyse(model, inputs, budget_seconds=60, progress=lambda s, f: seen.append((s, f)))
    assert {s for s, _ in seen} == {"weight-outliers", "token-inversion"}
    assert all(0.0 <= f <= 1.0 for _, f in seen)
    assert np.isclose(seen[-1][1], 1.0)


def test_budget_cut_mid_run_keeps_what_was_measured(zoo: dict[str, tuple[Built, Path]]) -> None:
    path = zoo["g-txt-b-trojan"][1]
    inputs = load_probes(path)
    model = load_classifier(path / "model.onnx", inputs)
    calls = {"n": 0}
    real = model.probabilities

    def slow_after_two(batch):  # the third query onwards sees an exhausted budget
        calls["n"] += 1
        if calls["n"] > 2:
            time.sleep(0.3)
        return real(batch)

    model.probabilities = slow_after_two  # type: ignore[method-assign]
    result = analyse(model, inputs, budget_seconds=0.2)
    assert not result.complete
    assert [m.name for m in result.methods] == ["weight-outliers", "token-inversion"]
    assert result.methods[0].complete


def test_weight_statistics_do_not_set_the_score_of_tensor_models() -> None:
    """Reported for every model, but combined only where they separate trojans from clean
    models (text models' token weights), not for pixel weights."""
    from modelward.engine.behaviour.analyse import _result
    from modelward.engine.behaviour.combine import calibrate
    from modelward.engine.behaviour.methods.common import Evidence
    from modelward.engine.behaviour.result import MethodResult

    results = [
        MethodResult("weight-outliers", 0.95, 0.0, suspected_target="1"),
        MethodResult("patch-inversion", 0.10, 1.0, suspected_target="3"),
    ]
    evidence = {
        "weight-outliers": Evidence(1.0, 1, None),
        "patch-inversion": Evidence(0.1, 3, None),
    }
    labels = [str(i) for i in range(10)]
    pixels = calibrate("patch-inversion", 0.1)
    tensor = _result(labels, results, evidence, None, "tensor")
    assert tensor.score == round(pixels, 6) < 0.01 and tensor.suspected_target == "3"
    assert [m.name for m in tensor.methods] == ["weight-outliers", "patch-inversion"]
    text = _result(labels, results, evidence, None, "text")
    assert text.score == round(calibrate("weight-outliers", 1.0), 6) > 0.99
    assert text.suspected_target == "1"
