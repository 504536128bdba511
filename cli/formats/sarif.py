"""``--format sarif``: SARIF 2.1.0 for code-scanning dashboards.

Each finding is one result: a scan finding that a policy rule restates is reported under that
rule (with the scan finding's id, severity and location); the others under their own id. A
finding inside an archive is located at the member, a ``run.artifacts`` child of its file.
"""

from __future__ import annotations

import json
from typing import Any

from modelward.cli.formats.behaviour import BEHAVIOUR_RULE_PREFIX, behaviour_evidence
from modelward.cli.formats.table import unreported
from modelward.engine import __version__
from modelward.engine.decision import Decision, PolicyFinding
from modelward.engine.facts import Facts, Finding

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}


def render_sarif(facts: Facts, decision: Decision) -> str:
    rules: dict[str, dict[str, Any]] = {}
    artifacts = Artifacts()
    by_msg = {f"{f.message} [{f.id}]": f for f in facts.scan.findings}
    results = [_scan_result(f, rules, artifacts) for f in unreported(facts, decision)]
    for level, findings in (("error", decision.deny), ("warning", decision.warn)):
        results += [_policy_result(f, level, rules, artifacts, facts, by_msg) for f in findings]
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "modelward",
                        "version": __version__,
                        "informationUri": "https://modelward.dev",
                        "rules": list(rules.values()),
                    }
                },
                "artifacts": artifacts.entries,
                "results": results,
                "properties": {"outcome": decision.outcome, "subject": facts.subject.ref},
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"


class Artifacts:
    """``run.artifacts``: each file once, and each archive member as a child of its file."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self._index: dict[tuple[str, str | None], int] = {}

    def location(self, file: str, member: str | None) -> dict[str, Any]:
        """The artifactLocation of ``member`` inside ``file`` (or of ``file`` itself)."""
        return {"uri": member or file, "index": self._add(file, member)}

    def _add(self, file: str, member: str | None) -> int:
        key = (file, member)
        if key not in self._index:
            entry: dict[str, Any] = {"location": {"uri": member or file}}
            if member:
                entry["parentIndex"] = self._add(file, None)
                entry["roles"] = ["analysisTarget"]
            self._index[key] = len(self.entries)
            self.entries.append(entry)
        return self._index[key]


def _physical(f: Finding, artifacts: Artifacts) -> dict[str, Any]:
    """Where ``f`` is: the archive member when it is inside one, with its byte offset."""
    location: dict[str, Any] = {"artifactLocation": artifacts.location(f.file or ".", f.member)}
    if f.offset is not None:
        location["region"] = {"byteOffset": f.offset}
    return location


def _scan_result(
    f: Finding, rules: dict[str, dict[str, Any]], artifacts: Artifacts
) -> dict[str, Any]:
    rules.setdefault(
        f.id,
        {
            "id": f.id,
            "name": f.id,
            "shortDescription": {"text": f.technique or f.id},
            "properties": {"severity": f.severity, "source": "scan"},
            "defaultConfiguration": {"level": LEVELS[f.severity]},
        },
    )
    result: dict[str, Any] = {
        "ruleId": f.id,
        "level": LEVELS[f.severity],
        "message": {"text": f.message},
    }
    if f.file:
        result["locations"] = [{"physicalLocation": _physical(f, artifacts)}]
    if f.member:
        result["properties"] = {"file": f.file, "member": f.member}
    return result


def _policy_result(
    f: PolicyFinding,
    level: str,
    rules: dict[str, dict[str, Any]],
    artifacts: Artifacts,
    facts: Facts,
    by_msg: dict[str, Finding],
) -> dict[str, Any]:
    rules.setdefault(
        f.id,
        {
            "id": f.id,
            "name": f.title or f.id,
            "shortDescription": {"text": f.title or f.id},
            "help": {"text": f.remediation},
            "properties": {"severity": f.severity, "policy": f.policy, "source": "policy"},
        },
    )
    scan = by_msg.get(f.msg)  # the scan finding this result restates, if any
    behaviour = facts.behaviour if f.id.startswith(BEHAVIOUR_RULE_PREFIX) else None
    if scan is not None and scan.file:
        physical = _physical(scan, artifacts)
    elif behaviour is not None and behaviour.file:
        physical = {"artifactLocation": artifacts.location(behaviour.file, None)}
    else:
        target = facts.files[0].path if len(facts.files) == 1 else "."
        physical = {"artifactLocation": artifacts.location(target, None)}
    result: dict[str, Any] = {
        "ruleId": f.id,
        "level": level,
        "message": {"text": f.msg},
        "locations": [{"physicalLocation": physical}],
    }
    if scan is not None:
        result["properties"] = {"finding": scan.id, "severity": scan.severity}
        if scan.member:
            result["properties"] |= {"file": scan.file, "member": scan.member}
    if behaviour is not None:
        result["properties"] = {"behaviour": behaviour_evidence(behaviour)}
    return result
