"""Trigger inversion, patch mode: how few blocks, set to an extreme, pull probes into a class.

A greedy, gradient-free search shared across all probes (a universal patch): each step keeps the
block and extreme value that most raise the class's mean log-probability. A class's cost is the
area above its curve of mean probability over MAX_BLOCKS steps (small = reached fast and
confidently). A backdoor target is the class anomalously cheap to reach: the statistic is the
median-absolute-deviation anomaly index of the per-class costs, and `gap` (extra) how far the
cheapest class stands from the next one.
"""

from __future__ import annotations

import numpy as np

from modelward.engine.behaviour.methods.common import (
    Context,
    Evidence,
    FloatArray,
    isolation_gap,
    low_anomaly,
)
from modelward.engine.behaviour.methods.images import ImageView, search_each_class

NAME = "patch-inversion"
MAX_BLOCKS = 10
SHORTLIST = 24
N_PROBES = 20
REACHED = 0.9


def _search(
    ctx: Context, view: ImageView, x: FloatArray, cls: int
) -> tuple[float, list[tuple[int, float]]]:
    """Greedy block search for one class; returns (cost, blocks and values up to REACHED)."""
    n = len(x)
    candidates = [(b, v) for b in range(view.blocks) for v in (view.low, view.high)]
    chosen: list[tuple[int, float]] = []
    current = x
    cost = 0.5
    trigger: list[tuple[int, float]] = []
    for _ in range(MAX_BLOCKS):
        used = {b for b, _ in chosen}
        pool = [c for c in candidates if c[0] not in used]
        batch = np.repeat(current[None], len(pool), axis=0)
        for i, (b, v) in enumerate(pool):
            rows, cols = view.mask(b)
            batch[i, :, :, rows, cols] = v
        probs = ctx.probabilities(view.from_chw(batch.reshape(-1, *x.shape[1:])))
        p_cls = probs[:, cls].reshape(len(pool), n)
        scores = np.log(np.maximum(p_cls, 1e-6)).mean(axis=1)
        best = int(np.argmax(scores))
        chosen.append(pool[best])
        current = batch[best]
        reached = float(p_cls[best].mean())
        cost += 1.0 - reached
        if reached >= REACHED and not trigger:
            trigger = list(chosen)
        order = np.argsort(-scores, kind="stable")
        candidates = [pool[i] for i in order[1 : SHORTLIST + 1]]
    return cost, trigger


def run(ctx: Context, probes: FloatArray) -> Evidence:
    """Per-class patch cost over the probes; the anomaly index of the cheapest class."""
    view, searched, complete = search_each_class(
        ctx, NAME, probes, N_PROBES, lambda view, x, cls: _search(ctx, view, x, cls)
    )
    costs = np.full(len(ctx.model.labels), np.nan)
    for cls, (cost, _) in searched.items():
        costs[cls] = cost
    found = {cls: trigger for cls, (_, trigger) in searched.items()}
    done = costs[~np.isnan(costs)]
    if len(done) < 3:
        return Evidence(0.0, None, None, complete=False, note="too few classes searched")
    statistic, index = low_anomaly(done)
    target = int(np.flatnonzero(~np.isnan(costs))[index])
    chosen = found.get(target, [])
    trigger = (
        view.describe_blocks([b for b, _ in chosen], [v for _, v in chosen]) if chosen else None
    )
    note = "costs " + " ".join(f"{c:.1f}" for c in costs)
    extra = {"gap": isolation_gap(done)}
    return Evidence(statistic, target, trigger, complete=complete, note=note, extra=extra)
