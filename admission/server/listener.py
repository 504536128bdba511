"""Accepting connections with a cap and a TLS handshake deadline, under uvicorn.

uvicorn's ``Server.startup`` hands the listening socket to ``loop.create_server``: every TCP
connection is accepted, and a client that never completes its TLS handshake holds its socket and
TLS state for the loop's default 60 s. ``GuardedServer`` accepts instead: a connection beyond
``max_connections`` (counted from accept until closed, handshakes included) is closed at once,
before any TLS work, and a handshake must finish within the header timeout. Each accepted
connection holds a ``Slot`` that its protocol (``httpguard``) releases when it closes.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import sys
import time
from collections.abc import Callable
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE

from modelward.admission.server.limits import SHUTDOWN_TIMEOUT
from modelward.admission.server.metrics import WebhookMetrics

log = logging.getLogger("modelward.admission.server.listener")
ACCEPT_BATCH = 64  # connections accepted per wakeup, so a flood cannot starve the loop
REFUSED_LOG_INTERVAL = 10.0
ProtocolFactory = Callable[["Slot"], asyncio.Protocol]


class Slot:
    """One accepted connection's place under the cap; ``release`` is idempotent."""

    __slots__ = ("_listener",)

    def __init__(self, listener: Listener) -> None:
        self._listener: Listener | None = listener

    def release(self) -> None:
        if self._listener is not None:
            self._listener.open -= 1
            self._listener = None


class Listener:
    """One listening socket, accepted from the event loop; duck-types ``asyncio.Server``."""

    def __init__(
        self,
        sock: socket.socket,
        *,
        name: str,
        limit: int,
        factory: ProtocolFactory,
        context: ssl.SSLContext,
        handshake_timeout: float,
        metrics: WebhookMetrics,
    ) -> None:
        self.sock, self.name, self.limit = sock, name, limit
        self.open = 0
        self._factory, self._context = factory, context
        self._handshake_timeout = handshake_timeout
        self._metrics = metrics
        self._handshakes: set[asyncio.Task[None]] = set()
        self._loop = asyncio.get_running_loop()
        self._refused_logged = 0.0
        sock.setblocking(False)
        self._loop.add_reader(sock.fileno(), self._accept)
        metrics.connections.labels(name).set_function(lambda: float(self.open))

    @property
    def sockets(self) -> list[socket.socket]:
        return [self.sock]

    def close(self) -> None:
        """Stop accepting; connections still in their handshake are dropped."""
        if self.sock.fileno() >= 0:
            self._loop.remove_reader(self.sock.fileno())
            self.sock.close()
        for task in self._handshakes:
            task.cancel()

    async def wait_closed(self) -> None:
        if self._handshakes:
            await asyncio.gather(*self._handshakes, return_exceptions=True)

    def _accept(self) -> None:
        for _ in range(ACCEPT_BATCH):
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # out of descriptors: retry once some connections closed
                log.error("cannot accept a connection on %s: %s", self.name, exc)
                self._pause(0.1)
                return
            if self.open >= self.limit:
                conn.close()
                self._refuse()
                continue
            self.open += 1
            task = self._loop.create_task(self._handshake(conn, Slot(self)))
            self._handshakes.add(task)
            task.add_done_callback(self._handshakes.discard)

    async def _handshake(self, conn: socket.socket, slot: Slot) -> None:
        try:
            await self._loop.connect_accepted_socket(
                lambda: self._factory(slot),
                conn,
                ssl=self._context,
                ssl_handshake_timeout=self._handshake_timeout,
                ssl_shutdown_timeout=SHUTDOWN_TIMEOUT,
            )
        except (OSError, ssl.SSLError, asyncio.CancelledError) as exc:  # timeouts included
            slot.release()
            conn.close()
            timed_out = isinstance(exc, TimeoutError) or "taking longer" in str(exc)  # uvloop
            reason = "handshake_timeout" if timed_out else "handshake_failed"
            self._metrics.connections_closed.labels(reason).inc()

    def _refuse(self) -> None:
        self._metrics.connections_closed.labels("limit").inc()
        now = time.monotonic()
        if now - self._refused_logged >= REFUSED_LOG_INTERVAL:
            self._refused_logged = now
            log.warning(
                "refusing connections on %s: %d are open, the limit (--max-connections) is %d",
                self.name,
                self.open,
                self.limit,
            )

    def _pause(self, seconds: float) -> None:
        fd = self.sock.fileno()
        self._loop.remove_reader(fd)
        self._loop.call_later(seconds, self._resume, fd)

    def _resume(self, fd: int) -> None:
        if self.sock.fileno() == fd:  # not closed meanwhile
            self._loop.add_reader(fd, self._accept)


def bind(host: str, port: int, backlog: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=backlog)


class GuardedServer(uvicorn.Server):
    """``uvicorn.Server`` whose listeners are ``Listener`` objects, one per (name, port)."""

    def __init__(
        self,
        config: uvicorn.Config,
        listeners: Callable[[GuardedServer], list[Listener]],
    ) -> None:
        super().__init__(config)
        self._make_listeners = listeners

    def protocol(self, slot: Slot, **guard: Any) -> asyncio.Protocol:
        """A connection's HTTP protocol (``httpguard.GuardedProtocol``) with uvicorn's state."""
        return self.config.http_protocol_class(  # type: ignore[call-arg]
            config=self.config,
            server_state=self.server_state,
            app_state=self.lifespan.state,
            slot=slot,
            **guard,
        )

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await self.lifespan.startup()
        if self.lifespan.should_exit:
            sys.exit(STARTUP_FAILURE)
        try:
            listeners = self._make_listeners(self)
        except OSError as exc:
            log.error("cannot listen: %s", exc)
            await self.lifespan.shutdown()
            sys.exit(STARTUP_FAILURE)
        self.servers = listeners  # type: ignore[assignment]  # close() and wait_closed()
        for listener in listeners:
            host, port = listener.sock.getsockname()[:2]
            log.info("listening on https://%s:%d (%s)", host, port, listener.name)
        self.started = True
