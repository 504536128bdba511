"""A policy evaluation worker process: ``python -m modelward.admission.server.evalworker``.

The embedded Rego engine holds the GIL for the whole of an evaluation, so a policy that runs
long would stop every thread of the webhook, the one that enforces the deadline included. The
webhook therefore evaluates in worker processes it can kill. Protocol on stdin/stdout: frames of
a 4-byte big-endian length and a payload. The first frame in is the webhook configuration (JSON),
the first frame out ``{"ready": true}`` or ``{"error": ...}``; then each policy input in (one
byte naming the rules to decide with, ``ENTRY_TAGS``, then the input's JSON) gets one ``Decision``
(or ``{"error": ...}``) out; a liveness check (``PING``) gets ``PONG``. End of input ends the
worker.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import struct
from typing import Any

from modelward.engine.policy.evaluators import DECISION, MODEL_PART, REQUEST_PART, Entry

HEADER = struct.Struct(">I")
ENTRY_TAGS: dict[Entry, bytes] = {DECISION: b"D", MODEL_PART: b"M", REQUEST_PART: b"R"}
_ENTRIES = {tag: entry for entry, tag in ENTRY_TAGS.items()}
PING, PONG = b"P", b'{"pong": true}'


def read_frame(fd: int) -> bytes | None:
    """One frame from ``fd``; None at end of input."""
    header = _read_exactly(fd, HEADER.size)
    if header is None:
        return None
    return _read_exactly(fd, HEADER.unpack(header)[0])


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks, missing = [], size
    while missing:
        chunk = os.read(fd, missing)
        if not chunk:
            return None
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def write_frame(fd: int, payload: bytes) -> None:
    data = HEADER.pack(len(payload)) + payload
    while data:
        data = data[os.write(fd, data) :]


def _error(message: str) -> bytes:
    return json.dumps({"error": message}).encode()


def _serve(fd_in: int, fd_out: int) -> int:
    from modelward.admission.config import WebhookConfig
    from modelward.engine.errors import Error
    from modelward.engine.policy.bundle import load_bundle
    from modelward.engine.policy.evaluators.embedded import EmbeddedEvaluator

    first = read_frame(fd_in)
    if first is None:
        return 0
    evaluator = EmbeddedEvaluator()
    try:
        config = WebhookConfig.model_validate_json(first)
        bundle = load_bundle(config.policies, config.data)
        evaluator.prepare(bundle)
    except Error as exc:
        write_frame(fd_out, _error(exc.diagnostics()))
        return 2
    gc.freeze()  # what loading made lives on: keep it out of every later collection
    write_frame(fd_out, b'{"ready": true}')
    while (frame := read_frame(fd_in)) is not None:
        write_frame(fd_out, _evaluate(evaluator, bundle, frame))
    return 0


def _evaluate(evaluator: Any, bundle: Any, frame: bytes) -> bytes:
    if frame == PING:
        return PONG
    entry = _ENTRIES.get(frame[:1])
    if entry is None:
        return _error(f"unknown evaluation request {frame[:1]!r}")
    try:
        decision = evaluator.evaluate_json(bundle, frame[1:].decode(), entry)
        return str(decision.model_dump_json()).encode()
    except Exception as exc:  # an engine or policy error: the webhook denies with the reason
        return _error(f"policy evaluation failed: {exc}")


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the webhook decides when its workers end
    fd_in, fd_out = os.dup(0), os.dup(1)
    os.dup2(2, 1)  # anything printed goes to stderr, never into the frame stream
    return _serve(fd_in, fd_out)


if __name__ == "__main__":
    raise SystemExit(main())
