"""The webhook's ASGI application: POST /validate (and /), /healthz, /readyz, /metrics.

A review is decided on the event loop (``AdmissionService.decide``), which awaits its policy
evaluations; past the configured deadline it is cancelled, and on any unexpected error the
answer is a deny (fail closed). Exactly one answer per request is audited, before it is sent;
every internal error is logged with the request's uid and counted. Body bytes in flight and
reviews being decided are bounded (``inflight.Budget``); a review that waits for them past its
deadline gets a 503 that names the limit. ``/healthz`` fails once the webhook has not been ready
for ``ready_timeout`` seconds, so the kubelet restarts a webhook that cannot become ready. With
a separate metrics port, ``/metrics`` is served there only. Once an answer is sent, the
ModelVettings it lists (``auto_vetting``) are handed to the service's requester.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from modelward.admission.errors import InvalidReview
from modelward.admission.review.core import INTERNAL_ERROR, MAX_BODY_BYTES, ReviewResult
from modelward.admission.review.judge import EVALUATION_ERROR, REGISTRY_UNAVAILABLE
from modelward.admission.review.vetting import VettingRequest
from modelward.admission.server.audit_log import AuditLog, AuditLogError, NoAuditLog
from modelward.admission.server.inflight import Budget
from modelward.admission.server.limits import ServerLimits
from modelward.admission.server.metrics import CONTENT_TYPE, WebhookMetrics
from modelward.admission.server.service import AdmissionService, encode, error_body

log = logging.getLogger("modelward.admission.server.app")

Scope = Mapping[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
JSON = b"application/json"
REVIEW_PATHS = ("/validate", "/")
PROBE_PATHS = ("/healthz", "/readyz")
TEXT = b"text/plain"
FAILURES = {EVALUATION_ERROR, REGISTRY_UNAVAILABLE}


class ClientGone(Exception):
    """The client disconnected before it sent the whole body."""


class Overloaded(Exception):
    """A budget stayed exhausted until the deadline; the message names the limit."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    result: str = ""  # the decision label for the metrics ("" when nothing was decided)
    mode: str = ""
    vetting: tuple[VettingRequest, ...] = ()  # requested once the answer is sent


class WebhookApp:
    """ASGI 3 application around an ``AdmissionService``."""

    def __init__(
        self,
        service: AdmissionService,
        audit: AuditLog | NoAuditLog,
        *,
        background: Sequence[Callable[[], Coroutine[Any, Any, None]]] = (),
        limits: ServerLimits | None = None,
        metrics_port: int | None = None,
    ) -> None:
        self.service = service
        self.audit = audit
        self.metrics = WebhookMetrics(service.synced)
        self.limits = limits = limits or ServerLimits()
        self.metrics_port = metrics_port
        self.body_bytes = Budget(limits.max_in_flight_bytes)
        self.deciding = Budget(limits.max_in_flight)
        self._background = background
        self._tasks: list[asyncio.Task[None]] = []
        self._deadline = service.config.deadline_seconds
        self._last_ready = time.monotonic()  # start, then each time readiness was seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    # --- lifespan ------------------------------------------------------------------------------

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._last_ready = time.monotonic()
                self.service.start()
                self._tasks = [asyncio.create_task(job()) for job in self._background]
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for task in self._tasks:
                    task.cancel()
                self.service.close()
                self.audit.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # --- routing -------------------------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        on_metrics_port = self.metrics_port is not None and _port(scope) == self.metrics_port
        if path in REVIEW_PATHS and not on_metrics_port:
            if method != "POST":
                await self._fail(send, 405, "use POST")
            else:
                await self._review(scope, receive, send)
        elif path in (*PROBE_PATHS, "/metrics") and method not in ("GET", "HEAD"):
            await self._fail(send, 405, "use GET")
        elif path == "/healthz":
            healthy, text = self.health()
            await respond(send, 200 if healthy else 503, text.encode(), TEXT)
        elif path == "/readyz":
            ready, reason = self._ready()
            answer = b"ok\n" if ready else f"not ready: {reason}\n".encode()
            await respond(send, 200 if ready else 503, answer, TEXT)
        elif path == "/metrics" and (self.metrics_port is None or on_metrics_port):
            await respond(send, 200, self.metrics.exposition(), CONTENT_TYPE.encode())
        elif path == "/metrics":
            await self._fail(send, 404, f"/metrics is served on port {self.metrics_port}")
        else:
            await self._fail(send, 404, f"no such path: {path}")

    def health(self) -> tuple[bool, str]:
        """Liveness: False once the webhook has not been ready for ``ready_timeout`` seconds."""
        ready, reason = self._ready()
        waited = time.monotonic() - self._last_ready
        if ready or waited <= self.limits.ready_timeout:
            return True, "ok\n"
        return False, (
            f"not ready for {waited:.0f} s, longer than the limit of "
            f"{self.limits.ready_timeout:g} s (--ready-timeout): {reason}\n"
        )

    def _ready(self) -> tuple[bool, str]:
        ready, reason = self.service.ready()
        if ready:
            self._last_ready = time.monotonic()
        return ready, reason

    async def _fail(self, send: Send, status: int, message: str, close: bool = False) -> None:
        self.metrics.bad_requests.labels(str(status)).inc()
        await respond(send, status, error_body(message), close=close)

    # --- reviews -------------------------------------------------------------------------------

    async def _review(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        deadline = time.monotonic() + self._deadline
        headers = dict(scope["headers"])
        media = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if media != JSON:
            await self._fail(send, 415, "the body must be application/json")
            return
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            await self._fail(send, 413, f"the body is larger than {MAX_BODY_BYTES} bytes", True)
            return
        held = [0]  # body bytes taken from the budget, given back once answered
        try:
            await self._answer(receive, send, deadline, started, held)
        except Overloaded as exc:
            self.metrics.overloaded.inc()
            await respond(send, 503, error_body(str(exc)), close=True)
        finally:
            self.body_bytes.release(held[0])

    async def _answer(
        self, receive: Receive, send: Send, deadline: float, started: float, held: list[int]
    ) -> None:
        try:
            body = await self._read_body(receive, deadline, held)
        except ClientGone:
            return
        if body is None:
            await self._fail(send, 413, f"the body is larger than {MAX_BODY_BYTES} bytes", True)
            return
        if not await self.deciding.acquire(1, deadline - time.monotonic()):
            limit = f"{self.limits.max_in_flight} reviews being decided (--max-in-flight)"
            raise Overloaded(self._overloaded(limit))
        self.metrics.in_flight.inc()
        try:
            answer = await self._decide(body, deadline)
        finally:
            self.metrics.in_flight.dec()
            self.deciding.release(1)
        if answer.result:
            self.metrics.decision(answer.result, answer.mode)
        elif answer.status == 400:
            self.metrics.bad_requests.labels("400").inc()
        await respond(send, answer.status, answer.body)
        self.metrics.duration.observe(time.perf_counter() - started)
        if answer.vetting:
            self.service.request_vetting(answer.vetting)

    async def _read_body(self, receive: Receive, deadline: float, held: list[int]) -> bytes | None:
        """The whole body (None past ``MAX_BODY_BYTES``), each chunk charged to the budget."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                return None
            cost = self.body_bytes.cost(len(chunk))
            if not await self.body_bytes.acquire(cost, deadline - time.monotonic()):
                limit = f"{self.limits.max_in_flight_bytes} body bytes (--max-in-flight-bytes)"
                raise Overloaded(self._overloaded(limit))
            held[0] += cost
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _overloaded(self, limit: str) -> str:
        return (
            f"the webhook is at its limit of {limit} in flight, and not enough finished "
            f"within the review deadline of {self._deadline:g} s"
        )

    async def _decide(self, body: bytes, deadline: float) -> Answer:
        try:
            parsed = self.service.parse(body)
        except InvalidReview as exc:
            return Answer(400, error_body(str(exc)))
        except Exception as exc:  # a bug in parsing: nothing to deny, so a 500
            log.exception("parsing a review failed")
            self.metrics.internal_errors.inc()
            return Answer(500, error_body(f"internal error: {type(exc).__name__}"))
        try:
            decided = self.service.decide(parsed)
            result = await asyncio.wait_for(decided, max(deadline - time.monotonic(), 0.0))
        except TimeoutError:
            self.metrics.deadline_exceeded.inc()
            reason = f"the review did not finish within the deadline of {self._deadline:g} s"
            result = self.service.fail(parsed, reason)
        except InvalidReview as exc:
            return Answer(400, error_body(str(exc)))
        except Exception as exc:  # a bug: never an allow (logged and counted by _finish)
            log.exception("reviewing %s failed", _uid(parsed))
            result = self.service.fail(parsed, f"{INTERNAL_ERROR}: {type(exc).__name__}: {exc}")
        return self._finish(result)

    def _finish(self, result: ReviewResult) -> Answer:
        problem = internal_error(result)
        if problem is not None:
            self.metrics.internal_errors.inc()
            log.error("internal error while reviewing %s: %s", _uid(result.response), problem)
        try:
            self.audit.write(result.audit)
        except AuditLogError as exc:
            log.error("not answering %s: %s", _uid(result.response), exc)
            self.metrics.audit_failures.inc()
            return Answer(500, error_body(f"the decision could not be audited: {exc.strerror}"))
        result_label, mode = decision_labels(result)
        return Answer(200, encode(result.response), result_label, mode, result.vetting)


def internal_error(result: ReviewResult) -> str | None:
    """The message of a deny caused by an internal error (printable), else None."""
    audit = result.audit
    message = str(audit.get("message") or "")
    if INTERNAL_ERROR in (audit.get("problems") or ()) or INTERNAL_ERROR in message:
        return message.encode("utf-8", "backslashreplace").decode()
    return None


def decision_labels(result: ReviewResult) -> tuple[str, str]:
    """(result, mode) of a decision for the metrics, from its audit record.

    ``error``: no decision could be made (deadline, not ready, registry or engine failure); the
    mode is ``none`` when the request was denied before its mode was known.
    """
    audit = result.audit
    mode = str(audit.get("mode") or "none")
    ids = {i for model in audit.get("models") or () for i in model.get("deny") or ()}
    if audit.get("exempt"):
        return "exempt", mode
    if mode == "none" or ids & FAILURES or INTERNAL_ERROR in str(audit.get("message")):
        return "error", mode
    if not audit.get("allowed"):
        return "denied", mode
    return ("warned" if audit.get("would_deny") else "allowed"), mode


async def respond(
    send: Send, status: int, body: bytes, content_type: bytes = JSON, *, close: bool = False
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _uid(document: Mapping[str, Any]) -> str:
    with contextlib.suppress(AttributeError, TypeError):
        inner = document.get("request") or document.get("response") or {}
        return f"uid {inner.get('uid')!r}"
    return "a review"


def _port(scope: Scope) -> int | None:
    server = scope.get("server")
    return server[1] if server else None
