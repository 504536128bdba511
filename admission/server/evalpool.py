"""``EvalPool``: policy evaluation in worker processes that are killed when they overrun.

Used for the embedded engine, which holds the GIL while it evaluates: in the webhook's process,
a policy that runs past the deadline would freeze the whole webhook. Here the event loop hands
the policy input to an idle worker (``evalworker``) and awaits its answer on the pipe; when the
review is cancelled at its deadline, or the worker dies, the worker is killed, the evaluation
counts as failed (so the review is denied) and a replacement starts in a background thread.

Idle workers are checked every ``CHECK_INTERVAL`` seconds on the event loop: one that exited or
does not answer a ping within ``PING_TIMEOUT`` is replaced before a review needs it, and a review
never takes a worker that has exited. Every replacement is logged and counted
(``modelward_webhook_eval_worker_restarts_total{reason}``).
"""

from __future__ import annotations

import asyncio
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
from modelward.admission.review.steps import Evaluation
from modelward.admission.server.evalworker import ENTRY_TAGS, HEADER, PING, PONG, write_frame
from modelward.admission.server.metrics import WORKER_RESTARTS, WORKERS
from modelward.engine.decision import Decision

log = logging.getLogger("modelward.admission.server.evalpool")
START_TIMEOUT = 120.0
CHECK_INTERVAL = 1.0
PING_TIMEOUT = 2.0
READ_SIZE = 1 << 16


class WorkerFailed(Exception):
    """A worker that died, hung up or overran; it is killed and replaced."""


def _frame(received: bytes | bytearray) -> bytes | None:
    """The first complete frame's payload in ``received``, or None while it is incomplete."""
    if len(received) < HEADER.size:
        return None
    end = HEADER.size + HEADER.unpack_from(received)[0]
    return bytes(received[HEADER.size : end]) if len(received) >= end else None


class _Worker:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "modelward.admission.server.evalworker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._in, self._out = self.proc.stdin.fileno(), self.proc.stdout.fileno()

    def call(self, payload: bytes, deadline: float) -> bytes:
        """Send one frame and block for the one frame answered by ``deadline`` (start-up)."""
        self._send(payload)
        poller = select.poll()
        poller.register(self._out, select.POLLIN)
        received = b""
        while (frame := _frame(received)) is None:
            left = deadline - time.monotonic()
            if left <= 0 or not poller.poll(left * 1000):
                raise TimeoutError
            received += self._read()
        return frame

    async def call_async(self, payload: bytes) -> bytes:
        """Send one frame and await the one frame answered; cancellable."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[bytes] = loop.create_future()
        received = bytearray()

        def readable() -> None:
            try:
                received.extend(self._read())
            except WorkerFailed as exc:
                loop.remove_reader(self._out)
                if not answer.done():
                    answer.set_exception(exc)
                return
            frame = _frame(received)
            if frame is not None and not answer.done():  # one request, one frame: nothing after
                loop.remove_reader(self._out)
                answer.set_result(frame)

        self._send(payload)
        loop.add_reader(self._out, readable)
        try:
            return await answer
        finally:
            loop.remove_reader(self._out)

    def _send(self, payload: bytes) -> None:
        try:
            write_frame(self._in, payload)
        except OSError as exc:
            raise WorkerFailed(f"the evaluation worker hung up: {exc.strerror}") from None

    def _read(self) -> bytes:
        chunk = os.read(self._out, READ_SIZE)
        if not chunk:
            raise WorkerFailed(f"the evaluation worker exited ({self.proc.poll()})")
        return chunk

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


class EvalPool:
    """``size`` worker processes evaluating the configured bundle for the event loop ``loop``.

    ``start`` blocks (call it off the loop); ``evaluate`` runs on the loop.
    """

    def __init__(self, config: WebhookConfig, size: int, loop: asyncio.AbstractEventLoop) -> None:
        self._config = config.model_dump_json().encode()
        self._size = size
        self._loop = loop
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self._dead: queue.Queue[_Worker | None] = queue.Queue()
        self._workers: set[_Worker] = set()
        self._started: set[_Worker] = set()  # answered their start-up frame, not forgotten
        self._lock = threading.Lock()
        self._closed = False
        self._revision = "unknown"
        self._last_error = ""
        self._watcher: Any = None

    def start(self) -> None:
        """Start the workers; raise ``WorkerFailed`` when one cannot load the policies."""
        for _ in range(self._size):
            self._hand_over(self._spawn())
        threading.Thread(target=self._respawner, name="eval-respawn", daemon=True).start()
        self._watcher = asyncio.run_coroutine_threadsafe(self._watch(), self._loop)

    def problem(self) -> str | None:
        """Why no evaluation can run (no worker is running), or None."""
        with self._lock:
            if self._started or self._closed:
                return None
        return f"no evaluation worker is running ({self._last_error or 'restarting'})"

    async def evaluate(self, step: Evaluation) -> Decision:
        """``step`` on an idle worker; a dead worker gives a failed (deny) decision. When the
        caller is cancelled mid-evaluation, the worker is killed and replaced."""
        worker = await self._take()
        try:
            reply = await worker.call_async(ENTRY_TAGS[step.entry] + step.text().encode())
        except WorkerFailed as exc:
            self._retire(worker, "failed", str(exc))
            return self._failed(str(exc))
        except BaseException:  # cancelled at the deadline: the worker may still be evaluating
            self._retire(worker, "overran", "its review was cancelled at the deadline")
            raise
        self._idle.put_nowait(worker)
        return self._decision(reply)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers = list(self._workers)
        if self._watcher is not None:
            self._watcher.cancel()
        self._dead.put(None)
        for worker in workers:
            worker.kill()

    async def _take(self) -> _Worker:
        """An idle worker that has not exited (one that has is replaced)."""
        while True:
            worker = await self._idle.get()
            code = worker.proc.poll()
            if code is None:
                return worker
            self._retire(worker, "exited", f"exited with code {code} while idle")

    async def _watch(self) -> None:
        """Check the idle workers every ``CHECK_INTERVAL`` seconds; replace the broken ones."""
        while True:
            await asyncio.sleep(CHECK_INTERVAL)
            for _ in range(self._idle.qsize()):
                try:
                    worker = self._idle.get_nowait()
                except asyncio.QueueEmpty:
                    break
                problem = await self._check(worker)
                if problem is None:
                    self._idle.put_nowait(worker)
                else:
                    self._retire(worker, *problem)

    async def _check(self, worker: _Worker) -> tuple[str, str] | None:
        code = worker.proc.poll()
        if code is not None:
            return "exited", f"exited with code {code} while idle"
        try:
            reply = await asyncio.wait_for(worker.call_async(PING), PING_TIMEOUT)
        except WorkerFailed as exc:
            return "exited", str(exc)
        except TimeoutError:
            return "unresponsive", f"did not answer a liveness check within {PING_TIMEOUT:g} s"
        return None if reply == PONG else ("unresponsive", f"answered a ping with {reply[:60]!r}")

    def _retire(self, worker: _Worker, reason: str, detail: str) -> None:
        """Log, count and replace ``worker`` (killed off the event loop)."""
        level = logging.WARNING if reason == "overran" else logging.ERROR
        log.log(level, "replacing evaluation worker %d: %s", worker.proc.pid, detail)
        WORKER_RESTARTS.labels(reason).inc()
        self._dead.put(worker)

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
            why = str(exc) or f"no answer within {START_TIMEOUT:g} s"
            raise WorkerFailed(f"an evaluation worker did not start: {why}") from None
        answer = json.loads(reply)
        if "error" in answer:
            self._forget(worker)
            raise WorkerFailed(str(answer["error"]))
        with self._lock:
            self._started.add(worker)
            WORKERS.set(len(self._started))
        return worker

    def _hand_over(self, worker: _Worker) -> None:
        """Make ``worker`` idle, from any thread."""
        self._loop.call_soon_threadsafe(self._idle.put_nowait, worker)

    def _forget(self, worker: _Worker) -> None:
        with self._lock:
            self._workers.discard(worker)
            self._started.discard(worker)
            WORKERS.set(len(self._started))
        worker.kill()

    def _respawner(self) -> None:
        while (worker := self._dead.get()) is not None:
            self._forget(worker)
            while not self._closed:
                try:
                    fresh = self._spawn()
                except (WorkerFailed, OSError) as exc:
                    self._last_error = str(exc)
                    log.error("restarting an evaluation worker failed: %s", exc)
                    time.sleep(1.0)
                    continue
                if self._closed:
                    self._forget(fresh)
                else:
                    self._hand_over(fresh)
                break
