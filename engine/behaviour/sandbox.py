"""Run the behaviour analysis in a separate, resource-limited process.

The child (``runner``) starts in a fresh temp dir with a scrubbed environment, under rlimits on
address space, CPU time, file size and open files, in its own process group; in a new user and
network namespace (``unshare -rn``) where the system allows one, and confined by Landlock
(writes only under the temp dir, no exec, no TCP). A wall-clock deadline kills the group. The
child's JSON lines are read with a size bound and validated by the caller.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, Literal

#: The analysis the child runs ("module:function"), and folders it may import it from.
ANALYSE = "modelward.engine.behaviour.analyse:analyse"
IMPORT_PATH: tuple[str, ...] = ()
MAX_LINE: Final = 1024 * 1024
MAX_OUTPUT: Final = 4 * 1024 * 1024
#: Part of the wall-clock budget kept for starting the child and reporting its result.
STARTUP_SECONDS: Final = 5.0

Progress = Callable[[float | None, str], None]


@dataclass(frozen=True)
class Limits:
    """What the child may use. CPU time counts every thread, hence twice the wall budget."""

    wall_seconds: float = 60.0
    cpu_seconds: int = 130
    memory_bytes: int = 3 * 1024**3
    file_bytes: int = 64 * 1024**2
    open_files: int = 256
    threads: int = 2

    @classmethod
    def for_budget(cls, budget_seconds: float, model_bytes: int = 0) -> Limits:
        """The limits for a budget; room for a few copies of a large model's weights."""
        memory = max(cls.memory_bytes, 1024**3 + 4 * model_bytes)
        return cls(
            wall_seconds=budget_seconds,
            cpu_seconds=int(2 * budget_seconds) + 10,
            memory_bytes=memory,
        )


@dataclass
class Outcome:
    """What came back: the child's result line (unvalidated) or why there is none."""

    result: dict[str, Any] | None
    reason: str | None
    isolation: dict[str, Any] = field(default_factory=dict)
    stage: str = "starting"
    seconds: float = 0.0


def run_analysis(
    model: Path,
    probes: Path | None,
    limits: Limits,
    progress: Progress | None = None,
    seed: int = 0,
) -> Outcome:
    """Analyse ``model`` in a sandboxed child; never raises for what the child does."""
    request = {
        "model": str(model.resolve()),
        "probes": str(probes.resolve()) if probes is not None else None,
        "budget_seconds": max(limits.wall_seconds - STARTUP_SECONDS, 1.0),
        "threads": limits.threads,
        "analyse": ANALYSE,
        "import_path": list(IMPORT_PATH),
        "seed": seed,
    }
    namespace = network_namespace_available()
    command = [*(["unshare", "-rn"] if namespace else []), sys.executable, "-I", "-m",
               "modelward.engine.behaviour.runner"]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="modelward-behaviour-") as workdir:
        outcome = _supervise(command, request, Path(workdir), limits, progress or _quiet)
    outcome.isolation |= {"network_namespace": namespace}
    return outcome


def _quiet(fraction: float | None, label: str) -> None:
    return None


@lru_cache(maxsize=1)
def network_namespace_available() -> bool:
    """Whether ``unshare -rn`` works here (user namespaces may be disabled)."""
    if shutil.which("unshare") is None:
        return False
    try:
        done = subprocess.run(["unshare", "-rn", "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def child_environment(workdir: Path) -> dict[str, str]:
    """Nothing inherited (no keys, tokens or proxies): a fixed PATH, locale and temp dir."""
    return {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
    }


def _limit(limits: Limits) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def _supervise(
    command: list[str], request: dict[str, Any], workdir: Path, limits: Limits, progress: Progress
) -> Outcome:
    started = time.monotonic()
    deadline = started + limits.wall_seconds
    with (workdir / "stderr").open("wb") as errors:
        child = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            cwd=workdir,
            env=child_environment(workdir),
            preexec_fn=_limit(limits),  # rlimits must be set before exec
            start_new_session=True,
        )
        outcome = Outcome(result=None, reason=None)
        try:
            assert child.stdin is not None and child.stdout is not None
            try:
                child.stdin.write(json.dumps(request).encode())
                child.stdin.close()
            except BrokenPipeError:
                pass  # the child died at once; its exit status says why
            stopped = _read_events(child.stdout, deadline, outcome, progress)
        finally:
            _kill_group(child)
    outcome.seconds = round(time.monotonic() - started, 3)
    if outcome.result is None:
        outcome.reason = _why(child.returncode, stopped, limits, outcome.stage, workdir)
    return outcome


def _read_events(
    pipe: Any, deadline: float, outcome: Outcome, progress: Progress
) -> Literal["deadline", "flood"] | None:
    """Handle the child's lines until its result or EOF; why it had to be stopped otherwise
    (the deadline, or more output than a result needs)."""
    selector = selectors.DefaultSelector()
    selector.register(pipe, selectors.EVENT_READ)
    buffer, total = b"", 0
    try:
        while outcome.result is None:
            left = deadline - time.monotonic()
            if left <= 0:
                return "deadline"
            if not selector.select(timeout=min(left, 0.5)):
                continue
            chunk = os.read(pipe.fileno(), 65536)
            if not chunk:
                return None
            total += len(chunk)
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                _event(line, outcome, progress)
            if total > MAX_OUTPUT or len(buffer) > MAX_LINE:
                return "flood"
    finally:
        selector.close()
    return None


def _event(line: bytes, outcome: Outcome, progress: Progress) -> None:
    try:
        event = json.loads(line)
    except ValueError:
        return
    if not isinstance(event, dict):
        return
    kind = event.pop("event", None)
    if kind == "result":
        outcome.result = event
    elif kind == "stage" and isinstance(event.get("stage"), str):
        outcome.stage = event["stage"][:80]
        progress(None, outcome.stage)
    elif kind == "progress":
        fraction = event.get("fraction")
        label = event.get("label")
        number = float(fraction) if isinstance(fraction, int | float) else None
        progress(number, label[:80] if isinstance(label, str) else outcome.stage)
    elif kind == "confined":
        outcome.isolation |= {k: v for k, v in event.items() if isinstance(v, bool | int)}


def _kill_group(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
    child.wait()


def _why(returncode: int, stopped: str | None, limits: Limits, stage: str, workdir: Path) -> str:
    """The reason a child gave no result, named by the limit it hit when that is known."""
    if stopped == "deadline":
        return f"stopped at the wall-clock limit ({limits.wall_seconds:g} s) while {stage}"
    if stopped == "flood":
        return f"stopped: more than {MAX_OUTPUT} bytes of output while {stage}"
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL):  # soft, then hard RLIMIT_CPU
        return f"stopped at the CPU time limit ({limits.cpu_seconds} s) while {stage}"
    if returncode < 0:
        name = signal.Signals(-returncode).name
        return f"the analysis process died ({name}) while {stage}{_memory_hint(workdir)}"
    return f"the analysis process exited ({returncode}) without a result while {stage}"


def _memory_hint(workdir: Path) -> str:
    try:
        tail = (workdir / "stderr").read_bytes()[-4000:].decode("utf-8", "replace").lower()
    except OSError:
        return ""
    if "bad_alloc" in tail or "memory" in tail:
        return " (it ran out of its memory limit)"
    return ""
