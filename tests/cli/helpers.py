"""Run the installed ``modelward`` command the way a user does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

MODELWARD = Path(sys.executable).with_name("modelward")


def run(
    *args: str, prefix: tuple[str, ...] = (), timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RUST_BACKTRACE": "0"}
    return subprocess.run(
        [*prefix, str(MODELWARD), *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def scan_json(path: Path | str, *extra: str) -> tuple[int, dict[str, Any]]:
    proc = run("scan", str(path), "--format", "json", *extra)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)
