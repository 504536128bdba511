"""``scan``/``facts``/``vet`` with ``--behaviour``: the command reviewers run, the flags, the
configuration switch and the evidence in table and SARIF reports."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from modelward.cli.main import app
from modelward.cli.vet_options import VetOptionError
from tests.behaviour import sandbox_models
from tests.cli.helpers import MODELWARD

RUNNER = CliRunner()


def invoke(*args: str | Path) -> Any:
    return RUNNER.invoke(app, [str(a) for a in args])


def scan_json(*args: str | Path) -> tuple[int, dict[str, Any]]:
    result = invoke("scan", *args, "--format", "json")
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def test_reviewer_command_on_a_file(models: Path, stand_in: str) -> None:
    code, report = scan_json(
        models / "digits.onnx", "--behaviour", "--probe-inputs", models / "digits.npy"
    )
    score = report["facts"]["behaviour"]["backdoor"]["score"]
    assert code == 0 and 0.0 <= score < 0.3
    code, report = scan_json(
        models / "one_class.onnx", "--behaviour", "--probe-inputs", models / "digits.npy"
    )
    assert code == 1 and report["facts"]["behaviour"]["backdoor"]["score"] > 0.9
    assert {f["id"] for f in report["decision"]["deny"]} == {"backdoor-suspected"}


def test_reviewer_command_on_a_directory(models: Path, tmp_path: Path, stand_in: str) -> None:
    folder = tmp_path / "trojaned"
    folder.mkdir()
    shutil.copy(models / "one_class.onnx", folder / "model.onnx")
    code, report = scan_json(folder, "--behaviour", "--probe-inputs", models / "digits.npy")
    assert code == 1
    assert report["facts"]["behaviour"]["file"] == "model.onnx"


def test_probe_inputs_imply_behaviour_and_budget_is_recorded(models: Path, stand_in: str) -> None:
    result = invoke(
        "facts", models / "reviews.onnx", "--probe-inputs", models / "reviews.txt",
        "--behaviour-budget", "20",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    behaviour = json.loads(result.stdout)["behaviour"]
    assert behaviour["backdoor"]["status"] == "ok" and behaviour["probes"] == 3
    assert behaviour["sandbox"]["wall_seconds"] == 20


def test_missing_probe_file_is_a_usage_error(models: Path) -> None:
    result = invoke("scan", models / "digits.onnx", "--probe-inputs", models / "absent.npy")
    assert result.exit_code == 2
    assert "absent.npy" in result.output


def test_config_switch_enables_the_analysis(models: Path, tmp_path: Path, stand_in: str) -> None:
    data = tmp_path / "config.yaml"
    data.write_text("behaviour:\n  enabled: true\n  threshold: 1.0\n", encoding="utf-8")
    code, report = scan_json(models / "one_class.onnx", "--data", data)
    assert report["facts"]["behaviour"]["backdoor"]["status"] == "ok"
    assert code == 0  # nothing scores above a threshold of 1.0
    warned = {f["id"] for f in report["decision"]["warn"]}
    assert {"backdoor-possible", "backdoor-analysis-incomplete"} <= warned


def test_table_shows_the_evidence(models: Path, stand_in: str) -> None:
    result = invoke("scan", models / "one_class.onnx", "--probe-inputs", models / "digits.npy")
    assert result.exit_code == 1
    text = result.stdout
    assert "behaviour  one_class.onnx: backdoor score 1.00 (complete, 300 probe input(s))" in text
    assert "suspected target 0" in text
    assert "sandbox: network namespace, filesystem landlock" in text
    assert "DENY  backdoor-suspected (high)" in text


def test_table_shows_why_the_analysis_failed(tmp_path: Path, stand_in: str) -> None:
    model = sandbox_models.custom_op(tmp_path / "custom.onnx")
    result = invoke("scan", model, "--behaviour")
    assert result.exit_code == 1
    assert "behaviour  custom.onnx: refused" in result.stdout
    assert "DENY  backdoor-analysis-failed (high)" in result.stdout


def test_sarif_carries_the_evidence(models: Path, stand_in: str) -> None:
    result = invoke(
        "scan", models / "one_class.onnx", "--probe-inputs", models / "digits.npy",
        "--format", "sarif",
    )  # fmt: skip
    run = json.loads(result.stdout)["runs"][0]
    (found,) = [r for r in run["results"] if r["ruleId"] == "backdoor-suspected"]
    evidence = found["properties"]["behaviour"]
    assert evidence["status"] == "ok" and evidence["score"] > 0.9
    assert evidence["suspected_target"] == "0"
    assert evidence["methods"][0]["name"] == "stand-in"
    location = found["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location["uri"] == "one_class.onnx"


def test_vet_from_refuses_probe_inputs(models: Path, tmp_path: Path) -> None:
    listing = tmp_path / "models.txt"
    listing.write_text(f"{models / 'digits.onnx'}\n")
    result = invoke(
        "vet", "--from", listing, "--probe-inputs", models / "digits.npy",
        "--signing-key", tmp_path / "none.key",
    )  # fmt: skip
    assert isinstance(result.exception, VetOptionError)
    assert "--probe-inputs cannot be used with --from" in str(result.exception)


def test_default_scan_loads_no_behaviour_code(tmp_path: Path) -> None:
    """Without --behaviour neither the sandbox nor onnxruntime is imported."""
    model = sandbox_models.linear_softmax(tmp_path / "m.onnx")
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", str(MODELWARD), "scan", str(model), "-q"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines()}
    for module in ("modelward.engine.behaviour.sandbox", "modelward.engine.collectors.behaviour",
                   "modelward.engine.behaviour.graph", "onnxruntime"):  # fmt: skip
        assert module not in imported


@pytest.mark.parametrize("flag", ["--behaviour", "--probe-inputs", "--behaviour-budget"])
def test_flags_are_listed_in_help(flag: str) -> None:
    for command in ("scan", "facts", "vet"):
        result = invoke(command, "--help")
        assert flag in result.output


def test_missing_extra_is_named(models: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from modelward.cli import options
    from modelward.engine.extras import MissingExtra

    monkeypatch.setattr(options, "find_spec", lambda name: None)
    result = invoke("scan", models / "digits.onnx", "--behaviour")
    assert isinstance(result.exception, MissingExtra)
    assert "pip install 'modelward[behaviour]'" in str(result.exception)


def test_progress_bars_share_one_display() -> None:
    from modelward.cli.progress import collect_progress

    with collect_progress(100, True, enabled=True) as (hashed, analysed):
        assert hashed is not None and analysed is not None
        hashed(40)
        analysed(None, "loading the model")
        analysed(0.5, "trigger search")
        analysed(7.0, "out of range is clamped")
    with collect_progress(100, True, enabled=False) as bars:
        assert bars == (None, None)


def test_vet_signs_the_behaviour_facts(models: Path, tmp_path: Path, stand_in: str) -> None:
    assert invoke("keys", "generate", "--out-dir", tmp_path).exit_code == 0
    result = invoke(
        "vet", models / "one_class.onnx", "--probe-inputs", models / "digits.npy",
        "--signing-key", tmp_path / "verdict.key", "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["facts"]["behaviour"]["backdoor"]["suspected_target"] == "0"
    assert {f["id"] for f in report["decision"]["deny"]} == {"backdoor-suspected"}
