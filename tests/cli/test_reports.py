"""Reports as a user reads them: the table, --quiet/--summary, colour, SARIF locations, and the
policy commands' output."""

from __future__ import annotations

import json
import os
import pty
import re
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import MODELWARD, run, scan_json
from tests.scan.builders import Member, call_pickle, safetensors_bytes, system_pickle, zip_bytes

LONG_NAME = "a-model-file-with-a-very-long-name-" + "x" * 120 + ".safetensors"


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A denied model: a process-running pickle inside a zip, an unknown import, long names."""
    root = tmp_path_factory.mktemp("reports") / "model"
    root.mkdir()
    canary = root.parent / "LOADED"
    member = Member("archive/data.pkl", system_pickle(str(canary)))
    (root / "bundle.zip").write_bytes(zip_bytes([member]))
    (root / "custom.pkl").write_bytes(call_pickle("acme.models", "Net", "weights"))
    tensor = {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    (root / LONG_NAME).write_bytes(safetensors_bytes(tensor, b"\x00" * 8))
    return root


@pytest.fixture(scope="module")
def clean_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clean") / "model.safetensors"
    tensor = {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    path.write_bytes(safetensors_bytes(tensor, b"\x00" * 8))
    return path


@pytest.fixture(scope="module")
def report(model: Path) -> dict[str, Any]:
    code, doc = scan_json(model)
    assert code == 1
    return doc


@pytest.fixture(scope="module")
def table(model: Path) -> str:
    proc = run("scan", str(model))
    assert proc.returncode == 1, proc.stderr
    return proc.stdout


def test_table_ends_with_the_decision_and_a_summary(table: str, report: dict[str, Any]) -> None:
    *_, decision, summary = table.splitlines()
    assert decision == "decision: DENY"
    facts, verdict = report["facts"], report["decision"]
    severities = [f["severity"] for f in facts["scan"]["findings"]]
    counted = ", ".join(
        f"{severities.count(s)} {s}"
        for s in ("critical", "high", "medium", "low", "info")
        if s in severities
    )
    assert summary == (
        f"{len(facts['files'])} files, {len(severities)} findings ({counted}), "
        f"{len(verdict['deny'])} deny, {len(verdict['warn'])} warn"
    )
    assert "critical" in counted and len(verdict["deny"]) > 0 and len(verdict["warn"]) > 0


def test_each_finding_appears_once(table: str, report: dict[str, Any]) -> None:
    flat = " ".join(table.split())
    findings = report["facts"]["scan"]["findings"]
    assert len(findings) >= 3
    for finding in findings:
        assert flat.count(" ".join(finding["message"].split())) == 1, finding["message"]
    for result in report["decision"]["deny"] + report["decision"]["warn"]:
        assert flat.count(" ".join(result["msg"].split())) == 1, result["msg"]


def test_each_rule_prints_its_fix_once(table: str, report: dict[str, Any]) -> None:
    flat = " ".join(table.split())
    for result in report["decision"]["deny"] + report["decision"]["warn"]:
        if result["remediation"]:
            assert flat.count("fix: " + " ".join(result["remediation"].split())) == 1


def test_table_fits_100_columns(table: str) -> None:
    assert max(len(line) for line in table.splitlines()) <= 100
    assert LONG_NAME[-40:] in table  # a long name is shortened from the left, its end kept


def test_quiet_prints_only_the_decision(model: Path, clean_model: Path, tmp_path: Path) -> None:
    denied = run("scan", str(model), "--quiet")
    assert (denied.returncode, denied.stdout) == (1, "decision: DENY\n")
    allowed = run("scan", str(clean_model), "-q")
    assert (allowed.returncode, allowed.stdout) == (0, "decision: ALLOW\n")
    out = tmp_path / "report.json"
    with_file = run("scan", str(model), "-q", "-f", "json", "-o", str(out))
    assert with_file.stdout == "decision: DENY\n"
    assert json.loads(out.read_text())["decision"]["outcome"] == "deny"


def test_summary_prints_the_decision_and_the_summary(model: Path, table: str) -> None:
    proc = run("scan", str(model), "--summary")
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == table.splitlines()[-2:]


def _on_a_terminal(*args: str, env: dict[str, str]) -> str:
    """Run modelward with stdout on a pseudo-terminal; return what it printed."""
    main, sub = pty.openpty()
    process = subprocess.Popen([str(MODELWARD), *args], stdout=sub, stderr=subprocess.DEVNULL,
                               stdin=subprocess.DEVNULL, env=env)  # fmt: skip
    os.close(sub)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the terminal closes when the process ends
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main)
    assert process.wait(timeout=120) == 1
    return b"".join(chunks).decode()


def test_colour_only_on_a_terminal_and_never_with_no_color(model: Path, table: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    coloured = _on_a_terminal("scan", str(model), env=env)
    assert "decision: \x1b[31;1mDENY\x1b[0m" in coloured
    assert "\x1b[" not in table  # piped: no colour
    plain = _on_a_terminal("scan", str(model), env={**env, "NO_COLOR": "1"})
    assert "decision: DENY" in plain and "\x1b[" not in plain


def test_fix_text_fits_the_rule(report: dict[str, Any]) -> None:
    """A warn cannot be exempted (an exemption turns a deny into a warn), so no warn's fix
    recommends one; an unreviewed import is accepted with allowed_imports."""
    warns = report["decision"]["warn"]
    medium = [w for w in warns if w["id"] == "scan-finding-medium"]
    assert medium and "pickle.global.unknown" in medium[0]["msg"]
    assert "allowed_imports" in medium[0]["remediation"]
    for warn in warns:
        assert "exemption" not in warn["remediation"], warn


def test_sarif_points_at_the_archive_member(model: Path, report: dict[str, Any]) -> None:
    proc = run("scan", str(model), "--format", "sarif")
    assert proc.returncode == 1
    sarif_run = json.loads(proc.stdout)["runs"][0]
    artifacts, results = sarif_run["artifacts"], sarif_run["results"]
    [denied] = [r for r in results if "os.system" in r["message"]["text"]]
    assert denied["ruleId"] == "scan-finding" and denied["level"] == "error"
    assert denied["properties"]["finding"] == "pickle.global.denied"
    where = denied["locations"][0]["physicalLocation"]["artifactLocation"]
    assert where["uri"] == "archive/data.pkl"
    member = artifacts[where["index"]]
    assert member["location"]["uri"] == "archive/data.pkl"
    assert artifacts[member["parentIndex"]]["location"]["uri"] == "bundle.zip"
    decision = report["decision"]
    assert len(results) == len(decision["deny"]) + len(decision["warn"])  # each finding once


def test_eval_reads_facts_from_stdin(model: Path, report: dict[str, Any]) -> None:
    command = [str(MODELWARD), "eval", "--input", "-", "-f", "json"]
    proc = subprocess.run(
        command, input=json.dumps(report), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["decision"]["deny"] == report["decision"]["deny"]
    bad = subprocess.run([str(MODELWARD), "eval", "-i", "-"], input="{not json",
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert bad.returncode == 2 and bad.stderr.startswith("error: stdin: not JSON")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_opa_url_implies_the_opa_engine(
    opa_binary: Path, clean_model: Path, tmp_path: Path
) -> None:
    facts = tmp_path / "facts.json"
    facts.write_text(run("facts", str(clean_model)).stdout)
    port = _free_port()
    server = subprocess.Popen([str(opa_binary), "run", "--server", "--addr", f"127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        url = f"http://127.0.0.1:{port}"
        proc = run("eval", "-i", str(facts), "--opa-url", url, "-f", "json")
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["decision"]["engine"] == "opa"


def test_policy_test_prints_failures_and_a_count_unless_verbose() -> None:
    quiet = run("policy", "test")
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    passed = re.fullmatch(r"(\d+) passed, 0 failed\n", quiet.stdout)
    assert passed and int(passed.group(1)) > 10
    verbose = run("policy", "test", "-v")
    lines = verbose.stdout.splitlines()
    assert len(lines) == int(passed.group(1)) + 1
    assert all(line.startswith("PASS  ") for line in lines[:-1])


def test_policy_init_output_passes_policy_doc_check(tmp_path: Path) -> None:
    target = tmp_path / "bundle"
    assert run("policy", "init", str(target)).returncode == 0
    check = run("policy", "doc", str(target), "--check")
    assert check.returncode == 0, check.stdout
