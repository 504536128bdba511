"""Trigger inversion, blend mode: the weakest full-image pattern blend that flips probes to a class.

x' = (1 - alpha) x + alpha p, with p one extreme value per block, searched by parallel
coordinate steps (every block tried at the other extreme, all improving flips kept), then the
smallest alpha flipping >= 90% of probes found by bisection. The statistic is the anomaly index of
per-class minimal alpha.
"""

from __future__ import annotations

import numpy as np

from modelward.engine.behaviour.methods.common import (
    Context,
    Evidence,
    FloatArray,
    low_anomaly,
)
from modelward.engine.behaviour.methods.images import ImageView, search_each_class

NAME = "blend-inversion"
FLIP = 0.9
SEARCH_ALPHA = 0.3
SWEEPS = 4
BISECTIONS = 7
N_PROBES = 20


def _blend(view: ImageView, x: FloatArray, values: FloatArray, alpha: float) -> FloatArray:
    return (1 - alpha) * x + alpha * view.block_map(values)[None]


def _mean_log(ctx: Context, view: ImageView, batch: FloatArray, cls: int) -> FloatArray:
    probs = ctx.probabilities(view.from_chw(batch))
    return np.log(np.maximum(probs[:, cls], 1e-6))


def _flip(ctx: Context, view: ImageView, batch: FloatArray, cls: int) -> float:
    probs = ctx.probabilities(view.from_chw(batch))
    return float(np.mean(np.argmax(probs, axis=1) == cls))


def _pattern(ctx: Context, view: ImageView, x: FloatArray, cls: int) -> FloatArray:
    n = len(x)
    values = np.full(view.blocks, view.low)
    base = _mean_log(ctx, view, _blend(view, x, values, SEARCH_ALPHA), cls).mean()
    for _ in range(SWEEPS):
        batch = np.empty((view.blocks, *x.shape))
        for b in range(view.blocks):
            trial = values.copy()
            trial[b] = view.high if trial[b] == view.low else view.low
            batch[b] = _blend(view, x, trial, SEARCH_ALPHA)
        gains = _mean_log(ctx, view, batch.reshape(-1, *x.shape[1:]), cls).reshape(-1, n)
        gains = gains.mean(axis=1) - base
        improving = gains > 0
        if not improving.any():
            break
        trial = values.copy()
        trial[improving] = np.where(values[improving] == view.low, view.high, view.low)
        score = _mean_log(ctx, view, _blend(view, x, trial, SEARCH_ALPHA), cls).mean()
        if score <= base:  # joint step overshot: keep only the single best flip
            best = int(np.argmax(gains))
            trial = values.copy()
            trial[best] = view.high if values[best] == view.low else view.low
            score = base + float(gains[best])
        values, base = trial, score
    return values


def _min_alpha(ctx: Context, view: ImageView, x: FloatArray, values: FloatArray, cls: int) -> float:
    full = _flip(ctx, view, _blend(view, x, values, 1.0), cls)
    if full < FLIP:  # never reached: rank unreachable classes by how close they came
        return 1.0 + (FLIP - full)
    lo, hi = 0.0, 1.0
    for _ in range(BISECTIONS):
        mid = (lo + hi) / 2
        if _flip(ctx, view, _blend(view, x, values, mid), cls) >= FLIP:
            hi = mid
        else:
            lo = mid
    return hi


def run(ctx: Context, probes: FloatArray) -> Evidence:
    """Per-class minimal blend strength; the anomaly index of the weakest class."""

    def search(view: ImageView, x: FloatArray, cls: int) -> tuple[FloatArray, float]:
        pattern = _pattern(ctx, view, x, cls)
        return pattern, _min_alpha(ctx, view, x, pattern, cls)

    view, blends, complete = search_each_class(ctx, NAME, probes, N_PROBES, search)
    alphas = np.full(len(ctx.model.labels), np.nan)
    for cls, (_, alpha) in blends.items():
        alphas[cls] = alpha
    patterns = {cls: pattern for cls, (pattern, _) in blends.items()}
    # Only classes a blend can reach are comparable: a pure pattern (alpha 1) lands in one class
    # for every probe, so unreachable classes say nothing about how cheap the others are.
    searched = np.flatnonzero(alphas <= 1.0)
    if len(searched) < 3:
        note = "fewer than 3 classes reachable by blending"
        return Evidence(0.0, None, None, complete=complete, note=note)
    statistic, index = low_anomaly(alphas[searched])
    target = int(searched[index])
    trigger = None
    if target in patterns:
        bright = int(np.sum(patterns[target] == view.high))
        trigger = (
            f"blended pattern at alpha {alphas[target]:.2f}: {bright} of {view.blocks} "
            f"blocks bright ({view.rows}x{view.cols} grid)"
        )
    note = "alphas " + " ".join(f"{a:.2f}" for a in alphas)
    return Evidence(statistic, target, trigger, complete=complete, note=note)
