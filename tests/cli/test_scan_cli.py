"""The scan, facts and schema commands as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from tests.cli.helpers import run, scan_json

REPO = Path(__file__).resolve().parents[2]
REAL_MODEL = REPO / ".cache" / "models" / "all-minilm-l6-v2"


@pytest.fixture(scope="module")
def evil_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "evil_model.pt"
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make_demo_pickle.py"), str(out)], check=True
    )
    return out


def test_version() -> None:
    proc = run("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == "modelward 0.1.0"


def test_real_model_is_allowed() -> None:
    code, doc = scan_json(REAL_MODEL)
    assert code == 0
    assert doc["decision"]["outcome"] == "allow"
    assert "safetensors" in doc["facts"]["formats"]


def test_generated_malicious_checkpoint_is_denied(evil_checkpoint: Path) -> None:
    code, doc = scan_json(evil_checkpoint)
    assert code == 1
    assert doc["decision"]["outcome"] == "deny"
    assert doc["facts"]["files"][0]["format"] == "pytorch-zip"
    assert not (evil_checkpoint.parent / "LOADED-A-MALICIOUS-MODEL").exists()


def test_json_output_is_exactly_one_object() -> None:
    proc = run("scan", str(REAL_MODEL), "--format", "json")
    doc = json.loads(proc.stdout)  # raises if there is anything besides one JSON document
    assert set(doc) == {"facts", "decision"}
    assert set(doc["decision"]) >= {"outcome", "deny", "warn"}
    assert proc.stderr == ""  # no progress bar when not on a terminal


def test_table_output_names_the_outcome(evil_checkpoint: Path) -> None:
    proc = run("scan", str(evil_checkpoint))
    assert proc.returncode == 1
    assert "decision: DENY" in proc.stdout
    assert "DENY  unsafe-serialization (high)" in proc.stdout
    assert "fix:" in proc.stdout


def test_sarif_output(evil_checkpoint: Path) -> None:
    proc = run("scan", str(evil_checkpoint), "--format", "sarif")
    assert proc.returncode == 1
    sarif = json.loads(proc.stdout)
    assert sarif["version"] == "2.1.0"
    run_ = sarif["runs"][0]
    rule_ids = {r["id"] for r in run_["tool"]["driver"]["rules"]}
    assert {r["ruleId"] for r in run_["results"]} <= rule_ids
    assert any(
        r["level"] == "error" and r["ruleId"] == "unsafe-serialization" for r in run_["results"]
    )


def test_output_file(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    proc = run("scan", str(REAL_MODEL), "--format", "json", "--output", str(out))
    assert proc.returncode == 0 and proc.stdout == ""
    assert json.loads(out.read_text())["decision"]["outcome"] == "allow"


def test_facts_prints_the_facts_object_and_validates() -> None:
    proc = run("facts", str(REAL_MODEL))
    assert proc.returncode == 0
    facts = json.loads(proc.stdout)
    assert facts["schema"] == "modelward.dev/facts/v1"
    schema = json.loads(run("schema", "facts").stdout)
    jsonschema.Draft202012Validator(schema).validate(facts)


def test_custom_policy_bundle(tmp_path: Path) -> None:
    (tmp_path / "main.rego").write_text(
        "package modelward.main\n\nimport data.modelward.lib\n\n"
        'deny contains lib.finding("no-json", f.path) if {\n'
        '  some f in input.model.files\n  f.format == "json"\n}\n'
    )
    (tmp_path / "lib.rego").write_text(
        'package modelward.lib\n\nfinding(id, msg) := {"id": id, "msg": msg}\n'
    )
    code, doc = scan_json(REAL_MODEL, "--policy", str(tmp_path))
    assert code == 1
    assert {d["id"] for d in doc["decision"]["deny"]} == {"no-json"}


def test_policy_without_deny_entry_point_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "x.rego").write_text("package other\n\nallow := true\n")
    proc = run("scan", str(REAL_MODEL), "--policy", str(tmp_path))
    assert proc.returncode == 2
    assert "defines no data.modelward.main.deny rule" in proc.stderr


def test_policy_evaluation_error_is_never_allow(tmp_path: Path) -> None:
    (tmp_path / "main.rego").write_text(
        "package modelward.main\n\ndeny contains x if {\n  x := 1 / 0\n}\n"
    )
    proc = run("scan", str(REAL_MODEL), "--format", "json", "--policy", str(tmp_path))
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["decision"]["outcome"] == "error"


def test_rego_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "main.rego").write_text("package modelward.main\n\ndeny contains x if {\n")
    proc = run("scan", str(REAL_MODEL), "--policy", str(tmp_path))
    assert proc.returncode == 2
    assert f"error: {tmp_path}/main.rego:4:1: expecting expression" in proc.stderr
    assert "backtrace" not in proc.stderr


def test_rule_without_metadata_is_refused(tmp_path: Path) -> None:
    (tmp_path / "p.rego").write_text("package modelward.policies.x.y\n\ndeny contains 1 if true\n")
    proc = run("scan", str(REAL_MODEL), "--policy", str(tmp_path))
    assert proc.returncode == 2
    assert "p.rego:3:1: deny rule has no METADATA block" in proc.stderr


def test_unsupported_reference_is_an_error() -> None:
    proc = run("scan", "pvc://claim/model")
    assert proc.returncode == 2
    assert "not supported yet" in proc.stderr
