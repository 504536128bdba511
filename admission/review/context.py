"""The policy input at admission: model facts (or a stub), request context, reference, verdict.

``{"model": <facts of the trusted verdict> or a stub naming the reference,
   "context": {"source": "admission", "operation", "dry_run", "namespace", "namespace_labels",
               "environment", "workload": {"kind", "name", "api_version"}, "container",
               "user": {"username", "groups"}, "mode"},
   "admission": {"reference": {...}, "verdict": {...}}}``

The verdict's lifecycle is in ``admission.verdict``: ``expires_at``, ``expires_in_days``,
``expiry_warning_days`` (configured), ``revoked`` (reason and who, or null), ``scope`` (as
signed, or null), ``in_scope`` and ``scope_reason`` (judged for this request's namespace).
A revocation's facts are never used: ``model`` is the stub.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from modelward.admission.review.modes import NamespacePolicy
from modelward.admission.review.request import AdmissionRequest
from modelward.admission.workloads.extract import ModelReference
from modelward.engine.errors import InvalidReference
from modelward.engine.facts import FACTS_SCHEMA_ID
from modelward.engine.refs import ModelRef
from modelward.engine.verdicts.freshness import Freshness, format_time, parse_time
from modelward.engine.verdicts.revocation import Revocation
from modelward.engine.verdicts.scope import Scope, scope_input
from modelward.engine.verdicts.signed import SignedVerdict, Verdict, VerdictCheck, VerdictKeys

NO_VERDICT = "no verdict is stored for this reference"
#: The namespace label naming a namespace's environment (``environment_label``).
ENVIRONMENT = "modelward.dev/environment"
#: Days before a verdict's expiry from which admission warns (``verdict_expiry_warning_days``).
EXPIRY_WARNING_DAYS = 14


@dataclass(frozen=True)
class VerdictView:
    """What admission knows about the stored verdict of one reference."""

    present: bool
    trusted: bool
    reason: str
    outcome: str | None = None
    deny: tuple[str, ...] = ()
    key_id: str | None = None
    created_at: str | None = None
    digest: str | None = None
    facts: dict[str, Any] | None = None  # only for a trusted verdict that is not a revocation
    expires_at: str | None = None  # signed, or created_at + the default maximum age
    expires_in_days: float | None = None  # at lookup time
    scope: Scope | None = None
    revocation: Revocation | None = None

    def to_input(self) -> dict[str, Any]:
        revoked = self.revocation.model_dump() if self.revocation is not None else None
        return {
            "present": self.present,
            "trusted": self.trusted,
            "reason": self.reason,
            "outcome": self.outcome,
            "deny": list(self.deny),
            "key_id": self.key_id,
            "created_at": self.created_at,
            "digest": self.digest,
            "expires_at": self.expires_at,
            "expires_in_days": self.expires_in_days,
            "revoked": revoked,
        }

    def to_audit(self) -> dict[str, Any]:
        """What the audit record keeps: the digest only of a trusted verdict (the inventory)."""
        digest = self.digest if self.trusted else None
        return {"present": self.present, "trusted": self.trusted, "reason": self.reason,
                "digest": digest}  # fmt: skip


ABSENT = VerdictView(present=False, trusted=False, reason=NO_VERDICT)


def find_verdict(
    reference: str,
    lookup: Callable[[str], SignedVerdict | None],
    keys: VerdictKeys,
) -> VerdictView:
    """Look ``reference`` up and verify it; ``RegistryUnavailable`` propagates (fail closed)."""
    signed = lookup(reference)
    if signed is None:
        return ABSENT
    return _view(keys.check(signed, reference), keys.freshness)


def _view(check: VerdictCheck, freshness: Freshness) -> VerdictView:
    verdict = check.verdict
    if not check.trusted or verdict is None:
        reason = check.reason or "the verdict does not verify"
        return VerdictView(present=True, trusted=False, reason=reason, key_id=check.key_id)
    expires = _expiry(verdict, freshness)
    days = None
    if expires is not None:
        days = round((expires - freshness.clock()).total_seconds() / 86400, 3)
    return VerdictView(
        present=True,
        trusted=True,
        reason="",
        outcome=verdict.outcome,
        deny=tuple(f.id for f in verdict.decision.deny),
        key_id=check.key_id,
        created_at=verdict.created_at,
        digest=verdict.digest,
        facts=verdict.facts if verdict.revocation is None else None,
        expires_at=format_time(expires) if expires is not None else None,
        expires_in_days=days,
        scope=verdict.scope,
        revocation=verdict.revocation,
    )


def _expiry(verdict: Verdict, freshness: Freshness) -> datetime | None:
    created = parse_time(verdict.created_at)
    return freshness.expires(verdict, created) if created is not None else None


def resolved(ref: ModelReference) -> tuple[ModelReference, ModelRef | None]:
    """``ref`` with its reference parsed; a reference that does not parse becomes unresolvable."""
    if ref.reference is None:
        return ref, None
    try:
        return ref, ModelRef.parse(ref.reference)
    except InvalidReference as exc:
        return replace(ref, reference=None, unresolvable=str(exc)), None


def stub_model(ref: ModelReference, parsed: ModelRef | None) -> dict[str, Any]:
    """The facts admission has without a trusted verdict: only the reference itself."""
    if parsed is None:
        subject = {
            "ref": ref.raw,
            "scheme": "unknown",
            "location": ref.raw,
            "repo": ref.raw,
            "revision": None,
            "pinned": False,
            "digest": None,
        }
    else:
        subject = {
            "ref": parsed.canonical,
            "scheme": parsed.scheme,
            "location": parsed.location,
            "repo": parsed.location,
            "revision": parsed.revision,
            "pinned": parsed.pinned,
            "digest": None,
        }
    return {"schema": FACTS_SCHEMA_ID, "subject": subject}


def reference_input(ref: ModelReference) -> dict[str, Any]:
    return {
        "raw": ref.raw,
        "reference": ref.reference,
        "origin": ref.origin,
        "source": ref.source,
        "pinned": ref.pinned,
        "unresolvable": ref.unresolvable,
        "trust_remote_code": ref.trust_remote_code,
    }


def request_context(
    request: AdmissionRequest, namespace: NamespacePolicy, environment_label: str = ENVIRONMENT
) -> dict[str, Any]:
    """The context shared by every evaluation of one request (``container`` is set per model).

    ``environment`` is the value of the namespace label ``environment_label`` (None: unknown).
    """
    labels: Mapping[str, str] | None = namespace.labels
    return {
        "source": "admission",
        "operation": request.operation,
        "dry_run": request.dry_run,
        "namespace": request.namespace,
        "namespace_labels": dict(labels) if labels is not None else None,
        "environment": labels.get(environment_label) if labels is not None else None,
        "workload": {
            "kind": request.kind,
            "name": request.name,
            "api_version": request.group_version,
        },
        "container": None,
        "user": {"username": request.username, "groups": list(request.groups)},
        "mode": namespace.mode,
    }


def policy_input(
    ref: ModelReference,
    parsed: ModelRef | None,
    verdict: VerdictView,
    context: dict[str, Any],
    expiry_warning_days: float = EXPIRY_WARNING_DAYS,
) -> dict[str, Any]:
    model = verdict.facts if verdict.trusted and verdict.facts else stub_model(ref, parsed)
    labels, environment = context.get("namespace_labels"), context.get("environment")
    scoped = scope_input(verdict.scope, context.get("namespace"), labels, environment)
    lifecycle = {**verdict.to_input(), **scoped, "expiry_warning_days": expiry_warning_days}
    return {
        "model": model,
        "context": {**context, "container": ref.container},
        "admission": {"reference": reference_input(ref), "verdict": lifecycle},
    }
