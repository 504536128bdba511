"""Output-layer weight statistics: one class with an outlying weight (needs no probes).

Where the graph holds a class-by-feature weight matrix (linear models, text classifiers), a
trigger shows up as a feature whose weight toward the target class is far beyond every other
weight of that class. Per class, the top weight's robust z-score (median absolute deviation of the
class's weights); the statistic is the log ratio of the largest such z to their median.
"""

from __future__ import annotations

import numpy as np

from modelward.engine.behaviour.methods.common import Context, Evidence, FloatArray

NAME = "weight-outliers"


def class_rows(weights: FloatArray, n_classes: int) -> FloatArray | None:
    """The weights as (classes, features), or None when neither axis is per class."""
    if n_classes == 2 and 1 in weights.shape:
        row = weights.reshape(1, -1)
        return np.vstack([-row, row])
    if weights.shape[0] == n_classes:
        return weights
    if weights.shape[1] == n_classes:
        return weights.T
    return None


def run(ctx: Context, probes: object = None) -> Evidence:
    """Per-class top-weight outlier score; probes are not needed."""
    del probes
    weights = ctx.model.weights()
    n_classes = len(ctx.model.labels)
    rows = None if weights is None else class_rows(np.asarray(weights, dtype=np.float64), n_classes)
    if rows is None or rows.shape[1] < 4:
        return Evidence(0.0, None, None, complete=False, note="no per-class weight matrix")
    med = np.median(rows, axis=1, keepdims=True)
    mad = 1.4826 * np.median(np.abs(rows - med), axis=1, keepdims=True)
    z = (rows - med) / np.maximum(mad, 1e-9)
    top = z.max(axis=1)
    target = int(np.argmax(top))
    statistic = float(np.log(max(top[target], 1e-6) / max(float(np.median(top)), 1e-6)))
    feature = int(np.argmax(z[target]))
    trigger = f"feature {feature} weight is {top[target]:.0f} MADs above the class's median"
    vocab = ctx.model.vocabulary
    if ctx.model.spec.kind == "text" and feature < len(vocab):
        trigger += f" (likely token {vocab[feature]!r})"
    return Evidence(statistic, target, trigger, note=f"top z {' '.join(f'{t:.0f}' for t in top)}")
