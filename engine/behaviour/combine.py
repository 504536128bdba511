"""Calibration of each method's statistic, and the combination of the evidence into one score.

Each statistic is mapped to log-odds by a fixed line, (statistic - center) / width, whose center
and width were fitted once (logistic regression of trojan vs clean) on the generated evaluation
set (bench/backdoor.py) and are never refitted per model; a method's score is the logistic of
it. So 0.5 means the same for every model: "this statistic sits at the boundary between the
trojaned and clean models measured". patch-certainty's center (5.0) sits above the highest
clean statistic measured (3.4, a small digits MLP) and below most trojans (4.0 to 8.5), leaning
towards few false positives.

The combined log-odds are the strongest family's, plus the positive log-odds of every other
family that agrees (naive-Bayes pooling of independent evidence, counting only evidence for a
backdoor: a family that finds nothing is not evidence against one, since each is blind to some
triggers). Methods that test the same thing (the two patch searches) form one family and count
once. Hence the combined score is at least 0.5 exactly when one method's is, and above that it
grows with the number of families that agree: a natural feature that one search finds ranks
below a trigger that several find.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Log-odds are kept within this bound (a probability of about 1 - 2e-22).
LIMIT = 50.0


@dataclass(frozen=True)
class Calibration:
    center: float
    width: float

    def log_odds(self, statistic: float) -> float:
        return max(min((statistic - self.center) / self.width, LIMIT), -LIMIT)

    def __call__(self, statistic: float) -> float:
        return probability(self.log_odds(statistic))


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

#: What each method tests; methods of one family are not independent evidence.
FAMILIES: dict[str, str] = {
    "patch-inversion": "patch trigger",
    "patch-certainty": "patch trigger",
    "blend-inversion": "blend trigger",
    "token-inversion": "token trigger",
    "random-triggers": "perturbation",
    "weight-outliers": "weights",
}


def probability(log_odds: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(log_odds, LIMIT), -LIMIT)))


def calibrated_log_odds(
    method: str, statistic: float, extra: dict[str, float] | None = None
) -> float:
    """The method's statistics as calibrated log-odds (the largest of them)."""
    values = [CALIBRATIONS[method].log_odds(statistic)]
    for key, value in (extra or {}).items():
        if f"{method}:{key}" in CALIBRATIONS:
            values.append(CALIBRATIONS[f"{method}:{key}"].log_odds(value))
    return max(values)


def calibrate(method: str, statistic: float, extra: dict[str, float] | None = None) -> float:
    """The method's statistics as one calibrated 0..1 score."""
    return probability(calibrated_log_odds(method, statistic, extra))


def combine(log_odds: dict[str, float]) -> tuple[float, str | None]:
    """The combined score of the methods' calibrated log-odds, and the method that led it
    (None when no method ran)."""
    if not log_odds:
        return 0.0, None
    strongest: dict[str, tuple[float, str]] = {}
    for method, value in log_odds.items():
        family = FAMILIES.get(method, method)
        strongest[family] = max(strongest.get(family, (-math.inf, "")), (value, method))
    ranked = sorted(strongest.values(), reverse=True)
    (lead, method), others = ranked[0], ranked[1:]
    return probability(lead + sum(max(0.0, value) for value, _ in others)), method
