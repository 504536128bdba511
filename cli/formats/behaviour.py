"""The behaviour analysis evidence in reports: table lines and SARIF result properties."""

from __future__ import annotations

import textwrap
from typing import Any

from modelward.engine.facts import BehaviourFacts

#: The ids of the rules that judge the behaviour facts (their results carry the evidence).
BEHAVIOUR_RULE_PREFIX = "backdoor-"


def behaviour_lines(behaviour: BehaviourFacts) -> list[str]:
    """A few lines: score or why there is none, target and trigger, methods, sandbox."""
    backdoor = behaviour.backdoor
    where = behaviour.file or "-"
    if backdoor.status != "ok" or backdoor.score is None:
        return [f"behaviour  {where}: {backdoor.status}", *_wrapped(backdoor.reason or "-")]
    state = "complete" if backdoor.complete else "incomplete"
    probes = f"{behaviour.probes} probe input(s)" if behaviour.probes else "no probe inputs"
    lines = [f"behaviour  {where}: backdoor score {backdoor.score:.2f} ({state}, {probes})"]
    if backdoor.suspected_target is not None or backdoor.trigger is not None:
        target, trigger = backdoor.suspected_target or "-", backdoor.trigger or "-"
        lines += _wrapped(f"suspected target {target}, trigger {trigger}")
    lines += [
        f"  {m.name[:40]:<40} score {m.score:.2f}  {m.seconds:6.1f} s"
        + ("" if m.complete else "  (cut short)")
        for m in backdoor.methods
    ]
    if behaviour.sandbox is not None:
        box = behaviour.sandbox
        lines.append(
            f"  sandbox: network {box.network}, filesystem {box.filesystem}, "
            f"{box.wall_seconds:g} s, {box.memory_bytes / 1024**3:.1f} GiB"
        )
    return lines


def _wrapped(text: str) -> list[str]:
    return textwrap.wrap(text, 100, initial_indent="  ", subsequent_indent="    ") or ["  -"]


def behaviour_evidence(behaviour: BehaviourFacts) -> dict[str, Any]:
    """The facts a SARIF result about a backdoor rule carries as properties."""
    backdoor = behaviour.backdoor
    return {
        "file": behaviour.file,
        "status": backdoor.status,
        "score": backdoor.score,
        "suspected_target": backdoor.suspected_target,
        "trigger": backdoor.trigger,
        "complete": backdoor.complete,
        "reason": backdoor.reason,
        "methods": [{"name": m.name, "score": m.score} for m in backdoor.methods],
    }
