"""Creating the ModelVettings the core lists (``auto_vetting``), off the request path.

``submit`` never blocks and never raises: a request goes into a bounded queue (a full queue drops
it, with a log line) unless the same reference was submitted for the same namespace within
``remember_seconds``. One background thread drains the queue with the webhook's API client. A
failed request is logged and forgotten, so the next denied apply asks again; nothing here ever
changes an admission decision.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from modelward.admission.review.vetting import VettingRequest
from modelward.admission.server.metrics import VETTING_REQUESTS

log = logging.getLogger("modelward.admission.server.vetting_requests")

MAX_QUEUED = 1000
REMEMBER_SECONDS = 600.0
MAX_REMEMBERED = 10_000

RequestVetting = Callable[[VettingRequest], bool]  # True: created; False: it existed already


class VettingRequester:
    """A bounded queue of vetting requests, deduplicated for a while, and the thread that
    performs them."""

    def __init__(
        self,
        request: RequestVetting,
        *,
        max_queued: int = MAX_QUEUED,
        remember_seconds: float = REMEMBER_SECONDS,
        max_remembered: int = MAX_REMEMBERED,
        clock: Callable[[], float] = time.monotonic,
        counter: Any = VETTING_REQUESTS,
    ) -> None:
        self._request = request
        self._queue: queue.Queue[VettingRequest | None] = queue.Queue(max_queued)
        self._recent: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._remember = remember_seconds
        self._max_remembered = max_remembered
        self._clock = clock
        self._counter = counter
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._drain, name="vetting-requests", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Perform what is queued (within ``timeout``), then end the thread."""
        if not self._thread.is_alive():
            return
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            return  # a daemon thread: it ends with the process
        self._thread.join(timeout)

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    def submit(self, requests: Iterable[VettingRequest]) -> None:
        """Queue each request not submitted recently; never blocks, never raises."""
        for request in requests:
            key = (request.namespace, request.reference)
            if not self._mark(key):
                continue
            try:
                self._queue.put_nowait(request)
            except queue.Full:
                self._forget(key)
                self._counter.labels("dropped").inc()
                log.warning(
                    "vetting request for %s in %s dropped: %d requests are queued already",
                    request.reference, request.namespace, self._queue.maxsize,
                )  # fmt: skip

    def perform_queued(self) -> int:
        """Perform every queued request in this thread (the thread's work, without it);
        return how many were performed."""
        done = 0
        while True:
            try:
                request = self._queue.get_nowait()
            except queue.Empty:
                return done
            if request is not None:
                self._perform(request)
                done += 1

    def _drain(self) -> None:
        while True:
            request = self._queue.get()
            if request is None:
                return
            self._perform(request)

    def _perform(self, request: VettingRequest) -> None:
        try:
            created = self._request(request)
        except Exception as exc:  # any failure is logged; admission never depends on it
            self._forget((request.namespace, request.reference))
            self._counter.labels("failed").inc()
            log.warning(
                "vetting request for %s in %s failed: %s",
                request.reference, request.namespace, _why(exc),
            )  # fmt: skip
            return
        self._counter.labels("requested").inc()
        state = "created" if created else "exists already"
        log.info("ModelVetting %s/%s %s", request.namespace, request.name, state)

    def _mark(self, key: tuple[str, str]) -> bool:
        """Remember ``key`` as submitted now; False when it was submitted recently."""
        now = self._clock()
        with self._lock:
            recent = self._recent
            while recent and now - next(iter(recent.values())) >= self._remember:
                recent.popitem(last=False)  # oldest first: expired ones lead
            if key in recent:
                return False
            while len(recent) >= self._max_remembered:
                recent.popitem(last=False)
            recent[key] = now
            return True

    def _forget(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._recent.pop(key, None)


def kubernetes_requester(api_client: Any) -> RequestVetting:
    """Create the ModelVetting with ``api_client`` (as the webhook, ``requestedBy: webhook``)."""
    from modelward.engine.vetting.requests import request_vetting

    def request(vetting: VettingRequest) -> bool:
        _, created = request_vetting(
            api_client,
            vetting.namespace,
            vetting.reference,
            requested_by="webhook",
            reason=vetting.reason or None,
        )
        return created

    return request


def _why(exc: Exception) -> str:
    diagnostics = getattr(exc, "diagnostics", None)
    if callable(diagnostics):
        return str(diagnostics())
    return f"{type(exc).__name__}: {exc}"
