"""Calibration of each method's statistic to 0..1, and their combination into one score.

Each statistic is mapped by a fixed logistic, 1 / (1 + exp(-(statistic - center) / width)),
whose center and width were fitted once (logistic regression of trojan vs clean) on the generated
evaluation set (bench/backdoor.py) and are never refitted per model. So 0.5 means the same for
every model: "this statistic sits at the boundary between the trojaned and clean models measured".
patch-certainty's center (5.0) sits above the highest clean statistic measured (3.4, a small
digits MLP) and below most trojans (4.0 to 8.5), leaning towards few false positives.
The combined score is the largest calibrated score among the methods that ran, so a strong
single family is enough, and the measured false-positive rate at 0.5 is reported in
docs/backdoor.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Calibration:
    center: float
    width: float

    def __call__(self, statistic: float) -> float:
        z = (statistic - self.center) / self.width
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))


# Keyed by method, or "method:statistic" for a method's extra statistics.
CALIBRATIONS: dict[str, Calibration] = {
    "patch-inversion": Calibration(center=3.5, width=0.5),
    "patch-inversion:gap": Calibration(center=0.45, width=0.1),
    "blend-inversion": Calibration(center=5.0, width=0.7),
    "patch-certainty": Calibration(center=5.0, width=1.0),
    "token-inversion": Calibration(center=0.35, width=0.05),
    "random-triggers": Calibration(center=0.65, width=0.08),
    "weight-outliers": Calibration(center=0.4, width=0.1),
}


def calibrate(method: str, statistic: float, extra: dict[str, float] | None = None) -> float:
    """The method's statistics as one calibrated 0..1 score (the largest of them)."""
    scores = [CALIBRATIONS[method](statistic)]
    for key, value in (extra or {}).items():
        if f"{method}:{key}" in CALIBRATIONS:
            scores.append(CALIBRATIONS[f"{method}:{key}"](value))
    return max(scores)


def combine(scores: dict[str, float]) -> tuple[float, str | None]:
    """The combined score and the method that set it (None when no method ran)."""
    if not scores:
        return 0.0, None
    name = max(scores, key=lambda k: (scores[k], k))
    return scores[name], name
