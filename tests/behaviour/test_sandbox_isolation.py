"""The sandboxed child cannot write outside its temp dir, reach the network, run programs or
see the parent's environment; the isolation that applied is recorded."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from modelward.engine.behaviour import sandbox
from modelward.engine.behaviour.sandbox import Limits, child_environment, run_analysis
from tests.behaviour.conftest import ESCAPE, REPO


def test_child_cannot_escape(models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "ANALYSE", ESCAPE)
    monkeypatch.setattr(sandbox, "IMPORT_PATH", (str(REPO),))
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-for-the-child")
    outside = tmp_path / "escaped.txt"
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(0.5)
        port = server.getsockname()[1]
        probes = tmp_path / "escape.txt"
        probes.write_text(f"{outside}\n127.0.0.1:{port}\n/bin/true\n", encoding="utf-8")
        outcome = run_analysis(models / "reviews.onnx", probes, Limits.for_budget(30))
        with pytest.raises(TimeoutError):
            server.accept()
    assert outcome.result is not None and outcome.result["status"] == "ok", outcome
    found = outcome.result["result"]
    tries = dict(item.split(":") for item in found["trigger"].split())
    assert tries["write"] == "PermissionError"
    assert tries["connect"] != "done"
    assert tries["exec"] == "PermissionError"
    assert tries["write-temp"] == "done"
    assert not outside.exists()
    assert set(found["suspected_target"].split(",")) == set(child_environment(tmp_path))
    assert outcome.isolation["filesystem"] is True


def test_isolation_is_recorded(models: Path, stand_in: str) -> None:
    outcome = run_analysis(models / "digits.onnx", None, Limits.for_budget(30))
    assert outcome.result is not None and outcome.result["status"] == "ok"
    assert outcome.isolation["network_namespace"] is sandbox.network_namespace_available()
    assert outcome.isolation["landlock_abi"] >= 1


def test_without_unshare_the_network_falls_back_to_landlock(
    models: Path, stand_in: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox, "network_namespace_available", lambda: False)
    outcome = run_analysis(models / "digits.onnx", None, Limits.for_budget(30))
    assert outcome.result is not None and outcome.result["status"] == "ok"
    assert outcome.isolation["network_namespace"] is False
    assert outcome.isolation["tcp"] is True  # Landlock denies TCP bind/connect


def test_missing_analysis_module_is_an_error(models: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "ANALYSE", "modelward.engine.behaviour.nowhere:analyse")
    outcome = run_analysis(models / "digits.onnx", None, Limits.for_budget(30))
    assert outcome.result is not None
    assert outcome.result["status"] == "error"
    assert str(outcome.result["reason"]).startswith("the backdoor analysis is not installed")
