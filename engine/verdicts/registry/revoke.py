"""``revoke``: the one path by which a reference is revoked in any registry.

It signs a revocation (``verdicts.revocation``) newer than anything stored for the reference and
stores it with the registry's ``put``, like any verdict: SQLite keeps it beside the approvals,
Kubernetes replaces the reference's ``ModelVerdict`` (which the webhooks' watches deliver).
"""

from __future__ import annotations

from datetime import timedelta

from modelward.engine.verdicts.freshness import (
    LONGEST_MAX_AGE,
    expiry_after,
    format_time,
    parse_time,
)
from modelward.engine.verdicts.registry import Registry, RegistryUnavailable
from modelward.engine.verdicts.registry.newest import newest_claimed
from modelward.engine.verdicts.revocation import revocation_verdict
from modelward.engine.verdicts.signed import SignedVerdict, Verdict, VerdictSigner, utc_now

__all__ = ["revoke"]

#: How far ahead a stored verdict's signing clock may be for the revocation to follow it.
CLOCK_SKEW = timedelta(days=1)


def revoke(
    registry: Registry,
    reference: str,
    *,
    reason: str,
    revoked_by: str,
    signer: VerdictSigner,
) -> SignedVerdict:
    """Sign and store the revocation of ``reference`` (canonical); return it.

    The revocation is trusted as long as the longest maximum age, so it reads "revoked", not
    "expired", for as long as anyone may look.
    """
    previous = _previous(registry, reference)
    created_at = _after(previous)
    verdict = revocation_verdict(
        reference,
        reason=reason,
        revoked_by=revoked_by,
        created_at=created_at,
        expires_at=expiry_after(created_at, LONGEST_MAX_AGE),
        previous=previous,
    )
    signed = signer.sign(verdict)
    registry.put(signed)
    return signed


def _after(previous: Verdict | None) -> str:
    """Now, or just after ``previous`` when its signing clock ran slightly ahead of ours."""
    now = utc_now()
    claimed = parse_time(previous.created_at) if previous is not None else None
    current = parse_time(now)
    if claimed is None or current is None or not current <= claimed < current + CLOCK_SKEW:
        return now
    return format_time(claimed + timedelta(microseconds=1))


def _previous(registry: Registry, reference: str) -> Verdict | None:
    """The stored verdict the revocation replaces (the newest claimed; unverified)."""
    try:
        stored = newest_claimed(registry.candidates(reference))
    except RegistryUnavailable:
        path = getattr(registry, "path", None)
        if path is not None and not path.exists():
            return None  # a SQLite registry nothing was published to yet
        raise
    return stored.unverified_verdict() if stored is not None else None
