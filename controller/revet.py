"""Re-vetting: verdicts made with another policy bundle or scanner, or too old, go back in the
queue at a bounded rate, so new detections reach models that were admitted before."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from modelward.controller import status as st
from modelward.controller.cluster import ClusterApi, Conflict
from modelward.controller.config import ControllerConfig
from modelward.controller.metrics import ControllerMetrics
from modelward.controller.publisher import Publisher, stale_reason
from modelward.engine.errors import InvalidReference
from modelward.engine.refs import ModelRef
from modelward.engine.vetting.resource import (
    MalformedVetting,
    new_vetting,
    phase_of,
    spec_reference,
)

log = logging.getLogger("modelward.controller")
#: Tolerance for sums of fractional tokens (six sixths of a token make one).
_ROUNDING = 1e-9


class TokenBucket:
    """``rate`` tokens per second, at most ``capacity`` saved up."""

    def __init__(self, rate: float, capacity: float, clock: Callable[[], float]) -> None:
        self.rate, self.capacity, self._clock = rate, capacity, clock
        self._tokens, self._at = capacity, clock()

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1 - _ROUNDING:
            self._tokens = max(0.0, self._tokens - 1)
            return True
        return False


class Revetter:
    def __init__(
        self,
        api: ClusterApi,
        publisher: Publisher,
        config: ControllerConfig,
        metrics: ControllerMetrics,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api, self.publisher, self.metrics = api, publisher, metrics
        self.settings = config.revet
        self.namespace = config.namespace
        rate = self.settings.per_minute / 60
        # Room for one resync period's tokens on top of a fraction left over, so passes one
        # period apart keep the full rate.
        self.bucket = TokenBucket(rate, 1 + rate * config.resync_seconds, clock)
        self._clock = clock
        self._next_scan = 0.0
        self.backlog: deque[tuple[str, str]] = deque()

    def tick(self, vettings: list[dict[str, Any]]) -> None:
        if not self.settings.enabled:
            return
        if self._clock() >= self._next_scan:
            self.backlog = deque(self._stale())
            self._next_scan = self._clock() + self.settings.interval_seconds
        by_reference: dict[str, list[dict[str, Any]]] = {}
        for vetting in vettings:
            by_reference.setdefault(_key(vetting), []).append(vetting)
        while self.backlog:
            reference, reason = self.backlog[0]
            found = by_reference.get(reference, [])
            if _queued(found):  # already being vetted: it costs none of the rate
                self.backlog.popleft()
                continue
            if not self.bucket.take():
                break
            self.backlog.popleft()
            self._requeue(reference, reason, found)

    def _stale(self) -> list[tuple[str, str]]:
        """Every stored verdict that needs another vetting, oldest first (never a revocation)."""
        found = []
        for signed in self.publisher.stored():
            if signed.outcome == "revoked":
                continue  # re-vetting would lift the revocation: only people decide that
            reason = stale_reason(
                signed,
                self.publisher.bundle_revision,
                self.publisher.scanner,
                self.settings.max_age_delta,
            )
            if reason is not None:
                found.append((signed.created_at, signed.reference, reason))
        return [(reference, reason) for _, reference, reason in sorted(found)]

    def _requeue(self, reference: str, reason: str, vettings: list[dict[str, Any]]) -> None:
        message = f"vetting again: {_EXPLAINED.get(reason, reason)}"
        self.metrics.revets.labels(reason).inc()
        if not vettings:
            body = new_vetting(reference, self.namespace, requested_by="revet", reason=message)
            self.api.create_vetting(body)
            log.info("re-vetting %s (%s): new request", reference, reason)
            return
        for vetting in vettings:
            status = dict(vetting.get("status") or {})
            try:
                self.api.write_status(vetting, st.requeued(status, "Revet", message))
            except Conflict:
                continue  # changed meanwhile; the next scan looks again
            self.api.event(vetting, "Normal", "Revet", message)
        log.info("re-vetting %s (%s)", reference, reason)


_EXPLAINED = {
    "PolicyChanged": "the policy bundle changed since the verdict",
    "ScannerChanged": "the scanner changed since the verdict",
    "Aged": "the verdict is older than the re-vetting age",
    "Unreadable": "the stored verdict cannot be read",
}


def _queued(vettings: list[dict[str, Any]]) -> bool:
    return any(phase_of(v) in ("Pending", "Running") for v in vettings)


def _key(vetting: dict[str, Any]) -> str:
    try:
        return ModelRef.parse(spec_reference(vetting)).canonical
    except (MalformedVetting, InvalidReference):
        return ""
