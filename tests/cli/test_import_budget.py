"""What ``modelward --version`` and a local ``scan`` import: no network, cluster or signing stack.

Each command runs as a user runs it (the installed script, a fresh interpreter) under
``-X importtime``, which lists every module the process imports.
"""

from __future__ import annotations

import json
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from modelward.cli.app import COMMANDS
from modelward.engine import __version__
from tests.cli.helpers import MODELWARD, run

#: Packages the embedded, local path has no use for (clients, servers, signing, the Hub, BOMs).
HEAVY = (
    "aiohttp",
    "requests",
    "urllib3",
    "httpx",
    "kubernetes",
    "sigstore",
    "model_signing",
    "huggingface_hub",
    "opa_client",
    "uvicorn",
    "uvloop",
    "httptools",
    "prometheus_client",
    "cryptography",
    "OpenSSL",
    "securesystemslib",
    "cyclonedx",
    "jsonschema",
    "onnx",
    "h5py",
    "tensorboard",
    "fickling",
    "modelward.admission",
    "modelward.engine.signatures.verify",
    "modelward.engine.policy.evaluators.opa",
    "modelward.engine.bom.build",
)
#: Module counts measured when the budget was set (60 and 363), with room to grow.
VERSION_BUDGET = 80
SCAN_BUDGET = 420

IMPORT_LINE = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)\s*$")


def imported_modules(*args: str, ok: tuple[int, ...] = (0,)) -> tuple[list[str], str]:
    """Every module ``modelward ARGS`` imports, in order, and its standard output."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", str(MODELWARD), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode in ok, proc.stderr[-2000:]
    modules = [m.group(1) for line in proc.stderr.splitlines() if (m := IMPORT_LINE.match(line))]
    assert modules, "no -X importtime output: the budget would pass vacuously"
    return modules, proc.stdout


def heavy_in(modules: list[str], forbidden: tuple[str, ...] = HEAVY) -> list[str]:
    return sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in forbidden))


def write_tiny_safetensors(path: Path) -> Path:
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(8))
    return path


def test_version_imports_no_command_code() -> None:
    modules, out = imported_modules("--version")
    assert out == f"modelward {__version__}\n"
    assert heavy_in(modules, (*HEAVY, "typer", "pydantic", "modelward.cli.app", "rich")) == []
    assert len(modules) <= VERSION_BUDGET, f"{len(modules)} modules: {modules}"


def test_local_safetensors_scan_stays_within_budget(tmp_path: Path) -> None:
    model = write_tiny_safetensors(tmp_path / "tiny.safetensors")
    modules, out = imported_modules("scan", str(model), "--format", "json")
    report = json.loads(out)
    assert report["decision"]["outcome"] == "allow"
    assert report["facts"]["files"][0]["format"] == "safetensors"
    assert "regorus" in modules  # the embedded engine did decide
    # The built-in rules' METADATA comes from the stored index: no YAML parser on this path.
    assert heavy_in(modules, (*HEAVY, "yaml")) == []
    assert len(modules) <= SCAN_BUDGET, f"{len(modules)} modules"


def test_budget_check_sees_a_heavy_import() -> None:
    """The check itself: a command that does need the OPA client is caught by it."""
    modules, _ = imported_modules("eval", "--help")
    modules.append("opa_client.opa_async")
    assert heavy_in(modules) == ["opa_client.opa_async"]


def test_help_lists_every_command() -> None:
    proc = run("--help", timeout=120)
    assert proc.returncode == 0, proc.stderr
    listed = set(re.findall(r"^│ (\S+)\s{2,}", proc.stdout, re.M))
    assert set(COMMANDS) | {"admission", "audit", "webhook"} <= listed, proc.stdout


@pytest.mark.parametrize("command", ["admission", "webhook", "registry", "policy"])
def test_command_groups_load_on_use(command: str) -> None:
    proc = run(command, "--help", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert f"Usage: modelward {command}" in proc.stdout
