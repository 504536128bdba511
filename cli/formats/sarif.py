"""``--format sarif``: SARIF 2.1.0 for code-scanning dashboards."""

from __future__ import annotations

import json
from typing import Any

from modelward.engine import __version__
from modelward.engine.decision import Decision, PolicyFinding
from modelward.engine.facts import Facts, Finding

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}


def render_sarif(facts: Facts, decision: Decision) -> str:
    rules: dict[str, dict[str, Any]] = {}
    results = [_scan_result(f, rules) for f in facts.scan.findings]
    results += [_policy_result(f, "error", rules, facts) for f in decision.deny]
    results += [_policy_result(f, "warning", rules, facts) for f in decision.warn]
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
                "results": results,
                "properties": {"outcome": decision.outcome, "subject": facts.subject.ref},
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def _scan_result(f: Finding, rules: dict[str, dict[str, Any]]) -> dict[str, Any]:
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
        location: dict[str, Any] = {"artifactLocation": {"uri": f.file}}
        if f.offset is not None:
            location["region"] = {"byteOffset": f.offset}
        result["locations"] = [{"physicalLocation": location}]
    if f.member:
        result["properties"] = {"member": f.member}
    return result


def _policy_result(
    f: PolicyFinding, level: str, rules: dict[str, dict[str, Any]], facts: Facts
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
    target = facts.files[0].path if len(facts.files) == 1 else "."
    return {
        "ruleId": f.id,
        "level": level,
        "message": {"text": f.msg},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": target}}}],
    }
