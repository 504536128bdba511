"""ModelVetting status transitions, as pure functions from one status to the next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from modelward.engine.vetting.resource import Phase

CONDITION = "Vetted"


def now_text(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_text(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def running(status: dict[str, Any], attempts: int, job: str) -> dict[str, Any]:
    moved = _clean(status, "nextAttemptAt", "result", "completedAt")
    moved.update(attempts=attempts, jobName=job, startedAt=now_text())
    return _phase(moved, "Running", "JobCreated", f"attempt {attempts}: job {job}")


def publishing(status: dict[str, Any], result: str, outcome: str) -> dict[str, Any]:
    """Claims the publication of one accepted result (the write that only one replica wins)."""
    moved = dict(status, result=result)
    return _phase(moved, "Running", "Publishing", f"signing a {outcome} verdict")


def succeeded(
    status: dict[str, Any],
    *,
    verdict: str,
    outcome: str,
    digest: str | None,
    bundle: str,
    scanner: str,
    message: str,
) -> dict[str, Any]:
    moved = dict(status, verdict=verdict, outcome=outcome, observedBundle=bundle, scanner=scanner)
    moved["completedAt"] = now_text()
    if digest:
        moved["digest"] = digest
    return _phase(moved, "Succeeded", "Vetted", message)


def failed(status: dict[str, Any], reason: str, message: str) -> dict[str, Any]:
    moved = _clean(status, "nextAttemptAt", "outcome", "verdict")
    moved["completedAt"] = now_text()
    return _phase(moved, "Failed", reason, message)


def retry(status: dict[str, Any], reason: str, message: str, delay: float) -> dict[str, Any]:
    moved = _clean(status, "result")
    moved["nextAttemptAt"] = now_text(datetime.now(UTC) + timedelta(seconds=delay))
    return _phase(moved, "Pending", reason, f"{message}; retrying in {delay:.0f}s")


def requeued(status: dict[str, Any], reason: str, message: str) -> dict[str, Any]:
    """Back in the queue for a fresh vetting (the verdict stays until a new one replaces it)."""
    moved = _clean(status, "nextAttemptAt", "result", "jobName")
    moved["attempts"] = 0
    return _phase(moved, "Pending", reason, message)


def due(status: dict[str, Any], moment: datetime) -> bool:
    """A Pending request whose retry time (if any) has come."""
    next_at = parse_text(status.get("nextAttemptAt"))
    return next_at is None or next_at <= moment


def _clean(status: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in status.items() if k not in keys}


def _phase(status: dict[str, Any], phase: Phase, reason: str, message: str) -> dict[str, Any]:
    truth = {"Succeeded": "True", "Failed": "False"}.get(phase, "Unknown")
    previous: dict[str, Any] = next(
        (c for c in status.get("conditions") or [] if c.get("type") == CONDITION), {}
    )
    changed = previous.get("status") != truth
    condition = {
        "type": CONDITION,
        "status": truth,
        "reason": reason,
        "message": message[:1024],
        "lastTransitionTime": now_text()
        if changed
        else previous.get("lastTransitionTime", now_text()),
    }
    return dict(status, phase=phase, reason=reason, message=message[:1024], conditions=[condition])
