"""The audit record of one admission decision (one JSON object, one line of the audit log)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from modelward.admission.review.judge import ModelResult
from modelward.admission.review.request import AdmissionRequest


def utc_timestamp() -> str:
    """Now, as RFC 3339 in UTC with milliseconds (``2026-01-01T00:00:00.000Z``)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def audit_record(
    request: AdmissionRequest,
    *,
    mode: str | None,
    exempt: bool,
    allowed: bool,
    would_deny: bool,
    models: Sequence[ModelResult] = (),
    problems: Sequence[str] = (),
    message: str = "",
    vetting_requested: Sequence[str] = (),
    seconds: float = 0.0,
) -> dict[str, Any]:
    """Who asked for what, in which mode, what was decided and why.

    ``problems`` are the ids of denies that belong to no model (``malformed-object``,
    ``internal-error``); ``vetting_requested`` the references the webhook asks to vet.
    """
    return {
        "time": utc_timestamp(),
        "uid": request.uid,
        "apiVersion": request.api_version,
        "namespace": request.namespace,
        "kind": request.kind,
        "name": request.name,
        "operation": request.operation,
        "user": request.username,
        "mode": mode,
        "exempt": exempt,
        "allowed": allowed,
        "would_deny": would_deny,
        "models": [m.to_audit() for m in models],
        "problems": list(problems),
        "message": message,
        "vetting_requested": list(vetting_requested),
        "seconds": round(seconds, 6),
    }


def bare_record(review: Any, *, message: str) -> dict[str, Any]:
    """The record of a deny for a review whose request could not be read."""
    request = review.get("request") if isinstance(review, dict) else None
    request = request if isinstance(request, dict) else {}

    def text(key: str) -> str:
        value = request.get(key)
        return value if isinstance(value, str) else ""

    kind = request.get("kind")
    user = request.get("userInfo")
    return {
        "time": utc_timestamp(),
        "uid": text("uid"),
        "apiVersion": review.get("apiVersion") if isinstance(review, dict) else None,
        "namespace": text("namespace"),
        "kind": kind.get("kind") if isinstance(kind, dict) else None,
        "name": text("name"),
        "operation": text("operation"),
        "user": user.get("username") if isinstance(user, dict) else None,
        "mode": None,
        "exempt": False,
        "allowed": False,
        "would_deny": True,
        "models": [],
        "problems": [],
        "message": message,
        "vetting_requested": [],
        "seconds": 0.0,
    }
