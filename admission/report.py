"""Reports of ``admission check`` and ``audit``: one line per (workload, container, model)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from modelward.admission.review.core import ReviewResult

COLUMNS = ("WORKLOAD", "CONTAINER", "MODEL", "DECISION", "POLICIES")


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
    lines = [row.cells() for result in results for row in rows(result)]
    denied = sum(bool(r.audit.get("would_deny")) for r in results)
    summary = f"{len(results)} workloads, {denied} would be denied"
    if not lines:
        return f"no model references found; {summary}\n"
    widths = [max(len(c[i]) for c in [COLUMNS, *lines]) for i in range(len(COLUMNS) - 1)]
    text = [
        "  ".join([*(c.ljust(w) for c, w in zip(cells, widths, strict=False)), cells[-1]])
        for cells in [COLUMNS, *lines]
    ]
    return "\n".join(text) + f"\n{summary}\n"


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
