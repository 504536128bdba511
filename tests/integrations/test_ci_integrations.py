"""The pre-commit hook, the GitHub action and the GitLab template, run as their hosts run them on
a sample repository: a benign safetensors model passes, a malicious pickle fails the check."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import run
from tests.integrations.runners import (
    REPO,
    hook_files,
    load_yaml,
    run_action,
    run_gitlab_job,
    run_hook,
)
from tests.integrations.sample_repo import (
    BAD_MODEL,
    GOOD_MODEL,
    SampleRepo,
    build_sample_repo,
    results_by_rule,
    validate_sarif,
)
from tests.scan.builders import system_pickle


@pytest.fixture
def sample(tmp_path: Path) -> SampleRepo:
    root = tmp_path / "service"
    root.mkdir()
    return build_sample_repo(root)


@pytest.fixture
def runner_temp(tmp_path: Path) -> Path:
    path = tmp_path / "runner-temp"
    path.mkdir()
    return path


# ------------------------------------------------------------------------------ pre-commit


def test_hook_passes_a_commit_of_a_benign_model(sample: SampleRepo) -> None:
    sample.add(GOOD_MODEL, "models/classifier/config.json")
    proc = run_hook(sample.root, sample.staged())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines() == [f"ALLOW {GOOD_MODEL}", "1 file: 1 allow, 0 deny, 0 error"]


def test_hook_fails_a_commit_of_a_malicious_pickle_and_names_it(sample: SampleRepo) -> None:
    (sample.root / "README.md").write_text("# sentiment service\n\nNow with a legacy model.\n")
    sample.add(GOOD_MODEL, BAD_MODEL, "README.md")
    proc = run_hook(sample.root, sample.staged())
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert f"DENY  {BAD_MODEL}" in lines and f"ALLOW {GOOD_MODEL}" in lines
    assert "os.system" in proc.stdout
    assert lines[-1] == "2 files: 1 allow, 1 deny, 0 error"  # README.md was not passed
    assert not sample.canary.exists()


def test_hook_selects_model_files_by_name_only() -> None:
    (hook,) = load_yaml(".pre-commit-hooks.yaml")
    assert hook["language"] == "python" and hook["pass_filenames"] is True
    names = ["a/model.SAFETENSORS", "b/w.pt", "c/x.gguf", "d/y.npz", "src/app.py", "README.md"]
    assert hook_files(hook, REPO, names) == []  # none of them exists here: types: [file]
    pattern = re.compile(hook["files"])
    assert [n for n in names if pattern.search(n)] == names[:4]


def test_scan_files_reports_a_file_it_cannot_scan_and_goes_on(sample: SampleRepo) -> None:
    missing = run("scan-files", str(sample.root / "gone.pt"), str(sample.root / GOOD_MODEL))
    assert missing.returncode == 2, missing.stdout + missing.stderr
    lines = missing.stdout.splitlines()
    assert lines[0].startswith("ERROR") and lines[0].endswith("gone.pt")
    assert lines[-1] == "2 files: 1 allow, 0 deny, 1 error"


# -------------------------------------------------------------------------- GitHub Actions


def test_action_denies_the_malicious_model_and_writes_valid_sarif(
    sample: SampleRepo, runner_temp: Path
) -> None:
    run = run_action(sample.root, runner_temp, path="models/legacy")
    assert run.returncode == 1, run.stdout
    assert run.outputs["scan"] == {
        "outcome": "deny",
        "exit-code": "1",
        "sarif-file": "modelward.sarif",
    }
    assert "decision: DENY" in run.stdout  # the table report in the job log
    sarif = validate_sarif(sample.root / "modelward.sarif")
    rules = results_by_rule(sarif)
    assert {"scan-finding", "unsafe-serialization"} <= set(rules)
    finding = rules["scan-finding"][0]
    assert finding["level"] == "error"
    assert uris(finding) == [BAD_MODEL]  # relative to the repository, as code scanning reads it
    assert sarif["runs"][0]["properties"]["outcome"] == "deny"
    upload = next(s for s in run.skipped if "upload-sarif" in s.get("uses", ""))
    assert upload["with"]["sarif_file"] == "${{ steps.scan.outputs.sarif-file }}"
    assert not sample.canary.exists()


def test_action_locates_archive_members_at_their_file_in_the_repository(
    sample: SampleRepo, runner_temp: Path
) -> None:
    checkpoint = sample.root / "models" / "legacy" / "checkpoint.pt"
    with zipfile.ZipFile(checkpoint, "w") as archive:
        archive.writestr("checkpoint/data.pkl", system_pickle(str(sample.canary)))
        archive.writestr("checkpoint/version", "3\n")
    run = run_action(sample.root, runner_temp, path="models")
    assert run.returncode == 1, run.stdout
    sarif = validate_sarif(sample.root / "modelward.sarif")
    findings = results_by_rule(sarif)["scan-finding"]
    assert sorted(u for f in findings for u in uris(f)) == [
        "models/legacy/checkpoint.pt",
        BAD_MODEL,
    ]
    (member,) = [f for f in findings if f["properties"].get("member")]
    assert member["properties"]["member"] == "checkpoint/data.pkl"
    assert "region" not in member["locations"][0]["physicalLocation"]
    assert not sample.canary.exists()


def test_action_allows_the_benign_model(sample: SampleRepo, runner_temp: Path) -> None:
    run = run_action(
        sample.root, runner_temp, path="models/classifier", **{"sarif-file": "out/mw.sarif"}
    )
    assert run.returncode == 0, run.stdout
    assert run.outputs["scan"]["outcome"] == "allow"
    sarif = validate_sarif(sample.root / "out" / "mw.sarif")
    assert all(r["level"] != "error" for r in sarif["runs"][0]["results"])


def test_action_fail_on_error_reports_a_deny_without_failing(
    sample: SampleRepo, runner_temp: Path
) -> None:
    run = run_action(sample.root, runner_temp, path=BAD_MODEL, **{"fail-on": "error"})
    assert run.returncode == 0, run.stdout
    assert run.outputs["scan"]["outcome"] == "deny"
    assert "::warning::modelward denied the model" in run.stdout
    validate_sarif(sample.root / "modelward.sarif")


def test_action_scan_error_fails_with_2_and_no_sarif(sample: SampleRepo, runner_temp: Path) -> None:
    run = run_action(sample.root, runner_temp, path="models/missing")
    assert run.returncode == 2, run.stdout
    assert run.outputs["scan"] == {"outcome": "error", "exit-code": "2", "sarif-file": ""}
    assert not (sample.root / "modelward.sarif").exists()


def test_action_inputs_never_reach_shell_text_as_expressions(
    sample: SampleRepo, runner_temp: Path
) -> None:
    hostile = "models/legacy'; touch INJECTED; echo '"
    run = run_action(sample.root, runner_temp, path=hostile, **{"fail-on": "never"})
    assert run.outputs["scan"]["outcome"] == "error"
    assert not (sample.root / "INJECTED").exists()


def uris(result: dict[str, Any]) -> list[str]:
    return [loc["physicalLocation"]["artifactLocation"]["uri"] for loc in result["locations"]]


# ------------------------------------------------------------------------------- GitLab CI


def test_gitlab_job_fails_on_the_malicious_model_with_artifacts(sample: SampleRepo) -> None:
    proc = run_gitlab_job(sample.root, MODELWARD_PATH="models/legacy")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "decision: DENY" in proc.stdout
    rules = results_by_rule(validate_sarif(sample.root / "modelward.sarif"))
    assert rules["scan-finding"][0]["level"] == "error"
    assert (sample.root / "modelward-report.json").is_file()
    job = load_yaml("ci/gitlab/modelward.gitlab-ci.yml")["modelward"]
    assert job["artifacts"]["when"] == "always"
    assert set(job["artifacts"]["paths"]) == {"modelward.sarif", "modelward-report.json"}


def test_gitlab_job_passes_the_benign_model(sample: SampleRepo) -> None:
    proc = run_gitlab_job(sample.root, MODELWARD_PATH="models/classifier")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "decision: ALLOW" in proc.stdout
    sarif = validate_sarif(sample.root / "modelward.sarif")
    assert sarif["runs"][0]["properties"]["outcome"] == "allow"
