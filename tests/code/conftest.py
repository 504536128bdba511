"""Helpers for the code collector tests: facts and decisions for a model folder."""

from __future__ import annotations

from pathlib import Path

from modelward.engine.decision import Decision
from modelward.engine.facts import CodeFacts, Facts
from modelward.engine.pipeline import collect_facts, decide
from modelward.engine.policy.bundle import PolicyBundle
from modelward.engine.policy.evaluators.embedded import EmbeddedEvaluator

BUNDLE = PolicyBundle.builtin()


def facts_of(root: Path) -> Facts:
    return collect_facts(str(root))


def code_of(root: Path) -> CodeFacts:
    facts = facts_of(root)
    assert facts.collection.collectors["code"].status == "ok", facts.collection.collectors["code"]
    assert facts.code is not None
    return facts.code


def decision_of(root: Path) -> Decision:
    return decide(facts_of(root), BUNDLE, EmbeddedEvaluator())
