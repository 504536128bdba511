"""Bounded waits on the Hub: every request gives up when the Hub stays silent too long.

``huggingface_hub`` waits forever by default (its HTTP client has no timeout). Every call modelward
makes, directly or through ``huggingface_hub``, uses a client whose connect and read waits are
bounded by ``$MODELWARD_HUB_TIMEOUT`` seconds (default 20), and so is the silence across
``huggingface_hub``'s retries: a download that keeps receiving bytes goes on, a Hub that accepts
and never answers (or a port nobody listens on) fails within that time (plus at most one retry
pause). While a call waits more than a few seconds, a warning says what it waits for.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import httpx2
from huggingface_hub import set_client_factory
from huggingface_hub.utils._http import hf_request_event_hook

from modelward.engine.errors import Error

TIMEOUT_ENV: Final = "MODELWARD_HUB_TIMEOUT"
DEFAULT_TIMEOUT: Final = 20.0
MAX_TIMEOUT: Final = 3600.0
#: After this long a wait is announced (a warning on stderr when logging is not configured).
ANNOUNCE_AFTER: Final = 3.0
log = logging.getLogger("modelward.hub")
_configured: list[float] = []
_lock = threading.Lock()


class HubTimeoutSetting(Error):
    """``$MODELWARD_HUB_TIMEOUT`` is not a number of seconds."""


def hub_timeout() -> float:
    """Seconds a Hub request may stay silent: ``$MODELWARD_HUB_TIMEOUT``, else 20."""
    text = os.environ.get(TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= MAX_TIMEOUT:
        raise HubTimeoutSetting(
            f"${TIMEOUT_ENV}={text!r}: expected seconds between 0 and {MAX_TIMEOUT:g}, e.g. 20"
        )
    return value


def use_timeout(seconds: float) -> None:
    """Make ``huggingface_hub``'s shared HTTP client wait at most ``seconds`` for the Hub."""
    with _lock:
        if _configured == [seconds]:
            return
        set_client_factory(lambda: _client(seconds))
        _configured[:] = [seconds]


@contextmanager
def announced(what: str, endpoint: str, seconds: float) -> Iterator[None]:
    """Warn once, after ``ANNOUNCE_AFTER`` seconds, that ``what`` is still waiting."""
    timer = threading.Timer(
        ANNOUNCE_AFTER,
        log.warning,
        args=(
            "waiting for %s (%s); each request gives up after %g s of silence ($%s)",
            endpoint, what, seconds, TIMEOUT_ENV,
        ),
    )  # fmt: skip
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


class HubSilent(Error):
    """The Hub has answered nothing for longer than ``$MODELWARD_HUB_TIMEOUT`` (retries
    included): the wait ends here instead of going on retrying."""


class _Silence:
    """How long the Hub has answered nothing: starts with a request, ends with any response."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.since: float | None = None

    def on_request(self, request: httpx2.Request) -> None:
        now = time.monotonic()
        if self.since is None:
            self.since = now
        left = self.seconds - (now - self.since)
        if left <= 0:
            raise HubSilent(
                f"{request.url.scheme}://{request.url.netloc.decode()} answered nothing for "
                f"{self.seconds:g} s (${TIMEOUT_ENV})"
            )
        # huggingface_hub passes timeout=None (no limit) on some calls: cap every wait.
        asked = request.extensions.get("timeout") or {}
        request.extensions["timeout"] = {
            phase: left if asked.get(phase) is None else min(asked[phase], left)
            for phase in ("connect", "read", "write", "pool")
        }

    def on_response(self, response: httpx2.Response) -> None:
        self.since = None


def _client(seconds: float) -> httpx2.Client:
    silence = _Silence(seconds)
    return httpx2.Client(
        event_hooks={
            "request": [hf_request_event_hook, silence.on_request],
            "response": [silence.on_response],
        },
        follow_redirects=True,
        timeout=httpx2.Timeout(seconds),
    )
