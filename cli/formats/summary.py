"""The last two lines of a report: the decision, and one line that sums it up."""

from __future__ import annotations

from collections import Counter
from typing import get_args

from modelward.cli.formats.style import Style
from modelward.engine.decision import Decision
from modelward.engine.facts import Facts, Severity

SEVERITIES: tuple[Severity, ...] = get_args(Severity)

OUTCOME_WORDS = {"allow": "ALLOW", "deny": "DENY", "error": "ERROR"}


def decision_line(decision: Decision, style: Style | None = None) -> str:
    word = OUTCOME_WORDS[decision.outcome]
    return f"decision: {(style or Style(False)).outcome(word, decision.outcome)}"


def summary_line(facts: Facts, decision: Decision) -> str:
    """E.g. ``3 files, 5 findings (1 critical, 4 medium), 2 deny, 1 warn``."""
    counts = Counter(f.severity for f in facts.scan.findings)
    by_severity = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES if counts[s])
    findings = _plural(len(facts.scan.findings), "finding")
    if by_severity:
        findings += f" ({by_severity})"
    files = _plural(len(facts.files), "file")
    return f"{files}, {findings}, {len(decision.deny)} deny, {len(decision.warn)} warn"


def render_summary(facts: Facts, decision: Decision, *, colour: bool = False) -> str:
    """``--summary``: the decision and the summary line only."""
    return f"{decision_line(decision, Style(colour))}\n{summary_line(facts, decision)}\n"


def render_quiet(facts: Facts, decision: Decision, *, colour: bool = False) -> str:
    """``--quiet``: the decision only."""
    return decision_line(decision, Style(colour)) + "\n"


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
