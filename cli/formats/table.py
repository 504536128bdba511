"""``--format table``: a readable report for a terminal or a CI log."""

from __future__ import annotations

from modelward.engine.decision import Decision, PolicyFinding
from modelward.engine.facts import Facts, Finding

OUTCOME_WORDS = {"allow": "ALLOW", "deny": "DENY", "error": "ERROR"}


def render_table(facts: Facts, decision: Decision) -> str:
    lines = [f"model   {facts.subject.ref}"]
    if facts.subject.digest:
        lines.append(f"digest  {facts.subject.digest}")
    lines += ["", *_files(facts)]
    if facts.scan.findings:
        lines += ["", "scan findings:", *(_scan_line(f) for f in facts.scan.findings)]
    if not facts.scan.complete:
        lines.append("scan incomplete: " + (", ".join(facts.scan.unanalysed) or "see findings"))
    lines += ["", *_decision(decision)]
    return "\n".join(lines) + "\n"


def _files(facts: Facts) -> list[str]:
    rows = [("FILE", "FORMAT", "SIZE", "SHA256")]
    for f in facts.files:
        fmt = f"{f.format} (named {f.extension_format})" if f.format_mismatch else f.format
        rows.append((f.path, fmt, _size(f.size), (f.sha256 or "-")[:16]))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return [f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]}" for r in rows]


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _scan_line(f: Finding) -> str:
    return f"  {f.severity.upper():<8} {f.id:<28} {f.message}"


def _decision(decision: Decision) -> list[str]:
    lines = [f"decision: {OUTCOME_WORDS[decision.outcome]}"]
    if decision.error:
        lines.append(f"  error: {decision.error}")
    lines += [_policy_line("deny", f) for f in decision.deny]
    lines += [_policy_line("warn", f) for f in decision.warn]
    return lines


def _policy_line(kind: str, f: PolicyFinding) -> str:
    text = f"  {kind:<5} [{f.id}] {f.msg}"
    return f"{text}\n        fix: {f.remediation}" if f.remediation else text
