"""``EvalPool``: policy evaluation in worker processes that are killed when they overrun.

Used for the embedded engine, which holds the GIL while it evaluates: in a thread, a policy that
runs past the deadline would freeze the whole webhook. Here a request thread hands the policy
input to an idle worker (``evalworker``) and waits on a pipe with the request's remaining time;
at the deadline the worker is killed, the evaluation counts as failed (so the request is
denied) and a replacement starts in the background.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import select
import subprocess
import sys
import threading
import time
from typing import Any

from modelward.admission.config import WebhookConfig
from modelward.admission.evalworker import ENTRY_TAGS, HEADER, write_frame
from modelward.engine.decision import Decision
from modelward.engine.evaluators import DECISION, Entry

log = logging.getLogger("modelward.admission.evalpool")
START_TIMEOUT = 120.0
READ_SIZE = 1 << 16
GRACE = 0.25  # past the deadline: the server answers first, then the overrunning worker dies


class WorkerFailed(Exception):
    """A worker that died, hung up or overran; it is killed and replaced."""


class _Worker:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "modelward.admission.evalworker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._in, self._out = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        self._poller = select.poll()
        self._poller.register(self._out, select.POLLIN)

    def call(self, payload: bytes, deadline: float) -> bytes:
        """Send one frame and return the one frame answered by ``deadline``."""
        try:
            write_frame(self._in, payload)
        except OSError as exc:
            raise WorkerFailed(f"the evaluation worker hung up: {exc.strerror}") from None
        received = b""
        while True:
            if len(received) >= HEADER.size:
                end = HEADER.size + HEADER.unpack_from(received)[0]
                if len(received) >= end:
                    return received[HEADER.size : end]  # one request, one frame: nothing after
            left = deadline - time.monotonic()
            if left <= 0 or not self._poller.poll(left * 1000):
                raise TimeoutError
            chunk = os.read(self._out, READ_SIZE)
            if not chunk:
                raise WorkerFailed(f"the evaluation worker exited ({self.proc.poll()})")
            received += chunk

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


class EvalPool:
    """``size`` worker processes evaluating the configured bundle; ``evaluate`` is thread-safe."""

    def __init__(self, config: WebhookConfig, size: int) -> None:
        self._config = config.model_dump_json().encode()
        self._size = size
        self._deadline_seconds = config.deadline_seconds
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._respawn: queue.Queue[int] = queue.Queue()
        self._workers: set[_Worker] = set()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._closed = False
        self._revision = "unknown"
        self.started = False

    def start(self) -> None:
        """Start the workers; raise ``WorkerFailed`` when one cannot load the policies."""
        for _ in range(self._size):
            self._idle.put(self._spawn())
        self.started = True
        threading.Thread(target=self._respawner, name="eval-respawn", daemon=True).start()

    def set_deadline(self, deadline: float) -> None:
        """The ``time.monotonic()`` by which this thread's evaluations must finish."""
        self._local.deadline = deadline

    def evaluate(self, policy_input: dict[str, Any]) -> Decision:
        return self.evaluate_json(json.dumps(policy_input), DECISION)

    def evaluate_json(self, input_json: str, entry: Entry) -> Decision:
        deadline = getattr(self._local, "deadline", None)
        if deadline is None:
            deadline = time.monotonic() + self._deadline_seconds
        try:
            worker = self._idle.get(timeout=max(deadline - time.monotonic(), 0.0))
        except queue.Empty:
            return self._failed("no policy evaluator became free before the deadline")
        try:
            reply = worker.call(ENTRY_TAGS[entry] + input_json.encode(), deadline + GRACE)
        except TimeoutError:
            self._replace(worker)
            return self._failed("policy evaluation did not finish before the deadline")
        except WorkerFailed as exc:
            self._replace(worker)
            return self._failed(str(exc))
        self._idle.put(worker)
        return self._decision(reply)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers = list(self._workers)
        self._respawn.put(0)
        for worker in workers:
            worker.kill()

    def _decision(self, reply: bytes) -> Decision:
        if reply.startswith(b'{"error"'):
            return self._failed(str(json.loads(reply)["error"]))
        decision = Decision.model_validate_json(reply)
        self._revision = decision.bundle_revision
        return decision

    def _failed(self, reason: str) -> Decision:
        return Decision.failed(reason, engine="embedded", bundle_revision=self._revision)

    def _spawn(self) -> _Worker:
        worker = _Worker()
        with self._lock:
            self._workers.add(worker)
        try:
            reply = worker.call(self._config, time.monotonic() + START_TIMEOUT)
        except (TimeoutError, WorkerFailed) as exc:
            self._forget(worker)
            raise WorkerFailed(
                f"an evaluation worker did not start: {exc or 'timed out'}"
            ) from None
        answer = json.loads(reply)
        if "error" in answer:
            self._forget(worker)
            raise WorkerFailed(str(answer["error"]))
        return worker

    def _forget(self, worker: _Worker) -> None:
        with self._lock:
            self._workers.discard(worker)
        worker.kill()

    def _replace(self, worker: _Worker) -> None:
        self._forget(worker)
        self._respawn.put(1)

    def _respawner(self) -> None:
        while self._respawn.get():
            while not self._closed:
                try:
                    worker = self._spawn()
                except (WorkerFailed, OSError) as exc:
                    log.error("restarting an evaluation worker failed: %s", exc)
                    time.sleep(1.0)
                    continue
                if self._closed:
                    self._forget(worker)
                else:
                    self._idle.put(worker)
                break
