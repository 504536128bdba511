"""A pool of long-lived worker processes that turn one text request into one text reply.

``vet --from`` runs the keyless vetting worker in these processes. They are forked from a fork
server, a fresh interpreter that imported the worker's modules once ("forkserver"; "spawn" where
there is none), so they share no memory with the parent that holds the signing key and none of
them pays for those imports again. The environment variables that locate or unlock the key are
removed while the server and the workers start, and again in each worker. Requests and
replies cross the pipe as plain UTF-8 bytes, never pickles: a worker that a hostile model
subverted can send the parent text, not objects. A worker that dies fails only the request it was
working on; a fresh process takes its place.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
import weakref
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from modelward.engine.errors import Error

#: A worker's reply when its handler raised (the text after it says what).
WORKER_ERROR = "modelward-worker-error "
READY = b"ready"
#: The largest reply read from a worker; a longer one fails its request.
MAX_REPLY = 17 * 1024 * 1024
#: Requests sent to a worker ahead of its replies: the next one waits in its pipe.
DEPTH = 2
#: Seconds a worker has to load what it needs and say it is ready.
START_TIMEOUT = 120.0

Handler = Callable[[str], str]
#: Pools of this process with workers forked by the fork server; the last to close stops it.
_FORKED: weakref.WeakSet[WorkerPool] = weakref.WeakSet()


class WorkersFailed(Error):
    """The worker processes could not start."""


@dataclass(frozen=True)
class Reply:
    """What became of one request: the worker's reply, or why there is none."""

    request: str
    text: str | None
    crash: str | None  # the worker died or sent something unreadable
    seconds: float


class _Worker:
    def __init__(
        self, context: Any, start: Callable[[Any], Handler], setup: Any, hidden: tuple[str, ...]
    ) -> None:
        self.conn, child = context.Pipe(duplex=True)
        args = (child, start, setup, hidden)
        self.process = context.Process(target=_serve, args=args, daemon=True)
        self.process.start()
        child.close()
        self.queue: deque[str] = deque()  # sent, not answered yet; the first is in progress
        self.since = 0.0  # when the first request of the queue started
        self.stopping = False

    def send(self, request: str) -> None:
        if not self.queue:
            self.since = time.perf_counter()
        self.queue.append(request)
        self.conn.send_bytes(request.encode())

    def ready(self) -> None:
        if not self.conn.poll(START_TIMEOUT):
            raise WorkersFailed(f"a vetting worker did not start within {START_TIMEOUT:.0f}s")
        try:
            greeting = self.conn.recv_bytes(MAX_REPLY)
        except (EOFError, OSError):
            raise WorkersFailed(f"a vetting worker failed to start ({self._death()})") from None
        if greeting != READY:
            text = greeting.decode("utf-8", "replace").removeprefix(WORKER_ERROR)
            raise WorkersFailed(f"a vetting worker failed to start: {text[:500]}")

    def receive(self) -> tuple[str | None, str | None]:
        """``(reply, None)``, or ``(None, why)`` when the worker died or overflowed."""
        try:
            if self.conn.poll():
                return self.conn.recv_bytes(MAX_REPLY).decode("utf-8", "replace"), None
        except (EOFError, ConnectionError):  # it died (with requests still in its pipe)
            pass
        except OSError:  # the reply is longer than the limit
            return None, f"the worker's reply is larger than {MAX_REPLY} bytes"
        return None, self._death()

    def _death(self) -> str:
        self.process.join(5)
        code = self.process.exitcode
        if code is None:
            return "the worker process stopped answering"
        if code < 0:
            return f"the worker process was killed by {signal.Signals(-code).name}"
        return f"the worker process exited with code {code}"

    def ask_to_stop(self) -> None:
        """Send the stop request (an empty one); an idle worker exits when it reads it."""
        if not self.stopping:
            self.stopping = True
            with suppress(OSError):
                self.conn.send_bytes(b"")

    def stop(self, grace: float = 5.0) -> None:
        self.ask_to_stop()
        self.process.join(grace)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


class WorkerPool:
    """``jobs`` processes, each running ``start(setup)`` once and its handler per request;
    ``preload`` names the modules the fork server imports for all of them."""

    def __init__(
        self,
        jobs: int,
        start: Callable[[Any], Handler],
        setup: Any,
        hidden_env: Sequence[str] = (),
        preload: Sequence[str] = (),
    ) -> None:
        self.jobs = max(1, jobs)
        self._start, self._setup, self._hidden = start, setup, tuple(hidden_env)
        self._context = _context(preload)
        self._workers: list[_Worker] = []

    def run(self, requests: Iterable[str]) -> Generator[Reply, None, None]:
        """Each request's reply, in the order they finish. Each worker holds its next request
        already, so it does not wait for the caller to read a reply before going on; and
        before handing the caller each reply, the pool takes in those that arrived meanwhile
        and tops the workers up, however long the caller spent on the previous one."""
        pending = deque(requests)
        done: deque[Reply] = deque()
        self._ready(min(self.jobs, len(pending)))
        try:
            while pending or done or self._busy():
                self._dispatch(pending)
                self._take_replies(pending, done, block=not done)
                self._dispatch(pending)
                if done:
                    yield done.popleft()
        finally:
            self.close()

    def close(self) -> None:
        """Stop every worker (an idle one when it reads the stop request, a busy one now), then
        the fork server."""
        for worker in self._workers:  # all are told first, so that they end together
            worker.ask_to_stop()
        for worker in self._workers:
            worker.stop(grace=0 if worker.queue else 5.0)
        self._workers.clear()
        if self in _FORKED:
            _FORKED.discard(self)
            if not _FORKED:  # its workers hold it open: no other pool may have any left
                _stop_fork_server()

    def start(self, count: int) -> None:
        """Start ``count`` workers now, so they load while the caller prepares; ``run`` waits
        for them to be ready."""
        self._launch(max(0, min(self.jobs, count) - len(self._workers)))

    def _ready(self, count: int) -> None:
        self._launch(max(0, count - len(self._workers)))
        for worker in self._workers:
            worker.ready()

    def _spawn(self, count: int) -> None:
        for worker in self._launch(count):
            worker.ready()

    def _launch(self, count: int) -> list[_Worker]:
        if count and self._context.get_start_method() == "forkserver":
            _FORKED.add(self)
        with _without_env(self._hidden):
            fresh = [
                _Worker(self._context, self._start, self._setup, self._hidden) for _ in range(count)
            ]
        self._workers += fresh
        return fresh

    def _take_replies(self, pending: deque[str], done: deque[Reply], block: bool) -> None:
        """Collect every reply that has arrived (waiting for one when ``block``)."""
        busy = self._busy()
        if not busy:
            return
        ends = [w.conn for w in busy] + [w.process.sentinel for w in busy]
        ready = set(wait(ends, None if block else 0))
        done.extend(self._collect(w, pending) for w in busy if {w.conn, w.process.sentinel} & ready)

    def _busy(self) -> list[_Worker]:
        return [worker for worker in self._workers if worker.queue]

    def _dispatch(self, pending: deque[str]) -> None:
        """Top every worker up to ``DEPTH`` requests, one level at a time (so a short list is
        spread over every worker). The last requests go one per worker, to whichever is free
        first: queued behind a slow model, one would keep the run going while others idle."""
        for depth in range(1, DEPTH + 1):
            for worker in self._workers:
                ahead = depth == 1 or len(pending) > len(self._workers)
                if pending and len(worker.queue) < depth and ahead:
                    worker.send(pending.popleft())

    def _collect(self, worker: _Worker, pending: deque[str]) -> Reply:
        """The reply to ``worker``'s oldest request; when it died, a fresh worker takes over
        the requests it had not started."""
        request = worker.queue.popleft()
        text, crash = worker.receive()
        now = time.perf_counter()
        seconds, worker.since = now - worker.since, now
        if crash is not None:
            pending.extendleft(reversed(worker.queue))
            worker.queue.clear()
            self._workers.remove(worker)
            worker.stop(grace=0)
            if pending:
                self._spawn(1)
        return Reply(request, text, crash, seconds)


@contextmanager
def _without_env(names: Sequence[str]) -> Iterator[None]:
    """Unset ``names`` while child processes start, so they never inherit them."""
    saved = {name: os.environ.pop(name) for name in names if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def _context(preload: Sequence[str]) -> Any:
    """The fork server context preloading this module and ``preload`` (not the parent's
    ``__main__``; a non-empty list also hands the server this process's ``sys.path``), or spawn
    on a platform without one."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__, *preload])
    return context


def start_fork_server(preload: Sequence[str], hidden_env: Sequence[str] = ()) -> None:
    """Start the fork server that preloads ``preload`` without waiting for it: it imports on its
    own while this process goes on, and the first pool with the same ``preload`` forks from
    it. Nothing happens on a platform without one."""
    context = _context(preload)
    if context.get_start_method() != "forkserver":
        return
    from multiprocessing import forkserver

    with _without_env(hidden_env):
        forkserver.ensure_running()


def _stop_fork_server() -> None:
    """Stop the fork server and wait for it, as for any child: it reaped the workers, so their
    CPU time is counted with this process's children (``wait4``, ``time``) instead of being
    lost with an orphan. The standard library offers no public call for this."""
    from multiprocessing import forkserver

    stop = getattr(getattr(forkserver, "_forkserver", None), "_stop", None)
    if callable(stop):
        stop()


def _serve(
    conn: Connection, start: Callable[[Any], Handler], setup: Any, hidden: tuple[str, ...]
) -> None:
    """The worker process: set up once, then answer requests until an empty one."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop
    for name in hidden:  # a fork server started before they were hidden would pass them on
        os.environ.pop(name, None)
    _quiet_stdout()
    try:
        handler = start(setup)
    except Exception as exc:  # reported to the parent, which stops the run
        conn.send_bytes(f"{WORKER_ERROR}{type(exc).__name__}: {exc}".encode())
        return
    conn.send_bytes(READY)
    while request := conn.recv_bytes():
        try:
            reply = handler(request.decode())
        except Exception as exc:  # one request's failure, reported as its reply
            reply = f"{WORKER_ERROR}{type(exc).__name__}: {exc}"
        conn.send_bytes(reply.encode())


def _quiet_stdout() -> None:
    """Standard output belongs to the parent's report; a worker's stray prints go nowhere."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
