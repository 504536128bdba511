"""Choose an evaluator by name, as the CLI and the webhook configuration spell it."""

from __future__ import annotations

from typing import Literal

from modelward.engine.errors import EvaluationError
from modelward.engine.extras import requires
from modelward.engine.policy.evaluators import Evaluator

EngineName = Literal["embedded", "opa"]


def make_evaluator(engine: str, opa_url: str | None = None) -> Evaluator:
    """``embedded`` (regorus, in process) or ``opa`` (at ``opa_url``, or a local server).

    Each engine's module (and its client libraries) is imported only when it is chosen.
    """
    if engine == "embedded":
        if opa_url:
            raise EvaluationError("--opa-url needs --engine opa")
        from modelward.engine.policy.evaluators.embedded import EmbeddedEvaluator

        return EmbeddedEvaluator()
    if engine == "opa":
        with requires("opa", "--engine opa"):
            from modelward.engine.policy.evaluators.opa import OpaEvaluator

        return OpaEvaluator(url=opa_url)
    raise EvaluationError(f"unknown engine {engine!r}; use embedded or opa")


def close_evaluator(evaluator: Evaluator) -> None:
    close = getattr(evaluator, "close", None)
    if callable(close):
        close()
