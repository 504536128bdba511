"""Backdoor analysis of a probed classifier: run the evidence families, calibrate, combine."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from modelward.engine.behaviour.combine import LIMIT, calibrated_log_odds, combine, probability
from modelward.engine.behaviour.methods import (
    blend_inversion,
    patch_certainty,
    patch_inversion,
    random_triggers,
    token_inversion,
    weight_outliers,
)
from modelward.engine.behaviour.methods.common import BudgetExhausted, Context, Evidence, Progress
from modelward.engine.behaviour.model import ProbedClassifier
from modelward.engine.behaviour.result import BackdoorResult, MethodResult

Method = Callable[[Context, Any], Evidence]
Probes = np.ndarray | list[str] | None
#: Digits of the combined score: enough that evidence from several families still ranks above
#: one family's near 1.0.
SCORE_DIGITS = 6


def _plan(model: ProbedClassifier, probes: Probes) -> tuple[list[tuple[str, Method]], str | None]:
    """The methods that can run on this model with these probes, and why others cannot."""
    plan: list[tuple[str, Method]] = [(weight_outliers.NAME, weight_outliers.run)]
    if probes is None or len(probes) == 0:
        return plan, "no probe inputs: only methods that need none ran"
    if model.spec.kind == "text":
        plan.append((token_inversion.NAME, token_inversion.run))
        return plan, None
    if model.spec.image is None:
        return plan, "input is not image-like: no trigger inversion for it"
    plan += [
        (blend_inversion.NAME, blend_inversion.run),
        (patch_inversion.NAME, patch_inversion.run),
        (random_triggers.NAME, random_triggers.run),
        (patch_certainty.NAME, patch_certainty.run),  # last: the others keep their random streams
    ]
    return plan, None


def _prepare(model: ProbedClassifier, probes: Probes) -> Probes:
    if probes is None:
        return None
    if model.spec.kind == "text":
        return [str(p) for p in probes if str(p).strip()]
    arr = np.asarray(probes, dtype=np.float64)
    return arr.reshape((-1, *model.spec.shape))


def analyse(
    model: ProbedClassifier,
    probes: np.ndarray | list[str] | None,
    *,
    budget_seconds: float,
    progress: Progress | None = None,
    seed: int = 0,
) -> BackdoorResult:
    """Run every applicable method within the budget; deterministic for a given seed."""
    start = time.monotonic()
    deadline = start + budget_seconds
    prepared = _prepare(model, probes)
    plan, note = _plan(model, prepared)
    results: list[MethodResult] = []
    evidence: dict[str, Evidence] = {}
    for index, (name, run) in enumerate(plan):
        if progress is not None:
            progress(name, 0.0)
        ctx = Context(model, deadline, np.random.default_rng([seed, index]), progress)
        began = time.monotonic()
        if began > deadline:
            results.append(MethodResult(name, 0.0, 0.0, complete=False, note="budget exhausted"))
            continue
        try:
            found = run(ctx, prepared)
        except BudgetExhausted:
            seconds = round(time.monotonic() - began, 3)
            results.append(
                MethodResult(name, 0.0, seconds, complete=False, note="budget exhausted")
            )
            continue
        evidence[name] = found
        results.append(_method_result(model.labels, name, found, time.monotonic() - began))
        if progress is not None:
            progress(name, 1.0)
    return _result(model.labels, results, evidence, note, model.spec.kind)


def _label(labels: Sequence[str], index: int | None) -> str | None:
    return None if index is None or index >= len(labels) else labels[index]


def _method_result(
    labels: Sequence[str], name: str, found: Evidence, seconds: float
) -> MethodResult:
    score = probability(_log_odds(name, found))
    return MethodResult(
        name=name,
        score=round(score, 4),
        seconds=round(seconds, 3),
        suspected_target=_label(labels, found.target),
        trigger=found.trigger,
        complete=found.complete,
        note=_describe(found),
    )


def _result(
    labels: Sequence[str],
    results: list[MethodResult],
    evidence: dict[str, Evidence],
    note: str | None,
    kind: str,
) -> BackdoorResult:
    ran = {
        name: _log_odds(name, found) for name, found in evidence.items() if found.target is not None
    }
    inversions = [r for r in results if r.name != weight_outliers.NAME and r.name in evidence]
    if kind == "tensor" and inversions:
        # Pixel weights are heavy-tailed in clean models too: on tensor inputs the weight
        # statistics separated nothing (ROC-AUC 0.50), so they are reported, not combined.
        ran.pop(weight_outliers.NAME, None)
    score, best = combine(ran)
    chosen = next((r for r in results if r.name == best), None)
    complete = note is None and all(r.complete for r in inversions) and bool(inversions)
    return BackdoorResult(
        score=round(score, SCORE_DIGITS),
        suspected_target=chosen.suspected_target if chosen else None,
        trigger=chosen.trigger if chosen else None,
        methods=tuple(results),
        complete=complete,
        note=note,
    )


def _log_odds(name: str, found: Evidence) -> float:
    """The method's calibrated log-odds; a method that found no target has none (score 0)."""
    if found.target is None:
        return -LIMIT
    return calibrated_log_odds(name, found.statistic, found.extra)


def _describe(found: Evidence) -> str:
    stats = [f"statistic {found.statistic:.3f}"]
    stats += [f"{key} {value:.3f}" for key, value in found.extra.items()]
    return "; ".join([*stats, *([found.note] if found.note else [])])
