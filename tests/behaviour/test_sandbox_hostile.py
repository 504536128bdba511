"""Hostile models and probe inputs in the sandbox: each ends as a clear outcome naming the file
and the reason, with the child's limits actually hit (outcomes asserted, never timings)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from modelward.engine.behaviour.sandbox import Limits, Outcome, run_analysis
from tests.behaviour import sandbox_models

GiB = 1024**3


def analyse(model: Path, probes: Path | None = None, limits: Limits | None = None) -> Outcome:
    return run_analysis(model, probes, limits or Limits.for_budget(30))


def result_of(outcome: Outcome) -> dict[str, object]:
    assert outcome.result is not None, outcome.reason
    return outcome.result


@pytest.mark.parametrize("nested", [False, True], ids=["main-graph", "loop-body"])
def test_non_standard_op_is_refused_before_it_runs(
    tmp_path: Path, stand_in: str, nested: bool
) -> None:
    model = sandbox_models.custom_op(tmp_path / "custom.onnx", nested=nested)
    result = result_of(analyse(model))
    assert result["status"] == "refused"
    assert "custom.onnx" in str(result["reason"]) and "evil.ops" in str(result["reason"])


def test_external_data_is_refused(tmp_path: Path, stand_in: str) -> None:
    result = result_of(analyse(sandbox_models.external_data(tmp_path / "ext.onnx")))
    assert result["status"] == "refused"
    assert "ext.onnx" in str(result["reason"]) and "another file" in str(result["reason"])


def test_huge_allocation_fails_at_the_memory_limit(tmp_path: Path, stand_in: str) -> None:
    result = result_of(analyse(sandbox_models.huge_allocation(tmp_path / "huge.onnx")))
    assert result["status"] == "error"
    assert "memory limit" in str(result["reason"])


def test_the_memory_limit_is_what_stops_an_allocation(tmp_path: Path, stand_in: str) -> None:
    """The same 1 GiB allocation passes under a 3 GiB limit and fails under a 1 GiB one."""
    model = sandbox_models.huge_allocation(tmp_path / "gib.onnx", floats_log2=28)
    roomy = result_of(analyse(model, limits=Limits(wall_seconds=30, memory_bytes=3 * GiB)))
    assert roomy["status"] == "ok", roomy
    tight = result_of(analyse(model, limits=Limits(wall_seconds=30, memory_bytes=GiB)))
    assert tight["status"] == "error" and "memory limit" in str(tight["reason"])


def test_endless_loop_stops_at_the_cpu_limit(tmp_path: Path, stand_in: str) -> None:
    model = sandbox_models.endless_loop(tmp_path / "loop.onnx")
    outcome = analyse(model, limits=Limits(wall_seconds=120, cpu_seconds=3))
    assert outcome.result is None
    assert outcome.reason == "stopped at the CPU time limit (3 s) while querying the model"


def test_endless_loop_stops_at_the_wall_clock_limit(tmp_path: Path, stand_in: str) -> None:
    model = sandbox_models.endless_loop(tmp_path / "loop.onnx")
    outcome = analyse(model, limits=Limits(wall_seconds=6, cpu_seconds=600))
    assert outcome.result is None
    assert outcome.reason == "stopped at the wall-clock limit (6 s) while querying the model"


def write_npy(path: Path, array: np.ndarray) -> Path:
    np.save(path, array, allow_pickle=True)
    return path


BAD_PROBES = {
    "wrong_shape.npy": (
        lambda p: write_npy(p, np.zeros((5, 10), np.float32)),
        "samples of shape (10,) do not fit the model input (64)",
    ),
    "strings.npy": (
        lambda p: write_npy(p, np.array([["a"] * 64])),
        "text probes given, but the model takes a numeric tensor",
    ),
    "nan.npy": (
        lambda p: write_npy(p, np.full((3, 64), np.nan, np.float32)),
        "the array holds NaN or infinite values",
    ),
    "empty.npy": (
        lambda p: write_npy(p, np.zeros((0, 64), np.float32)),
        "the array holds no samples (shape (0, 64))",
    ),
    "objects.npy": (
        lambda p: write_npy(p, np.array([{"__reduce__": 1}], dtype=object)),
        "Object arrays cannot be loaded when allow_pickle=False",
    ),
    "truncated.npy": (
        lambda p: p.write_bytes(b"\x93NUMPY\x01\x00v\x00{'descr'"),
        "not a plain .npy array",
    ),
    "notes.txt": (
        lambda p: p.write_text("one\ntwo\n"),
        "not a .npy array (the model takes a tensor",
    ),
    "blank.npy": (lambda p: p.write_bytes(b"\n\n"), "the probe input file is empty"),
}


@pytest.mark.parametrize("name", sorted(BAD_PROBES))
def test_bad_probe_inputs_are_an_error_naming_the_file(
    models: Path, tmp_path: Path, stand_in: str, name: str
) -> None:
    make, reason = BAD_PROBES[name]
    probes = tmp_path / name
    make(probes)
    result = result_of(analyse(models / "digits.onnx", probes))
    assert result["status"] == "error"
    assert str(result["reason"]).startswith(f"{name}: ")
    assert reason in str(result["reason"])


def test_text_probes_must_be_utf8(models: Path, tmp_path: Path, stand_in: str) -> None:
    probes = tmp_path / "latin1.txt"
    probes.write_bytes(b"caf\xe9 au lait\n")
    result = result_of(analyse(models / "reviews.onnx", probes))
    assert result == {"status": "error", "reason": "latin1.txt: not UTF-8 text (byte 3)"}


def test_numeric_probes_for_a_text_model(models: Path, stand_in: str) -> None:
    result = result_of(analyse(models / "reviews.onnx", models / "digits.npy"))
    assert result["status"] == "error"
    assert "a numeric array given, but the model takes text" in str(result["reason"])


def test_garbage_model_is_refused(tmp_path: Path, stand_in: str) -> None:
    model = tmp_path / "noise.onnx"
    model.write_bytes(b"\xff" * 64)
    result = result_of(analyse(model))
    assert result["status"] == "refused"
    assert str(result["reason"]).startswith("noise.onnx: not a readable ONNX model")


def test_child_flooding_the_pipe_is_stopped(models: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from modelward.engine.behaviour import sandbox
    from tests.behaviour.conftest import REPO

    monkeypatch.setattr(sandbox, "ANALYSE", "tests.behaviour.sandbox_stand_in:flood")
    monkeypatch.setattr(sandbox, "IMPORT_PATH", (str(REPO),))
    outcome = analyse(models / "digits.onnx")
    assert outcome.result is None
    assert (
        outcome.reason == f"stopped: more than {sandbox.MAX_OUTPUT} bytes of output while analysing"
    )
