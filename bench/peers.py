"""Peer model scanners for the corpus benchmark: their venv, command lines and exit codes.

The peers live in their own venv (``.cache/bench-peers``), never in the project's. Each runs as
one subprocess per file, interpreter start included, with telemetry and network access off.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "bench" / "requirements-peers.txt"
VENV = Path(os.environ.get("MODELWARD_BENCH_PEERS_VENV", ROOT / ".cache" / "bench-peers"))
STAMP = VENV / ".requirements.sha256"
PYTHON_VERSION = "3.11"
PER_FILE_TIMEOUT = float(os.environ.get("MODELWARD_BENCH_TIMEOUT", "300"))

DETECTED, CLEAN, ERROR = "detected", "clean", "error"

#: Variables that keep every peer offline and quiet.
QUIET_ENV = {
    "PROMPTFOO_DISABLE_TELEMETRY": "1",  # modelaudit (PostHog)
    "PROMPTFOO_DISABLE_UPDATE": "1",
    "PROMPTFOO_POSTHOG_KEY": "",  # modelaudit: no key, no client
    "MODELAUDIT_POSTHOG_KEY": "",
    "NO_ANALYTICS": "1",
    "DO_NOT_TRACK": "1",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "NO_COLOR": "1",
    "TERM": "dumb",
}


def _requirements_digest() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def venv_bin(name: str) -> Path:
    return VENV / "bin" / name


def ensure_venv(log: Callable[[str], None] = print) -> None:
    """Create or update the peers venv; a no-op when it matches requirements-peers.txt."""
    digest = _requirements_digest()
    if STAMP.is_file() and STAMP.read_text().strip() == digest and venv_bin("python").exists():
        return
    uv = shutil.which("uv")
    log(f"installing peer scanners into {VENV} (one time; modelaudit is large)")
    started = time.monotonic()
    if uv:
        if not venv_bin("python").exists():
            subprocess.run([uv, "venv", "-q", "--python", PYTHON_VERSION, str(VENV)], check=True)
        subprocess.run(
            [
                uv,
                "pip",
                "install",
                "-q",
                "--compile-bytecode",
                "-p",
                str(venv_bin("python")),
                "-r",
                str(REQUIREMENTS),
            ],
            check=True,
        )
    else:
        if not venv_bin("python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(venv_bin("python")), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)],
            check=True,
        )
    # Byte-compile once, so no peer pays for compiling its sources on every per-file run.
    subprocess.run(
        [str(venv_bin("python")), "-m", "compileall", "-q", "-j", "0", str(VENV / "lib")],
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    STAMP.write_text(digest + "\n")
    log(f"peer scanners installed in {time.monotonic() - started:.0f} s")


def peer_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env.update(QUIET_ENV)
    env["PATH"] = f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    # Keep peers' caches and config out of the home folder and the repo.
    home = VENV / "home"
    home.mkdir(parents=True, exist_ok=True)
    env["HOME"] = str(home)
    env["XDG_CACHE_HOME"] = str(home / ".cache")
    env["XDG_CONFIG_HOME"] = str(home / ".config")
    return env


@dataclass(frozen=True)
class Outcome:
    verdict: str  # DETECTED / CLEAN / ERROR
    seconds: float
    rc: int | None
    note: str = ""


@dataclass(frozen=True)
class Peer:
    name: str
    argv: Callable[[Path], list[str]]
    classify: Callable[[int, str, str], str]

    def run(self, path: Path, env: dict[str, str]) -> Outcome:
        started = time.perf_counter()
        try:
            proc = subprocess.run(
                self.argv(path),
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=PER_FILE_TIMEOUT,
                cwd=VENV,
            )
        except subprocess.TimeoutExpired:
            return Outcome(ERROR, time.perf_counter() - started, None, "timeout")
        seconds = time.perf_counter() - started
        verdict = self.classify(proc.returncode, proc.stdout, proc.stderr)
        note = "" if verdict != ERROR else (proc.stderr or proc.stdout).strip()[-200:]
        return Outcome(verdict, seconds, proc.returncode, note)


def _by_code(table: dict[int, str]) -> Callable[[int, str, str], str]:
    def classify(rc: int, _out: str, _err: str) -> str:
        return table.get(rc, ERROR)

    return classify


def _modelscan(rc: int, out: str, err: str) -> str:
    # 0 clean, 1 issues, 2 scan error, 3 nothing supported (also reported when files errored),
    # 4 usage error.
    if rc == 1:
        return DETECTED
    if rc == 0:
        return CLEAN
    if rc == 3:
        text = out + err
        return ERROR if ("--- Errors ---" in text or "Total errors: " in text) else CLEAN
    return ERROR


# Runs inside the peers venv: fickling's static API, zip-aware (scan_zip_archive for zips,
# Pickled + check_safety otherwise). Exit codes as the CLI: 0 safe, 1 unsafe, 2 error.
FICKLING_LIB = r"""
import io, sys, zipfile
from fickling.analysis import Severity, check_safety
from fickling.fickle import Pickled
from fickling.loader import scan_zip_archive
path = sys.argv[1]
try:
    if zipfile.is_zipfile(path):
        results = scan_zip_archive(path, graceful=True)
        if not results:
            sys.exit(0)
        worst = max(r.severity for r in results.values())
    else:
        with open(path, "rb") as fp:
            data = fp.read()
        pickled = Pickled.load(io.BytesIO(data), fail_on_decode_error=False)
        worst = check_safety(pickled).severity
except SystemExit:
    raise
except BaseException as exc:
    print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
    sys.exit(2)
sys.exit(0 if worst == Severity.LIKELY_SAFE else 1)
"""


def _peers() -> dict[str, Peer]:
    py = str(venv_bin("python"))
    return {
        "picklescan": Peer(
            "picklescan",
            lambda p: [str(venv_bin("picklescan")), "--path", str(p)],
            _by_code({0: CLEAN, 1: DETECTED}),  # 2 (error) wins over findings
        ),
        "modelscan": Peer(
            "modelscan",
            lambda p: [str(venv_bin("modelscan")), "--path", str(p)],
            _modelscan,
        ),
        "fickling": Peer(
            "fickling",
            lambda p: [
                str(venv_bin("fickling")),
                "--check-safety",
                "--json-output",
                os.devnull,
                str(p),
            ],
            _by_code({0: CLEAN, 1: DETECTED}),
        ),
        "fickling-lib": Peer(
            "fickling-lib",
            lambda p: [py, "-c", FICKLING_LIB, str(p)],
            _by_code({0: CLEAN, 1: DETECTED}),
        ),
        "modelaudit": Peer(
            "modelaudit",
            lambda p: [str(venv_bin("modelaudit")), "scan", "--no-cache", str(p)],
            _by_code({0: CLEAN, 1: DETECTED}),  # 2 (error) wins over findings
        ),
    }


PEERS = _peers()
DEFAULT_PEERS = ("picklescan", "modelscan", "fickling", "fickling-lib", "modelaudit")
