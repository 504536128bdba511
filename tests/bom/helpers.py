"""Shared helpers for the BOM and model-card tests: small models on disk and policy decisions."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from modelward.engine.collectors import CollectOptions
from modelward.engine.decision import Decision
from modelward.engine.facts import Facts
from modelward.engine.pipeline import collect_facts, decide
from modelward.engine.policy.bundle import PolicyBundle
from modelward.engine.policy.evaluators.embedded import EmbeddedEvaluator

REPO = Path(__file__).resolve().parents[2]
REAL_MODEL = REPO / ".cache" / "models" / "all-minilm-l6-v2"
REAL_METADATA = REPO / ".cache" / "models" / "all-minilm-l6-v2.dist-info" / "METADATA"
EVALUATOR = EmbeddedEvaluator()


def make_model(root: Path, files: dict[str, str | bytes]) -> Path:
    """A model directory with ``files`` (path -> content)."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
    return root


def facts_of(model: Path, bom: Path | None = None) -> Facts:
    return collect_facts(str(model), options=CollectOptions(bom=bom))


def evaluate(facts: Facts, **config: Any) -> Decision:
    bundle = PolicyBundle.builtin()
    bundle.config = {**copy.deepcopy(bundle.config), **config}
    decision = decide(facts, bundle, EVALUATOR)
    assert decision.outcome != "error", decision.error
    return decision


def deny_ids(decision: Decision) -> set[str]:
    return {f.id for f in decision.deny}


def warn_ids(decision: Decision) -> set[str]:
    return {f.id for f in decision.warn}


def write_json(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return path


def minimal_bom(**model: Any) -> dict[str, Any]:
    """A valid CycloneDX 1.6 BOM with one machine-learning-model component."""
    component = {"type": "machine-learning-model", "name": "m", **model}
    return {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": [component]}
