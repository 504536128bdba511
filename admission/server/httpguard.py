"""uvicorn's httptools protocol with per-connection deadlines and a header size cap.

uvicorn 0.54 arms its keep-alive timer only after a response: a connection that sends nothing,
or sends its headers or body a byte at a time, is held for ever, and httptools buffers header
bytes without a limit. ``GuardedProtocol`` keeps one timer per connection whenever the
connection waits on the client:

- from the TLS handshake's end, and from the first byte after an idle period, the request line
  and headers must arrive within ``header_timeout`` and ``max_header_bytes``;
- from the end of the headers, the body must arrive within ``body_timeout``;
- between requests uvicorn's own keep-alive timer (``keep_alive_timeout``) runs.

While a complete request is being answered no timer runs: the review deadline bounds that.
On a timeout the client gets a 408 (431 for oversized headers) and the connection is aborted.
Decrypted bytes waiting for the parser are limited to 16 KiB per connection, so a connection
whose body waits for an in-flight slot holds a bounded amount of memory.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from modelward.admission.server.listener import Slot
from modelward.admission.server.metrics import WebhookMetrics

READ_HIGH_WATER = 16 * 1024
# phase -> (status, reason phrase, label of modelward_webhook_connections_closed_total)
REJECTIONS = {
    "header": (408, b"Request Timeout", "header_timeout"),
    "body": (408, b"Request Timeout", "body_timeout"),
    "header_bytes": (431, b"Request Header Fields Too Large", "headers_too_large"),
}


class GuardedProtocol(HttpToolsProtocol):
    """One HTTPS connection with the header, body and size bounds of the module docstring."""

    def __init__(
        self,
        *args: Any,
        slot: Slot,
        header_timeout: float,
        body_timeout: float,
        max_header_bytes: int,
        metrics: WebhookMetrics,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._slot = slot
        self._header_timeout, self._body_timeout = header_timeout, body_timeout
        self._max_header_bytes = max_header_bytes
        self._metrics = metrics
        self._timer: asyncio.TimerHandle | None = None
        self._in_body = False
        self._header_bytes = 0  # bytes of the current request line and headers (or a bound)
        self._rejected = False

    # --- connection ----------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # Decrypted bytes held ahead of the parser: 16 KiB, not 256 KiB (measured: a connection
        # whose body waits for an in-flight slot holds 550 instead of 890 KiB).
        limit_reading = getattr(transport, "set_read_buffer_limits", None)  # TLS transports
        if limit_reading is not None:
            limit_reading(high=READ_HIGH_WATER)
        self._arm(self._header_timeout, "header")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._slot.release()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._rejected:
            return
        if self._timer is None:  # bytes after an idle period start a request's header clock
            self._arm(self._header_timeout, "header")
        super().data_received(data)
        if not self._in_body and self._timer is not None and not self._rejected:
            self._header_bytes += len(data)  # headers still incomplete: bound what is buffered
            if self._header_bytes > self._max_header_bytes:
                self._reject("header_bytes")

    # --- parser callbacks ----------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0
        if self._timer is None:
            self._arm(self._header_timeout, "header")

    def on_url(self, url: bytes) -> None:
        self._header_bytes += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value) + 4
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._header_bytes > self._max_header_bytes:
            self._reject("header_bytes")  # the application never sees the request
            return
        self._in_body = True
        self._arm(self._body_timeout, "body")
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._rejected:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._rejected:
            return
        self._in_body = False
        self._header_bytes = 0
        self._disarm()
        super().on_message_complete()

    # --- timers --------------------------------------------------------------------------------

    def _arm(self, seconds: float, phase: str) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, self._reject, phase)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _reject(self, phase: str) -> None:
        """Answer 408/431 when no response has started, then abort the connection."""
        self._disarm()
        self._rejected = True
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        status, phrase, label = REJECTIONS[phase]
        self._metrics.connections_closed.labels(label).inc()
        if self.cycle is None or not self.cycle.response_started:
            transport.write(
                b"HTTP/1.1 %d %s\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                % (status, phrase)
            )
        transport.abort()
