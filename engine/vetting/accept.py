"""The trusted half: turn a worker's result into a verdict ready to sign, or refuse it.

Nothing the worker says is taken on trust: the facts must validate against the facts model and
name the reference that was asked for, and the decision is evaluated again here on those facts;
the worker's claimed outcome is only compared, never used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from pydantic import ValidationError

from modelward.engine.errors import Error, InvalidReference
from modelward.engine.facts import Facts
from modelward.engine.pipeline import decide
from modelward.engine.policy.bundle import PolicyBundle
from modelward.engine.policy.evaluators import Evaluator
from modelward.engine.refs import ModelRef
from modelward.engine.verdicts.freshness import expiry_after
from modelward.engine.verdicts.signed import Verdict, utc_now
from modelward.engine.vetting.result import VettingResult


class ResultRejected(Error):
    """A result no verdict may be signed from (``reason`` is a short CamelCase word)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class SourceFailed(Error):
    """The worker could not read the model; ``transient`` when another attempt may succeed."""

    def __init__(self, message: str, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Accepted:
    """A verdict to sign, built from validated facts and our own decision."""

    verdict: Verdict
    claimed: str | None  # the outcome the worker claimed

    @property
    def disagrees(self) -> bool:
        """The worker claimed another outcome than the policies give here."""
        return self.claimed is not None and self.claimed != self.verdict.outcome


def accept_result(
    result: VettingResult,
    reference: str,
    bundle: PolicyBundle,
    evaluator: Evaluator,
    max_age: timedelta,
) -> Accepted:
    """The verdict for ``reference`` (a ``ModelRef.canonical``) built from ``result``.

    Raises ``SourceFailed`` for a worker that could not read the model and ``ResultRejected``
    for a result that is not about ``reference``, whose facts do not validate, or whose
    policies fail to evaluate here.
    """
    if result.reference != reference:
        raise ResultRejected(
            "WrongReference", f"the result is for {result.reference!r}, not {reference!r}"
        )
    if result.status == "source-error":
        raise SourceFailed(result.error or "the worker could not read the model", result.transient)
    facts = _facts(result, reference)
    decision = decide(facts, bundle, evaluator)
    if decision.outcome == "error":
        raise ResultRejected("PolicyError", f"the policies failed to evaluate: {decision.error}")
    created_at = utc_now()
    verdict = Verdict(
        reference=reference,
        digest=facts.subject.digest,
        created_at=created_at,
        decision=decision,
        facts=facts.to_json_dict(),
        expires_at=expiry_after(created_at, max_age),
    )
    return Accepted(verdict, result.claimed_outcome)


def _facts(result: VettingResult, reference: str) -> Facts:
    if result.facts is None:
        raise ResultRejected("MalformedResult", "a scanned result without facts")
    try:
        facts = Facts.model_validate(result.facts)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "(top)"
        raise ResultRejected(
            "InvalidFacts", f"the facts do not validate: {where}: {error['msg']}"
        ) from None
    try:
        subject = ModelRef.parse(facts.subject.ref).canonical
    except InvalidReference:
        subject = facts.subject.ref
    if subject != reference:
        raise ResultRejected(
            "WrongReference", f"the facts describe {facts.subject.ref!r}, not {reference!r}"
        )
    return facts
