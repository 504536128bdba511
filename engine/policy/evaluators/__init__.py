"""Evaluators run a ``PolicyBundle`` on a policy input and return a ``Decision``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from modelward.engine.decision import Decision
from modelward.engine.policy.bundle import ENTRY_PACKAGE as MAIN_LINE
from modelward.engine.policy.bundle import PolicyBundle

ENTRY_PACKAGE = "data.modelward.main"


@dataclass(frozen=True)
class Entry:
    """The pair of rules in ``data.modelward.main`` whose findings make a decision."""

    deny: str
    warn: str

    @property
    def deny_rule(self) -> str:
        return f"{ENTRY_PACKAGE}.{self.deny}"

    @property
    def warn_rule(self) -> str:
        return f"{ENTRY_PACKAGE}.{self.warn}"


DECISION = Entry("deny", "warn")  # the whole decision
MODEL_PART = Entry("model_deny", "model_warn")  # every category but admission (input.model)
REQUEST_PART = Entry("request_deny", "request_warn")  # the admission category (the request)


def defines(bundle: PolicyBundle, entry: Entry) -> bool:
    """Does the bundle's ``modelward.main`` package define ``entry``'s deny rule?"""
    head = re.compile(rf"^{re.escape(entry.deny)}\b", re.M)
    return any(MAIN_LINE.search(m.source) and head.search(m.source) for m in bundle.policies)


class Evaluator(Protocol):
    name: str

    def evaluate(
        self, bundle: PolicyBundle, policy_input: dict[str, Any], entry: Entry = DECISION
    ) -> Decision:
        """Evaluate; engine failures give an ``error`` decision, never ``allow``."""
        ...

    def evaluate_json(
        self, bundle: PolicyBundle, input_json: str, entry: Entry = DECISION
    ) -> Decision:
        """``evaluate`` for an input that is already JSON text."""
        ...
