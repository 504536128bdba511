"""The AdmissionReview answer: the deny message and the warnings, within the API server's limits.

The message names the workload, then every (container, model) with the ids that deny it and
those not evaluated, then the details; it is cut at ``MAX_MESSAGE_BYTES``. Warnings are single
printable lines of at most ``MAX_WARNING_CHARS`` characters, ``MAX_WARNINGS_CHARS`` in total,
with no "Warning:" prefix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from modelward.admission.review.judge import ModelResult
from modelward.engine.decision import PolicyFinding

MAX_MESSAGE_BYTES = 4096
MAX_WARNING_CHARS = 120
MAX_WARNINGS_CHARS = 4096
ELLIPSIS = "..."
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def response(
    api_version: str,
    uid: str,
    *,
    allowed: bool,
    message: str = "",
    warnings: Sequence[str] = (),
) -> dict[str, Any]:
    """The AdmissionReview to send back, in the request's apiVersion with its uid."""
    answer: dict[str, Any] = {"uid": uid, "allowed": allowed}
    if not allowed:
        answer["status"] = {"code": 403, "reason": "Forbidden", "message": message}
    if warnings:
        answer["warnings"] = list(warnings)
    return {"apiVersion": api_version, "kind": "AdmissionReview", "response": answer}


def deny_message(
    workload: str,
    models: Sequence[ModelResult],
    problems: Sequence[PolicyFinding] = (),
    *,
    after_summary: str = "",
) -> str:
    """Why ``workload`` is denied: a summary of ids per container and model, ``after_summary``
    (what happens next), then the details."""
    summary = [f"{p.id}" for p in problems]
    details = [f"{p.id}: {p.msg}" for p in problems]
    for result in models:
        if result.deny:
            ids = ", ".join(dict.fromkeys(f.id for f in result.deny))
            summary.append(f"{_where(result)}, model {result.model}: {ids}")
            details.extend(f"{f.id}: {f.msg}" for f in result.deny)
    for why, skipped in _skipped(models).items():
        listed = ", ".join(f"{_where(r)} ({r.model})" for r in skipped)
        summary.append(f"not evaluated ({why}): {listed}")
    next_step = f"{after_summary}. " if after_summary else ""
    reasons = "; ".join(dict.fromkeys(details))
    text = f"{workload} is denied: {'; '.join(summary)}. {next_step}{reasons}"
    return cut_bytes(clean(text), MAX_MESSAGE_BYTES)


def warning_lines(
    models: Sequence[ModelResult],
    *,
    deny_as_warnings: bool,
    problems: Sequence[PolicyFinding] = (),
    notes: Iterable[str] = (),
) -> list[str]:
    """The warnings of one answer: notes, then (in warn mode) denies and the references not
    evaluated, then warn findings."""
    lines = list(notes)
    if deny_as_warnings:
        lines.extend(f"would deny: {p.id}: {p.msg}" for p in problems)
        for result in models:
            lines.extend(f"would deny: {_line(result, f)}" for f in result.deny)
        for why, skipped in _skipped(models).items():
            lines.extend(f"not evaluated ({why}): {_where(r)}, model {r.model}" for r in skipped)
    for result in models:
        lines.extend(_line(result, f) for f in result.warn)
    return limit_warnings(lines)


def _skipped(models: Sequence[ModelResult]) -> dict[str, list[ModelResult]]:
    groups: dict[str, list[ModelResult]] = {}
    for result in models:
        if result.skipped:
            groups.setdefault(result.skipped, []).append(result)
    return groups


def limit_warnings(lines: Iterable[str]) -> list[str]:
    """Shorten each line, drop duplicates, and stop before the total passes the limit."""
    unique = list(dict.fromkeys(cut_chars(clean(line), MAX_WARNING_CHARS) for line in lines))
    kept: list[str] = []
    total = 0
    for i, line in enumerate(unique):
        after = len(unique) - i - 1
        reserve = len(_more(after)) if after else 0
        if total + len(line) + reserve > MAX_WARNINGS_CHARS:
            kept.append(_more(len(unique) - i))
            break
        kept.append(line)
        total += len(line)
    return kept


def _more(count: int) -> str:
    return f"{count} more warnings not shown"


def clean(text: str) -> str:
    """One printable line: control characters and line breaks become a space."""
    return _UNPRINTABLE.sub(" ", text).strip()


def cut_chars(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)] + ELLIPSIS


def cut_bytes(text: str, limit: int) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    kept = data[: limit - len(ELLIPSIS)].decode(errors="ignore")
    return kept + ELLIPSIS


def _where(result: ModelResult) -> str:
    container = result.ref.container
    return f"container {container}" if container else f"{result.ref.origin}"


def _line(result: ModelResult, finding: PolicyFinding) -> str:
    return f"{finding.id} ({_where(result)}): {finding.msg}"
