"""Which stored verdict counts for a reference: the newest by its *signed* ``created_at``.

A registry may hold several verdicts for one reference (SQLite keeps every put; a Kubernetes
object may have been replaced). Its index (columns, ``spec`` fields) is unsigned and never
decides: ``newest_verified`` picks, among the candidates whose signature verifies for the
reference, the one with the newest signed ``created_at`` (at the same instant a non-allow wins).
``newest_claimed`` orders by what each payload *claims*, without checking signatures: for
listings and for ``Registry.get``, never for a decision.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from modelward.engine.verdicts.freshness import parse_time
from modelward.engine.verdicts.signed import SignedVerdict, VerdictKeys

__all__ = ["NewestVerdictLookup", "claimed_created_at", "newest_claimed", "newest_verified"]

Candidates = Callable[[str], Sequence[SignedVerdict]]
_EPOCH = datetime.min.replace(tzinfo=UTC)


def newest_verified(
    candidates: Iterable[SignedVerdict], reference: str, keys: VerdictKeys
) -> SignedVerdict | None:
    """The newest candidate whose signature verifies for ``reference``, by signed time.

    When none verifies, the first candidate (so that checking it says why); None when there is
    no candidate at all.
    """
    best: SignedVerdict | None = None
    best_rank: tuple[datetime, bool] | None = None
    first: SignedVerdict | None = None
    for signed in candidates:
        first = first or signed
        verified = keys.verify(signed, reference)
        if not verified.trusted or verified.verdict is None:
            continue
        created = parse_time(verified.verdict.created_at)
        if created is None:
            continue
        rank = (created, verified.verdict.outcome != "allow")
        if best_rank is None or rank > best_rank:
            best, best_rank = signed, rank
    return best if best is not None else first


def newest_claimed(candidates: Iterable[SignedVerdict]) -> SignedVerdict | None:
    """The candidate whose payload claims the newest ``created_at`` (signatures not checked)."""
    best: SignedVerdict | None = None
    best_time = _EPOCH
    for signed in candidates:
        claimed = claimed_created_at(signed) or _EPOCH
        if best is None or claimed > best_time:
            best, best_time = signed, claimed
    return best


def by_claimed_time(candidates: Iterable[SignedVerdict]) -> list[SignedVerdict]:
    """Newest claimed ``created_at`` first; equal times keep their order."""
    return sorted(candidates, key=lambda s: claimed_created_at(s) or _EPOCH, reverse=True)


def claimed_created_at(signed: SignedVerdict) -> datetime | None:
    """The ``created_at`` the payload claims (not verified); None when it has none."""
    try:
        payload = json.loads(base64.b64decode(signed.envelope["payload"], validate=True))
    except (KeyError, TypeError, ValueError, binascii.Error, RecursionError):
        return None
    return parse_time(payload.get("created_at")) if isinstance(payload, dict) else None


class NewestVerdictLookup:
    """``reference -> SignedVerdict | None`` over a registry's candidates (``newest_verified``)."""

    def __init__(self, candidates: Candidates, keys: VerdictKeys) -> None:
        self._candidates = candidates
        self._keys = keys

    def __call__(self, reference: str) -> SignedVerdict | None:
        """May raise ``RegistryUnavailable`` (from the registry): fail closed."""
        return newest_verified(self._candidates(reference), reference, self._keys)
