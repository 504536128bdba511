"""The webhook's ASGI application: POST /validate (and /), /healthz, /readyz, /metrics.

A review is decided on the event loop (``AdmissionService.decide``), which awaits its policy
evaluations; past the configured deadline it is cancelled, and on any unexpected error the
answer is a deny (fail closed). Exactly one answer per request is audited, before it is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from modelward.admission.audit_log import AuditLog, AuditLogError, NoAuditLog
from modelward.admission.core import INTERNAL_ERROR, MAX_BODY_BYTES, ReviewResult
from modelward.admission.errors import InvalidReview
from modelward.admission.judge import EVALUATION_ERROR, REGISTRY_UNAVAILABLE
from modelward.admission.metrics import CONTENT_TYPE, WebhookMetrics
from modelward.admission.service import AdmissionService, encode, error_body

log = logging.getLogger("modelward.admission.server")

Scope = Mapping[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
JSON = b"application/json"
REVIEW_PATHS = ("/validate", "/")
FAILURES = {EVALUATION_ERROR, REGISTRY_UNAVAILABLE}


class ClientGone(Exception):
    """The client disconnected before it sent the whole body."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    result: str = ""  # the decision label for the metrics ("" when nothing was decided)
    mode: str = ""


class WebhookApp:
    """ASGI 3 application around an ``AdmissionService``."""

    def __init__(
        self,
        service: AdmissionService,
        audit: AuditLog | NoAuditLog,
        *,
        background: Sequence[Callable[[], Coroutine[Any, Any, None]]] = (),
    ) -> None:
        self.service = service
        self.audit = audit
        self.metrics = WebhookMetrics(service.synced)
        self._background = background
        self._tasks: list[asyncio.Task[None]] = []
        self._deadline = service.config.deadline_seconds

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
        if path in REVIEW_PATHS:
            if method != "POST":
                await self._fail(send, 405, "use POST")
            else:
                await self._review(scope, receive, send)
        elif path in ("/healthz", "/readyz", "/metrics") and method not in ("GET", "HEAD"):
            await self._fail(send, 405, "use GET")
        elif path == "/healthz":
            await respond(send, 200, b"ok\n", b"text/plain")
        elif path == "/readyz":
            ready, reason = self.service.ready()
            text = b"ok\n" if ready else f"not ready: {reason}\n".encode()
            await respond(send, 200 if ready else 503, text, b"text/plain")
        elif path == "/metrics":
            await respond(send, 200, self.metrics.exposition(), CONTENT_TYPE.encode())
        else:
            await self._fail(send, 404, f"no such path: {path}")

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
        try:
            body = await read_body(receive, MAX_BODY_BYTES)
        except ClientGone:
            return
        if body is None:
            await self._fail(send, 413, f"the body is larger than {MAX_BODY_BYTES} bytes", True)
            return
        self.metrics.in_flight.inc()
        try:
            answer = await self._decide(body, deadline)
        finally:
            self.metrics.in_flight.dec()
        if answer.result:
            self.metrics.decision(answer.result, answer.mode)
        elif answer.status == 400:
            self.metrics.bad_requests.labels("400").inc()
        await respond(send, answer.status, answer.body)
        self.metrics.duration.observe(time.perf_counter() - started)

    async def _decide(self, body: bytes, deadline: float) -> Answer:
        try:
            parsed = self.service.parse(body)
        except InvalidReview as exc:
            return Answer(400, error_body(str(exc)))
        try:
            decided = self.service.decide(parsed)
            result = await asyncio.wait_for(decided, max(deadline - time.monotonic(), 0.0))
        except TimeoutError:
            self.metrics.deadline_exceeded.inc()
            reason = f"the review did not finish within the deadline of {self._deadline:g} s"
            result = self.service.fail(parsed, reason)
        except InvalidReview as exc:
            return Answer(400, error_body(str(exc)))
        except Exception as exc:  # a bug: never an allow
            log.exception("reviewing %s failed", _uid(parsed))
            self.metrics.internal_errors.inc()
            result = self.service.fail(parsed, f"internal error: {type(exc).__name__}: {exc}")
        return self._finish(result)

    def _finish(self, result: ReviewResult) -> Answer:
        try:
            self.audit.write(result.audit)
        except AuditLogError as exc:
            log.error("not answering %s: %s", _uid(result.response), exc)
            self.metrics.audit_failures.inc()
            return Answer(500, error_body(f"the decision could not be audited: {exc.strerror}"))
        result_label, mode = decision_labels(result)
        return Answer(200, encode(result.response), result_label, mode)


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


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None as soon as it grows past ``limit``."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


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
