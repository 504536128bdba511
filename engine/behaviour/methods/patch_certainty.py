"""Patch certainty: does a small square patch make the model as sure of a class as clean data does?

A backdoor is trained to answer its target with the confidence of its training data whatever the
input carries; a clean model that a universal patch pushes across a boundary lands near it. Every
square of 2x2 and 3x3 blocks, set to the input's min or max, is stamped on the probes; a class's
certainty is the best median log-odds of that class over the probes the model assigns elsewhere.
The statistic is that certainty minus the median log-odds of the model's own top class on the clean
probes (scale-free: 0 means "as sure as on clean inputs").

A patch that exaggerates what the class's own probes already show (their mean in the square stands
apart from the other probes' by more than NATURAL of the value range) is a natural feature of the
class, not a trigger, and is not counted for it.
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

NAME = "patch-certainty"
SIDES = (2, 3)  # square sides, in blocks
N_PROBES = 40
NATURAL = 0.15
CLIP = 1e-7

Square = tuple[int, int, int, float]  # top block row, left block column, side in blocks, value


def _log_odds(p: FloatArray) -> FloatArray:
    q = np.clip(p, CLIP, 1.0 - CLIP)
    return np.asarray(np.log(q / (1.0 - q)), dtype=np.float64)


def _squares(view: ImageView) -> list[Square]:
    return [
        (r, c, side, v)
        for side in SIDES
        for r in range(view.rows - side + 1)
        for c in range(view.cols - side + 1)
        for v in (view.low, view.high)
    ]


def _pixels(view: ImageView, square: Square) -> tuple[slice, slice]:
    r, c, side, _ = square
    b = view.block
    return slice(r * b, (r + side) * b), slice(c * b, (c + side) * b)


def _natural(view: ImageView, square: Square, own: FloatArray, others: FloatArray) -> bool:
    """Whether the class's own probes already stand apart from the others in the square."""
    if not len(own) or not len(others):
        return False
    rows, cols = _pixels(view, square)
    apart = float(own[:, :, rows, cols].mean() - others[:, :, rows, cols].mean())
    toward = apart if square[3] == view.high else -apart
    return toward / (view.high - view.low) > NATURAL


def run(ctx: Context, probes: FloatArray) -> Evidence:
    """Per-class certainty under the best square patch, relative to clean certainty."""
    view = ImageView.of(ctx.model.spec, probes)
    x_all = view.to_chw(probes)
    clean = ctx.probabilities(view.from_chw(x_all))
    pred = np.argmax(clean, axis=1)
    baseline = float(np.median(_log_odds(clean.max(axis=1))))
    x, x_pred = x_all[:N_PROBES], pred[:N_PROBES]
    squares = _squares(view)
    n_classes = len(ctx.model.labels)
    odds = np.full((len(squares), n_classes), -np.inf)
    complete = True
    for i, square in enumerate(squares):
        if i % 16 == 0:
            ctx.report(NAME, i / len(squares))
        stamped = x.copy()
        rows, cols = _pixels(view, square)
        stamped[:, :, rows, cols] = square[3]
        try:
            probs = ctx.probabilities(view.from_chw(stamped))
        except BudgetExhausted:
            complete = False
            break
        for cls in range(n_classes):
            away = x_pred != cls
            if away.any():
                odds[i, cls] = float(np.median(_log_odds(probs[away, cls])))
    return _evidence(view, squares, odds, x_all, pred, baseline, complete)


def _evidence(
    view: ImageView,
    squares: list[Square],
    odds: FloatArray,
    x_all: FloatArray,
    pred: FloatArray,
    baseline: float,
    complete: bool,
) -> Evidence:
    best = np.full(odds.shape[1], -np.inf)
    where: dict[int, int] = {}
    for cls in range(odds.shape[1]):
        own, others = x_all[pred == cls], x_all[pred != cls]
        for i in np.argsort(-odds[:, cls], kind="stable"):
            if not np.isfinite(odds[i, cls]):
                break
            if not _natural(view, squares[int(i)], own, others):
                best[cls], where[cls] = odds[i, cls], int(i)
                break
    if not where:
        return Evidence(0.0, None, None, complete=False, note="no square searched")
    target = int(np.argmax(best))
    r, c, side, value = squares[where[target]]
    b = view.block
    level = "max" if value == view.high else "min"
    trigger = (
        f"{side * b}x{side * b} px square at row {r * b}, col {c * b} set to {level} "
        f"(median log-odds {best[target]:.1f} vs {baseline:.1f} on clean probes)"
    )
    finite = best[np.isfinite(best)]
    note = "certainty " + " ".join(f"{v:.1f}" for v in finite)
    return Evidence(float(best[target] - baseline), target, trigger, complete=complete, note=note)
