"""Expiry entries: a verdict that reaches its signed ``expires_at`` is recorded once in the log.

Expiry happens by the clock, not by a write, so something has to notice it: the controller's
leader on every pass (``ExpirySweep``) and ``modelward registry record-expiries`` (for a SQLite
registry, from cron). A verdict already recorded as expired (same ``verdict_digest``) is not
recorded again.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from modelward.engine.verdicts.auditlog.entry import digest_of
from modelward.engine.verdicts.freshness import parse_time
from modelward.engine.verdicts.registry import Registry, RegistryUnavailable, audit_log
from modelward.engine.verdicts.signed import SignedVerdict


def recorded_expiries(entries: Iterable[tuple[int, dict[str, Any]]]) -> set[str]:
    """The verdict digests the log already records as expired (payloads read unverified)."""
    found: set[str] = set()
    for _, envelope in entries:
        try:
            payload = json.loads(base64.b64decode(envelope["payload"]))
        except (KeyError, TypeError, ValueError):
            continue
        if isinstance(payload, dict) and payload.get("kind") == "expiry":
            found.add(str(payload.get("verdict_digest")))
    return found


def newly_expired(
    verdicts: Iterable[SignedVerdict], recorded: set[str], now: datetime
) -> list[SignedVerdict]:
    """The verdicts past their claimed ``expires_at`` that are not in ``recorded``."""
    out = []
    for signed in verdicts:
        verdict = signed.unverified_verdict()
        expires = parse_time(verdict.expires_at) if verdict and verdict.expires_at else None
        if expires is not None and expires <= now and digest_of(signed.envelope) not in recorded:
            out.append(signed)
    return out


class ExpirySweep:
    """Records the expiries of a registry whose ``put`` is logged (it has ``record``)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._recorded: set[str] | None = None  # read from the log once, then kept

    def run(self, now: datetime | None = None) -> int:
        """Append an ``expiry`` entry for each newly expired verdict; returns how many."""
        record = getattr(self.registry, "record", None)
        if record is None:
            raise RegistryUnavailable(f"{self.registry!r} keeps no audit log")
        if self._recorded is None:
            self._recorded = recorded_expiries(audit_log(self.registry))
        expired = newly_expired(self.registry.list(), self._recorded, now or datetime.now(UTC))
        if expired:
            record([(signed, "expiry") for signed in expired])
            self._recorded |= {digest_of(signed.envelope) for signed in expired}
        return len(expired)
