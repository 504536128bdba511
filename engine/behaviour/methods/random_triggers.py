"""Random-trigger probing: stamp random patches and blend random patterns onto the probes.

No search at all, so it is independent of the inversion methods. A backdoored model tends to
route perturbed inputs to its target (the trigger is a shortcut any strong, input-agnostic change
can partly excite); a clean model spreads such flips over its natural confusions. The statistic is
the largest class's share of all flipped predictions, rescaled so that 0 is an even spread over
the classes and 1 is every flip landing in one class.
"""

from __future__ import annotations

import numpy as np

from modelward.engine.behaviour.methods.common import (
    BudgetExhausted,
    Context,
    Evidence,
    FloatArray,
)
from modelward.engine.behaviour.methods.images import ImageView

NAME = "random-triggers"
N_TRIGGERS = 48
N_PROBES = 24


def _random_trigger(view: ImageView, x: FloatArray, rng: np.random.Generator, k: int) -> FloatArray:
    c, h, w = x.shape[1:]
    if k % 2 == 0:  # a random patch of a quarter of the side, each pixel at an extreme
        side = max(1, min(h, w) // 4)
        r, q = int(rng.integers(h - side + 1)), int(rng.integers(w - side + 1))
        out = x.copy()
        values = rng.choice([view.low, view.high], size=(c, side, side))
        out[:, :, r : r + side, q : q + side] = values[None]
        return out
    alpha = float(rng.uniform(0.2, 0.4))
    pattern = rng.uniform(view.low, view.high, size=(c, h, w))
    return (1 - alpha) * x + alpha * pattern[None]


def run(ctx: Context, probes: FloatArray) -> Evidence:
    view = ImageView.of(ctx.model.spec, probes)
    x = view.to_chw(probes)[:N_PROBES]
    base = np.argmax(ctx.probabilities(view.from_chw(x)), axis=1)
    n_classes = len(ctx.model.labels)
    counts = np.zeros(n_classes)
    complete = True
    for k in range(N_TRIGGERS):
        if k % 8 == 0:
            ctx.report(NAME, k / N_TRIGGERS)
        try:
            pred = np.argmax(
                ctx.probabilities(view.from_chw(_random_trigger(view, x, ctx.rng, k))), axis=1
            )
        except BudgetExhausted:
            complete = False
            break
        moved = pred[pred != base]
        counts += np.bincount(moved, minlength=n_classes)
    if counts.sum() == 0:
        return Evidence(0.0, None, None, complete=complete, note="no perturbation changed a label")
    shares = (counts + 1) / (counts.sum() + n_classes)
    target = int(np.argmax(shares))
    statistic = float((shares[target] - 1 / n_classes) / (1 - 1 / n_classes))
    note = "flip shares " + " ".join(f"{s:.2f}" for s in shares)
    trigger = f"random perturbations send {shares[target]:.0%} of flips here"
    return Evidence(statistic, target, trigger, complete=complete, note=note)
