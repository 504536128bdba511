"""Reports of ``admission check`` and ``audit``: one line per (workload, container, model)."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from modelward.admission.review.core import ReviewResult

COLUMNS = ("WORKLOAD", "CONTAINER", "MODEL", "DECISION", "POLICIES")
REASON_WIDTH = 100


@dataclass(frozen=True)
class Row:
    workload: str
    container: str
    model: str
    decision: str  # allow | warn | deny | exempt
    ids: tuple[str, ...]

    def cells(self) -> tuple[str, ...]:
        return (
            self.workload,
            self.container,
            self.model,
            self.decision,
            ", ".join(self.ids) or "-",
        )


def workload_name(audit: dict[str, Any]) -> str:
    namespace, name = audit.get("namespace") or "", audit.get("name") or "(unnamed)"
    return f"{audit.get('kind')} {namespace}/{name}" if namespace else f"{audit.get('kind')} {name}"


def rows(result: ReviewResult) -> list[Row]:
    """The lines of one decision: one per model; one for the workload when nothing else says
    why it would be denied (a malformed object, an internal error) or that it is exempt."""
    audit = result.audit
    workload = workload_name(audit)
    out = [_model_row(workload, model) for model in audit.get("models", [])]
    problems = tuple(audit.get("problems", []))
    if problems:
        out.append(Row(workload, "-", "-", "deny", problems))
    if audit.get("exempt"):
        out.append(Row(workload, "-", "-", "exempt", ()))
    return out


def _model_row(workload: str, model: dict[str, Any]) -> Row:
    deny, warn = tuple(model.get("deny", [])), tuple(model.get("warn", []))
    decision = "deny" if deny else "warn" if warn else "allow"
    container = model.get("container") or model.get("origin") or "-"
    name = model.get("reference") or model.get("raw") or "-"
    return Row(workload, container, name, decision, deny + warn)


def would_deny(results: Sequence[ReviewResult]) -> bool:
    return any(r.audit.get("would_deny") for r in results)


def render_table(results: Sequence[ReviewResult]) -> str:
    """The table, then why each denied workload is denied, then a count."""
    lines = [row.cells() for result in results for row in rows(result)]
    denied = sum(bool(r.audit.get("would_deny")) for r in results)
    summary = f"{len(results)} workloads, {denied} would be denied"
    why = reasons(results)
    if not lines:
        return "\n".join([*why, f"no model references found; {summary}"]) + "\n"
    widths = [max(len(c[i]) for c in [COLUMNS, *lines]) for i in range(len(COLUMNS) - 1)]
    text = [
        "  ".join([*(c.ljust(w) for c, w in zip(cells, widths, strict=False)), cells[-1]])
        for cells in [COLUMNS, *lines]
    ]
    if why:
        text += ["", *why, ""]
    return "\n".join([*text, summary]) + "\n"


def reasons(results: Sequence[ReviewResult]) -> list[str]:
    """Why each workload that would be denied is denied (the webhook's deny message)."""
    out: list[str] = []
    for result in results:
        message = result.audit.get("message")
        if result.audit.get("would_deny") and message:
            out += textwrap.wrap(
                str(message), REASON_WIDTH, initial_indent="  ", subsequent_indent="    ",
                break_on_hyphens=False,
            )  # fmt: skip
    return ["why denied:", *out] if out else []


def render_json(results: Sequence[ReviewResult]) -> str:
    workloads = [_workload_json(r) for r in results]
    denied = sum(bool(w["would_deny"]) for w in workloads)
    return json.dumps({"workloads": workloads, "would_deny": denied}, indent=2) + "\n"


def _workload_json(result: ReviewResult) -> dict[str, Any]:
    audit = result.audit
    keys = (
        "kind",
        "namespace",
        "name",
        "mode",
        "exempt",
        "allowed",
        "would_deny",
        "problems",
        "models",
        "message",
    )
    view = {key: audit.get(key) for key in keys}
    view["warnings"] = result.response["response"].get("warnings", [])
    return view
