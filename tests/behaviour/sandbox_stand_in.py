"""A stand-in for the backdoor analysis: it queries the classifier and reports plumbing facts.

Its score is the mean top-class probability over the probes (or one zero sample): a classifier
that answers one class whatever it is shown scores 1, a healthy one far less.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from modelward.engine.behaviour.model import ProbedClassifier
from modelward.engine.behaviour.result import BackdoorResult, MethodResult


def analyse(
    model: ProbedClassifier,
    probes: Any,
    *,
    budget_seconds: float,
    progress: Any = None,
    seed: int = 0,
) -> BackdoorResult:
    started = time.monotonic()
    if probes is None:
        batch: Any = ["a"] if model.spec.kind == "text" else np.zeros((1, *model.spec.shape))
    else:
        batch = probes
    scores = model.probabilities(batch)
    if progress is not None:
        progress(0.5, "stand-in")
    assert scores.shape == (len(batch), len(model.labels))
    top = scores.mean(axis=0)
    score = float(np.clip(top.max(), 0.0, 1.0))
    target = model.labels[int(top.argmax())]
    method = MethodResult("stand-in", score, round(time.monotonic() - started, 3), target)
    return BackdoorResult(
        score=score,
        suspected_target=target,
        trigger=f"budget={budget_seconds:.0f} spec={model.spec.layout}",
        methods=(method,),
        complete=probes is not None,
        note=None if probes is not None else "no probe inputs",
    )


def escape(
    model: ProbedClassifier,
    probes: Any,
    *,
    budget_seconds: float,
    progress: Any = None,
    seed: int = 0,
) -> BackdoorResult:
    """Try to leave the sandbox; the probe lines say where: a file to write, host:port, a file
    to run. The trigger reports what happened to each try, the target the environment keys."""
    import os
    import socket
    import subprocess

    target_file, address, program = probes[0], probes[1], probes[2]
    outcomes = []
    for name, attempt in (
        ("write", lambda: Path(target_file).write_text("escaped")),
        ("connect", lambda: socket.create_connection(_address(address), timeout=2).close()),
        ("exec", lambda: subprocess.run([program], check=False, timeout=5)),
        ("write-temp", lambda: Path("scratch.bin").write_bytes(b"ok")),
    ):
        try:
            attempt()
            outcomes.append(f"{name}:done")
        except OSError as exc:
            outcomes.append(f"{name}:{type(exc).__name__}")
    return BackdoorResult(
        score=0.0,
        suspected_target=",".join(sorted(os.environ)),
        trigger=" ".join(outcomes),
    )


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def flood(
    model: ProbedClassifier,
    probes: Any,
    *,
    budget_seconds: float,
    progress: Any = None,
    seed: int = 0,
) -> BackdoorResult:
    """Report progress without end, in long lines: the parent must stop reading and kill it."""
    while True:
        progress(0.5, "x" * 10_000)
