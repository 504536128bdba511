"""One policy evaluation per (container, model reference) of a workload, within a budget."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from modelward.admission.review.context import VerdictView, find_verdict, policy_input, resolved
from modelward.admission.review.steps import Meter, OverBudget, Steps, metered, whole
from modelward.admission.workloads.extract import ModelReference
from modelward.engine.decision import PolicyFinding
from modelward.engine.errors import Error
from modelward.engine.refs import ModelRef

if TYPE_CHECKING:
    from modelward.admission.review.core import AdmissionEnv

REGISTRY_UNAVAILABLE = "registry-unavailable"
EVALUATION_ERROR = "evaluation-error"
EVALUATION_BUDGET = "evaluation-budget"
UNKNOWN_VERDICT = VerdictView(present=False, trusted=False, reason="the registry did not answer")
NOT_LOOKED_UP = VerdictView(present=False, trusted=False, reason="not looked up")
# Why a reference was not evaluated (``ModelResult.skipped``).
ALREADY_DENIED = "the review is denied already"
OVER_BUDGET = "over the evaluation budget"


@dataclass(frozen=True)
class ModelResult:
    """The findings for one model reference of one container (none when ``skipped``)."""

    ref: ModelReference
    verdict: VerdictView
    deny: tuple[PolicyFinding, ...] = ()
    warn: tuple[PolicyFinding, ...] = ()
    skipped: str | None = None  # why it was not evaluated

    @property
    def model(self) -> str:
        return self.ref.reference or self.ref.raw

    def to_audit(self) -> dict[str, Any]:
        record = {
            "reference": self.ref.reference,
            "raw": self.ref.raw,
            "container": self.ref.container,
            "origin": self.ref.origin,
            "verdict": self.verdict.to_audit(),
            "deny": [f.id for f in self.deny],
            "warn": [f.id for f in self.warn],
        }
        if self.skipped:
            record["skipped"] = self.skipped
        return record


@dataclass(frozen=True)
class Judged:
    """Every reference's result, and the denies that belong to none (the budget)."""

    models: list[ModelResult]
    problems: Sequence[PolicyFinding] = ()


def failure(rule_id: str, msg: str) -> PolicyFinding:
    """A deny the core itself reports when it cannot decide (fail closed)."""
    return PolicyFinding(id=rule_id, msg=msg, severity="high", title=rule_id, policy="admission")


def unique(refs: Iterable[ModelReference]) -> list[ModelReference]:
    """One entry per (container, reference); a duplicate's trust_remote_code is kept."""
    seen: dict[tuple[str | None, str, str | None], ModelReference] = {}
    for ref in refs:
        key = (ref.container, ref.reference or ref.raw, ref.unresolvable)
        known = seen.get(key)
        if known is None:
            seen[key] = ref
        elif ref.trust_remote_code and not known.trust_remote_code:
            seen[key] = replace(known, trust_remote_code=True)
    return list(seen.values())


def judge_all(
    refs: Iterable[ModelReference], context: dict[str, Any], env: AdmissionEnv
) -> Steps[Judged]:
    """Judge the references in order, within the evaluation budget.

    Once one reference denies the review, the rest are neither looked up nor evaluated: nothing
    of theirs could admit the workload, so a reference without a trusted verdict costs nothing
    after the first (the cheap path), whatever the object carries. Past ``max_evaluations``
    evaluations the rest are not evaluated either and the review is denied with the limit.
    """
    verdicts: dict[str, VerdictView | Error] = {}

    def verdict_of(reference: str) -> VerdictView | Error:
        if reference not in verdicts:
            verdicts[reference] = _lookup(reference, env)
        return verdicts[reference]

    pending, meter = unique(refs), Meter(env.config.max_evaluations)
    results: list[ModelResult] = []
    for index, ref in enumerate(pending):
        if results and results[-1].deny:
            return Judged(results + [skipped(r, ALREADY_DENIED) for r in pending[index:]])
        try:
            results.append((yield from judge(ref, context, env, verdict_of, meter)))
        except OverBudget:
            rest = [skipped(r, OVER_BUDGET) for r in pending[index:]]
            reason = f"the review needs more policy evaluations, {meter.over()}"
            return Judged(results + rest, (failure(EVALUATION_BUDGET, reason),))
    return Judged(results)


def judge(
    ref: ModelReference,
    context: dict[str, Any],
    env: AdmissionEnv,
    verdict_of: Callable[[str], VerdictView | Error],
    meter: Meter,
) -> Steps[ModelResult]:
    """Look ``ref`` up and evaluate it (charging ``meter``)."""
    ref, parsed = resolved(ref)
    verdict: VerdictView | Error = UNKNOWN_VERDICT
    if ref.reference is not None:
        verdict = verdict_of(ref.reference)
    if isinstance(verdict, Error):
        msg = f"the verdict registry is unavailable: {verdict}"
        return ModelResult(ref, UNKNOWN_VERDICT, deny=(failure(REGISTRY_UNAVAILABLE, msg),))
    if ref.reference is None:
        verdict = VerdictView(present=False, trusted=False, reason="the reference is unresolvable")
    return (yield from _evaluate(ref, parsed, verdict, context, env, meter))


def skipped(ref: ModelReference, why: str) -> ModelResult:
    """The result of a reference neither looked up nor evaluated."""
    return ModelResult(ref, NOT_LOOKED_UP, skipped=why)


def _lookup(reference: str, env: AdmissionEnv) -> VerdictView | Error:
    try:
        return find_verdict(reference, env.lookup, env.keys)
    except Error as exc:  # RegistryUnavailable, or a registry that cannot read its own entry
        return exc


def _evaluate(
    ref: ModelReference,
    parsed: ModelRef | None,
    verdict: VerdictView,
    context: dict[str, Any],
    env: AdmissionEnv,
    meter: Meter,
) -> Steps[ModelResult]:
    warning_days = env.config.verdict_expiry_warning_days
    document = policy_input(ref, parsed, verdict, context, warning_days)
    try:
        if env.parts is None:
            decision = yield from metered(whole(document), meter)
        else:
            decision = yield from metered(env.parts.steps(document), meter)
    except Error as exc:
        return ModelResult(ref, verdict, deny=(failure(EVALUATION_ERROR, str(exc)),))
    if decision.outcome == "error":
        reason = decision.error or "the policy engine gave no reason"
        return ModelResult(ref, verdict, deny=(failure(EVALUATION_ERROR, reason),))
    return ModelResult(ref, verdict, tuple(decision.deny), tuple(decision.warn))
