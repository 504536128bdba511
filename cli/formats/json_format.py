"""``--format json``: exactly one object, ``{"facts": ..., "decision": ...}``."""

from __future__ import annotations

import json

from modelward.engine.decision import Decision
from modelward.engine.facts import Facts


def render_json(facts: Facts, decision: Decision) -> str:
    document = {"facts": facts.to_json_dict(), "decision": decision.to_json_dict()}
    return json.dumps(document, indent=2, sort_keys=False) + "\n"
