"""Revocations: signed statements that a reference may no longer be used.

A revocation is a verdict (same schema, same signature, same registries) whose payload carries
``revocation`` (the reason, who revoked, and what it replaced) and whose decision is a deny.
Being the newest signed statement for its reference, it wins over every earlier approval by the
freshness rules (``registry.newest``), and the webhook's high-water mark keeps it winning. An
earlier version reading it sees a ``deny``: it fails closed. Vetting the reference again later
publishes a newer verdict, which is how a revocation is lifted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from modelward.engine.decision import Decision, PolicyFinding

if TYPE_CHECKING:
    from modelward.engine.verdicts.signed import Verdict

__all__ = ["REVOKED_ID", "Revocation", "revocation_verdict"]

REVOKED_ID = "verdict-revoked"
MAX_REASON = 1000


class Revocation(BaseModel):
    """Why, by whom, and what the revocation replaced (as the stored payload claimed)."""

    model_config = ConfigDict(frozen=True)

    reason: str = Field(min_length=1, max_length=MAX_REASON)
    revoked_by: str = Field(min_length=1, max_length=256)
    revokes: str | None = None  # created_at of the verdict stored when it was revoked


def revocation_verdict(
    reference: str,
    *,
    reason: str,
    revoked_by: str,
    created_at: str,
    expires_at: str,
    previous: Verdict | None,
) -> Verdict:
    """The (unsigned) revocation of ``reference``; ``previous`` is the verdict it replaces."""
    from modelward.engine.facts import FACTS_SCHEMA_ID
    from modelward.engine.verdicts.signed import Verdict

    digest = previous.digest if previous is not None else None
    finding = PolicyFinding(
        id=REVOKED_ID,
        msg=f"{reference} was revoked by {revoked_by}: {reason}",
        severity="critical",
        title="Verdict revoked",
        remediation="Use another model, or vet this one again once the reason is resolved.",
        policy="revocation",
    )
    decision = Decision(
        outcome="deny", deny=[finding], engine="revocation", bundle_revision="revocation"
    )
    return Verdict(
        reference=reference,
        digest=digest,
        created_at=created_at,
        decision=decision,
        facts={"schema": FACTS_SCHEMA_ID, "subject": {"ref": reference, "digest": digest}},
        expires_at=expires_at,
        revocation=Revocation(
            reason=reason,
            revoked_by=revoked_by,
            revokes=previous.created_at if previous is not None else None,
        ),
    )
