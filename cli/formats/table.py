"""``--format table``: a readable report for a terminal or a CI log, at most 100 columns wide.

The files come first, then the scan findings no policy rule acted on, then each rule's results
with its fix once, and last the decision and a one-line summary. Every finding appears once:
a scan finding that a rule reports is shown under that rule.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable

from modelward.cli.formats.behaviour import behaviour_lines
from modelward.cli.formats.style import Style
from modelward.cli.formats.summary import SEVERITIES, decision_line, summary_line
from modelward.engine.decision import Decision, PolicyFinding
from modelward.engine.facts import Facts, Finding

WIDTH = 100


def render_table(facts: Facts, decision: Decision, *, colour: bool = False) -> str:
    style = Style(colour)
    lines = _wrap(f"model   {facts.subject.ref}", "        ")
    if facts.subject.digest:
        lines.append(f"digest  {facts.subject.digest}")
    lines += ["", *_files(facts)]
    others = unreported(facts, decision)
    if others:
        lines += ["", "scan findings no rule acted on:"]
        lines += [line for f in others for line in _scan_lines(f, style)]
    if not facts.scan.complete:
        text = "scan incomplete: " + (", ".join(facts.scan.unanalysed) or "see findings")
        lines += ["", *_wrap(text, "  ")]
    if facts.behaviour is not None:
        lines += ["", *behaviour_lines(facts.behaviour)]
    for kind, findings in (("deny", decision.deny), ("warn", decision.warn)):
        for group in _groups(findings):
            lines += ["", *_group_lines(kind, group, style)]
    lines += ["", *_error_lines(decision)]
    lines += [decision_line(decision, style), summary_line(facts, decision)]
    return "\n".join(lines) + "\n"


def unreported(facts: Facts, decision: Decision) -> list[Finding]:
    """The scan findings that no deny or warn result restates (shown on their own)."""
    reported = {f.msg for f in (*decision.deny, *decision.warn)}
    return [f for f in facts.scan.findings if f"{f.message} [{f.id}]" not in reported]


def _files(facts: Facts) -> list[str]:
    rows = [("FILE", "FORMAT", "SIZE", "SHA256")]
    for f in facts.files:
        fmt = f"{f.format} (named {f.extension_format})" if f.format_mismatch else f.format
        rows.append((f.path, fmt, _size(f.size), (f.sha256 or "-")[:16]))
    fmt_w, size_w = (max(len(r[i]) for r in rows) for i in (1, 2))
    path_w = min(max(len(r[0]) for r in rows), WIDTH - fmt_w - size_w - 16 - 6)
    return [
        f"{_clip(r[0], path_w):<{path_w}}  {r[1]:<{fmt_w}}  {r[2]:>{size_w}}  {r[3]}" for r in rows
    ]


def _clip(text: str, width: int) -> str:
    """``text`` shortened from the left to ``width`` characters (the end of a path says most)."""
    return text if len(text) <= width else "..." + text[-(width - 3) :]


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _scan_lines(f: Finding, style: Style) -> list[str]:
    head = f"  {f.severity.upper():<8} {f.id}"
    body = _wrap(f.message, "      ", first="      ")
    return [style.severity(head, f.severity), *body]


def _groups(findings: Iterable[PolicyFinding]) -> list[list[PolicyFinding]]:
    """Results of the same rule together, the most severe rule first."""
    groups: dict[str, list[PolicyFinding]] = {}
    for f in findings:
        groups.setdefault(f.id, []).append(f)
    return sorted(groups.values(), key=lambda g: (_rank(g[0].severity), g[0].id))


def _rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def _group_lines(kind: str, group: list[PolicyFinding], style: Style) -> list[str]:
    first = group[0]
    head = f"{kind.upper():<5} {first.id} ({first.severity})"
    if first.title:
        head += f": {first.title}"
    if len(group) > 1:
        head += f", {len(group)} results"
    lines = [style.outcome(_clip_end(head, WIDTH), kind)]
    for f in group:
        lines += _wrap(f.msg, "    ", first="  ")
    if first.remediation:
        lines += _wrap(f"fix: {first.remediation}", "       ", first="  ")
    return lines


def _error_lines(decision: Decision) -> list[str]:
    return _wrap(f"error: {decision.error}", "  ") if decision.error else []


def _clip_end(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _wrap(text: str, indent: str, *, first: str = "") -> list[str]:
    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=first,
        subsequent_indent=indent,
        break_on_hyphens=False,
        replace_whitespace=True,
    ) or [first.rstrip()]
