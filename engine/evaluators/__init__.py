"""Evaluators run a ``PolicyBundle`` on a policy input and return a ``Decision``."""

from __future__ import annotations

from typing import Any, Protocol

from modelward.engine.bundle import PolicyBundle
from modelward.engine.decision import Decision

DENY_RULE = "data.modelward.main.deny"
WARN_RULE = "data.modelward.main.warn"


class Evaluator(Protocol):
    name: str

    def evaluate(self, bundle: PolicyBundle, policy_input: dict[str, Any]) -> Decision:
        """Evaluate; engine failures give an ``error`` decision, never ``allow``."""
        ...
