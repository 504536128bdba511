"""Run the CI integrations the way their hosts do, on this machine's ``modelward``.

- pre-commit: read ``.pre-commit-hooks.yaml``, select the staged files with the hook's
  ``files``/``exclude``/``types`` rules, run ``entry`` + ``args`` + the file names.
- GitHub Actions: read ``action.yml``, give each ``run`` step its ``env`` with the ``${{ }}``
  expressions rendered (inputs, step outputs, ``github.action_path``), run it as GitHub's
  ``shell: bash`` does and collect ``$GITHUB_OUTPUT``. ``uses`` steps are GitHub's own
  (setup-python, upload-sarif) and the install step is pip; they are recorded, not run.
- GitLab CI: read the template, export its variables and run its ``script`` lines in one
  ``bash -eo pipefail``, as the runner does.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
GITHUB_BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]  # GitHub's `shell: bash`
GITLAB_BASH = ["bash", "-eo", "pipefail", "-c"]  # the runner's script shell
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def host_env(**extra: str) -> dict[str, str]:
    """The environment with this interpreter's ``modelward`` first on PATH."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return {**os.environ, "PATH": path, "RUST_BACKTRACE": "0", **extra}


def load_yaml(name: str) -> Any:
    return yaml.safe_load((REPO / name).read_text())


# ----------------------------------------------------------------------------- pre-commit


def hook_files(hook: dict[str, Any], root: Path, candidates: list[str]) -> list[str]:
    """pre-commit's selection: ``files`` and ``exclude`` searched in the path, ``types: [file]``."""
    assert set(hook.get("types", ["file"])) == {"file"} and not hook.get("types_or")
    include = re.compile(hook.get("files", ""))
    exclude = re.compile(hook.get("exclude", "^$"))
    return [
        name
        for name in candidates
        if include.search(name) and not exclude.search(name) and (root / name).is_file()
    ]


def run_hook(root: Path, files: list[str]) -> subprocess.CompletedProcess[str]:
    (hook,) = load_yaml(".pre-commit-hooks.yaml")
    command = [*shlex.split(hook["entry"]), *hook.get("args", [])]
    if hook.get("pass_filenames", True):
        command += hook_files(hook, root, files)
    return subprocess.run(
        command, cwd=root, env=host_env(), capture_output=True, text=True, timeout=300
    )


# -------------------------------------------------------------------------- GitHub Actions


@dataclass
class ActionRun:
    returncode: int
    stdout: str
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    skipped: list[dict[str, Any]] = field(default_factory=list)


def action_inputs(action: dict[str, Any], given: dict[str, str]) -> dict[str, str]:
    declared = action["inputs"]
    assert set(given) <= set(declared), f"undeclared inputs: {set(given) - set(declared)}"
    return {name: given.get(name, str(spec.get("default", ""))) for name, spec in declared.items()}


def render(text: str, inputs: dict[str, str], outputs: dict[str, dict[str, str]]) -> str:
    """The few ``${{ }}`` expressions the action's ``env`` uses."""

    def value(match: re.Match[str]) -> str:
        kind, _, rest = match.group(1).partition(".")
        if kind == "inputs":
            return inputs[rest]
        if kind == "steps":
            step, _, name = rest.partition(".outputs.")
            return outputs.get(step, {}).get(name, "")
        if match.group(1) == "github.action_path":
            return str(REPO)
        raise AssertionError(f"unexpected expression {match.group(0)}")

    return EXPRESSION.sub(value, text)


def run_action(workspace: Path, runner_temp: Path, **given: str) -> ActionRun:
    action = load_yaml("action.yml")
    inputs = action_inputs(action, given)
    run = ActionRun(0, "")
    for step in action["runs"]["steps"]:
        if "uses" in step or step.get("id") == "install":
            run.skipped.append(step)
            continue
        assert "${{" not in step["run"], "inputs reach run steps through env only"
        env = {k: render(str(v), inputs, run.outputs) for k, v in step.get("env", {}).items()}
        proc = _github_step(step, workspace, runner_temp, env)
        run.stdout += proc.stdout + proc.stderr
        run.outputs[step["id"]] = _read_outputs(runner_temp / "output")
        run.returncode = proc.returncode
        if proc.returncode != 0:  # the job fails; later steps without if: always() do not run
            break
    return run


def _github_step(
    step: dict[str, Any], workspace: Path, runner_temp: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    assert step["shell"] == "bash"
    script = runner_temp / f"{step['id']}.sh"
    script.write_text(step["run"])
    (runner_temp / "output").write_text("")
    github = {
        "GITHUB_OUTPUT": str(runner_temp / "output"),
        "GITHUB_ACTION_PATH": str(REPO),
        "GITHUB_WORKSPACE": str(workspace),
        "RUNNER_TEMP": str(runner_temp),
    }
    return subprocess.run(
        [*GITHUB_BASH, str(script)],
        cwd=workspace,
        env=host_env(**github, **env),
        capture_output=True,
        text=True,
        timeout=300,
    )


def _read_outputs(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


# ------------------------------------------------------------------------------- GitLab CI


def run_gitlab_job(workspace: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    job = load_yaml("ci/gitlab/modelward.gitlab-ci.yml")["modelward"]
    assert set(variables) <= set(job["variables"]), "override only the template's variables"
    merged = {**{k: str(v) for k, v in job["variables"].items()}, **variables}
    script = "\n".join([*job.get("before_script", []), *job["script"]])
    return subprocess.run(
        [*GITLAB_BASH, script],
        cwd=workspace,
        env=host_env(CI_PROJECT_DIR=str(workspace), **merged),
        capture_output=True,
        text=True,
        timeout=300,
    )
