"""The outcome of ``vet --from``: one row per model, the summary table and the JSON report."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelward.cli.exit import EXIT_ALLOW, EXIT_DENY, EXIT_ERROR

REPORT_SCHEMA = "modelward.dev/vet-report/v1"
ALLOW, DENY, FAILED = "allow", "deny", "failed"
OUTCOMES = (ALLOW, DENY, FAILED)
#: Widest reason shown in the table (the report keeps it whole).
REASON_WIDTH = 100


@dataclass(frozen=True)
class Row:
    """One model of the list: what the trusted side decided, or why there is no verdict."""

    reference: str
    outcome: str  # allow | deny | failed
    digest: str | None = None
    seconds: float = 0.0
    published: bool = False
    reason: str = ""  # why it failed, or the first deny finding's id
    deny: tuple[str, ...] = ()
    claimed: str | None = None  # the outcome the worker claimed

    def to_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "outcome": self.outcome,
            "digest": self.digest,
            "seconds": round(self.seconds, 3),
            "published": self.published,
            "reason": self.reason,
            "deny": list(self.deny),
            "claimed": self.claimed,
        }


def totals(rows: list[Row]) -> dict[str, int]:
    return {outcome: sum(row.outcome == outcome for row in rows) for outcome in OUTCOMES}


def exit_code(rows: list[Row]) -> int:
    """2 if any model failed, else 1 if any was denied, else 0."""
    counts = totals(rows)
    if counts[FAILED]:
        return EXIT_ERROR
    return EXIT_DENY if counts[DENY] else EXIT_ALLOW


def render_table(rows: list[Row], seconds: float) -> str:
    header = ("REFERENCE", "OUTCOME", "DIGEST", "SECONDS", "REASON")
    table = [header, *(_cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip() for line in table
    ]
    counts = totals(rows)
    summary = ", ".join(f"{counts[outcome]} {outcome}" for outcome in OUTCOMES)
    lines.append(f"{len(rows)} models: {summary} in {seconds:.1f}s")
    return "\n".join(lines) + "\n"


def report_document(rows: list[Row], jobs: int, seconds: float) -> dict[str, Any]:
    return {
        "schema": REPORT_SCHEMA,
        "jobs": jobs,
        "seconds": round(seconds, 3),
        "totals": totals(rows),
        "results": [row.to_json() for row in rows],
    }


def write_report(path: Path, rows: list[Row], jobs: int, seconds: float) -> None:
    text = json.dumps(report_document(rows, jobs, seconds), indent=2) + "\n"
    path.write_text(text, encoding="utf-8")


def _cells(row: Row) -> tuple[str, ...]:
    digest = row.digest.removeprefix("sha256:")[:12] if row.digest else "-"
    return (
        _one_line(row.reference, 200),
        row.outcome.upper(),
        digest,
        f"{row.seconds:.2f}",
        _one_line(row.reason, REASON_WIDTH),
    )


def _one_line(text: str, width: int) -> str:
    """Worker text is untrusted: no control characters, no line breaks, bounded width."""
    flat = "".join(c if c.isprintable() else " " for c in text)
    flat = " ".join(flat.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
