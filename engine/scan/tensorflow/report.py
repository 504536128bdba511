"""Findings about graph ops, one per (reason, op, graph) with the nodes that share it, capped."""

from __future__ import annotations

from collections import Counter
from typing import Any, Final

from modelward.engine.facts import Severity
from modelward.engine.scan.context import ScanContext
from modelward.engine.scan.result import FileScan
from modelward.engine.scan.tensorflow.effects import Verdict
from modelward.engine.scan.tensorflow.paths import text

MAX_FINDINGS_PER_ID: Final = 50
TECHNIQUE: Final = "TensorFlow graph op"
_RANK: Final = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


class OpReport:
    """Collects verdicts while graphs are walked; ``emit`` turns them into findings."""

    def __init__(self) -> None:
        self._nodes: dict[tuple[str, Severity, str, str, str], list[str]] = {}

    def add(self, verdict: Verdict, node: Any, where: str) -> None:
        key = (verdict.id, verdict.severity, text(node.op), verdict.reason, where)
        names = self._nodes.setdefault(key, [])
        if len(names) < 4:
            names.append(text(node.name))
        else:
            names.append("")  # counted, not named

    def emit(self, ctx: ScanContext, result: FileScan) -> None:
        emitted: Counter[str] = Counter()
        overflow: dict[str, list[tuple[Severity, str]]] = {}
        for (id_, severity, op, reason, where), names in self._nodes.items():
            if emitted[id_] >= MAX_FINDINGS_PER_ID:
                overflow.setdefault(id_, []).append((severity, op))
                continue
            emitted[id_] += 1
            shown = ", ".join(repr(n) for n in names if n)
            more = f" and {len(names) - 4} more" if len(names) > 4 else ""
            plural = "nodes" if len(names) > 1 else "node"
            message = f"op {op} ({plural} {shown}{more}; {where}) {reason}"
            result.findings.append(ctx.finding(id_, severity, message, technique=TECHNIQUE))
        for id_, rest in overflow.items():
            worst = max((s for s, _ in rest), key=_RANK.__getitem__)
            ops = ", ".join(sorted({op for _, op in rest})[:10])
            message = f"{len(rest)} more places with the same kind of finding (ops {ops})"
            result.findings.append(ctx.finding(id_, worst, message, technique=TECHNIQUE))
