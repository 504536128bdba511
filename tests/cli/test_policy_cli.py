"""``eval`` and ``policy test|doc|init`` as users run them."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.cli.helpers import run

REPO = Path(__file__).resolve().parents[2]
REAL_MODEL = REPO / ".cache" / "models" / "all-minilm-l6-v2"
DENIED_SAMPLE = (
    REPO / "policies" / "scan" / "findings" / "samples" / "denied" / "os_system_in_pickle.json"
)


@pytest.fixture(scope="module")
def facts_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("facts") / "facts.json"
    proc = run("facts", str(REAL_MODEL), "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture
def opa_on_path(opa_binary: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{opa_binary.parent}{os.pathsep}{os.environ['PATH']}")


def test_eval_saved_facts_allows_the_real_model(facts_file: Path) -> None:
    proc = run("eval", "--input", str(facts_file), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["decision"]["outcome"] == "allow"


def test_eval_accepts_a_policy_input_and_denies(tmp_path: Path) -> None:
    proc = run("eval", "--input", str(DENIED_SAMPLE))
    assert proc.returncode == 1
    assert "DENY  scan-finding (critical)" in proc.stdout


def test_eval_accepts_a_scan_report(tmp_path: Path, facts_file: Path) -> None:
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"facts": json.loads(facts_file.read_text()), "decision": {}}))
    assert run("eval", "--input", str(report)).returncode == 0


def test_eval_on_opa_matches_embedded(facts_file: Path, opa_on_path: None) -> None:
    embedded = json.loads(run("eval", "-i", str(DENIED_SAMPLE), "-f", "json").stdout)["decision"]
    proc = run("eval", "-i", str(DENIED_SAMPLE), "-f", "json", "--engine", "opa")
    assert proc.returncode == 1, proc.stderr
    on_opa = json.loads(proc.stdout)["decision"]
    assert (on_opa["engine"], embedded["engine"]) == ("opa", "embedded")
    assert on_opa["deny"] == embedded["deny"] and on_opa["warn"] == embedded["warn"]


def test_eval_rejects_what_is_not_facts(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"files": "nope"}')
    proc = run("eval", "--input", str(bad))
    assert proc.returncode == 2
    assert f"{bad}: not a facts document" in proc.stderr
    bad.write_text("{")
    assert "not JSON" in run("eval", "--input", str(bad)).stderr


def test_engine_opa_without_binary_is_a_clear_error(facts_file: Path) -> None:
    env_path = os.environ["PATH"]
    os.environ["PATH"] = "/nonexistent"
    try:
        proc = run("eval", "-i", str(facts_file), "--engine", "opa")
    finally:
        os.environ["PATH"] = env_path
    assert proc.returncode == 2
    assert "--engine opa needs the 'opa' binary on PATH" in proc.stderr


def test_data_file_replaces_config_keys(tmp_path: Path, facts_file: Path) -> None:
    bundle = tmp_path / "bundle"
    assert run("policy", "init", str(bundle)).returncode == 0
    data = tmp_path / "data.yaml"
    data.write_text("max_file_bytes: 1000000\n")
    proc = run("eval", "-i", str(facts_file), "-p", str(bundle), "-d", str(data), "-f", "json")
    assert proc.returncode == 1
    denied = json.loads(proc.stdout)["decision"]["deny"]
    assert [d["msg"] for d in denied] == [
        "model.safetensors is 90868376 bytes, over the 1000000-byte limit"
    ]


@pytest.mark.parametrize("engine", ["embedded", "opa"])
def test_policy_test_passes_on_the_builtin_library(engine: str, opa_on_path: None) -> None:
    proc = run("policy", "test", "--engine", engine)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().endswith(" passed, 0 failed")


@pytest.mark.parametrize("engine", ["embedded", "opa"])
def test_policy_test_reports_a_failing_test(engine: str, tmp_path: Path, opa_on_path: None) -> None:
    assert run("policy", "init", str(tmp_path / "b")).returncode == 0
    test_file = tmp_path / "b" / "custom" / "example" / "policy_test.rego"
    test_file.write_text(
        test_file.read_text() + "\ntest_that_fails if {\n\tcount(policy.deny) == 5\n}\n"
    )
    proc = run("policy", "test", str(tmp_path / "b"), "--engine", engine)
    assert proc.returncode == 1
    assert "FAIL  custom/example/policy_test.rego: test_that_fails" in proc.stdout


def test_policy_docs_have_not_drifted() -> None:
    proc = run(
        "policy",
        "doc",
        str(REPO / "policies"),
        "--docs",
        str(REPO / "docs" / "policies.md"),
        "--check",
    )
    assert proc.returncode == 0, f"run `make docs`: {proc.stdout}"


def test_policy_doc_detects_and_fixes_drift(tmp_path: Path) -> None:
    bundle = tmp_path / "policies"
    shutil.copytree(
        REPO / "policies", bundle, ignore=shutil.ignore_patterns("__pycache__", "__init__.py")
    )
    readme = bundle / "scan" / "findings" / "README.md"
    readme.write_text(readme.read_text().replace("scan-finding-medium", "renamed"))
    proc = run("policy", "doc", str(bundle), "--check")
    assert proc.returncode == 1 and f"out of date: {readme}" in proc.stdout
    assert run("policy", "doc", str(bundle)).returncode == 0
    assert run("policy", "doc", str(bundle), "--check").returncode == 0


def test_policy_init_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "x").write_text("keep me")
    proc = run("policy", "init", str(tmp_path))
    assert proc.returncode == 2 and "already exists and is not empty" in proc.stderr
