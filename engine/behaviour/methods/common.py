"""What every method shares: the run context, the deadline, and robust anomaly statistics."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from modelward.engine.behaviour.model import ProbedClassifier

Progress = Callable[[str, float], None]
FloatArray = npt.NDArray[np.float64]


class BudgetExhausted(Exception):
    """The method ran out of time; it reports what it measured so far."""


@dataclass
class Context:
    """One analysis run: the model, a deadline, a seeded generator, and a progress sink."""

    model: ProbedClassifier
    deadline: float
    rng: np.random.Generator
    progress: Progress | None = None
    queries: int = field(default=0)

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise BudgetExhausted

    def report(self, step: str, fraction: float) -> None:
        if self.progress is not None:
            self.progress(step, min(max(fraction, 0.0), 1.0))

    def probabilities(self, batch: npt.NDArray[np.floating] | list[str]) -> FloatArray:
        self.check()
        self.queries += len(batch)
        return np.asarray(self.model.probabilities(batch), dtype=np.float64)


@dataclass(frozen=True)
class Evidence:
    """A method's raw outcome before calibration."""

    statistic: float
    target: int | None
    trigger: str | None
    complete: bool = True
    note: str | None = None
    extra: dict[str, float] = field(default_factory=dict)


def low_anomaly(costs: FloatArray) -> tuple[float, int]:
    """Neural-Cleanse anomaly index of the cheapest class: (median - min) / (1.4826 * MAD).

    Costs are compared on a log scale; the MAD is floored at 0.1 (a 10% cost difference) so
    that ties and coarse outputs (votes of a few trees or neighbours) cannot make it explode.
    """
    logs = np.log(np.maximum(costs, 1e-6))
    median = float(np.median(logs))
    mad = 1.4826 * float(np.median(np.abs(logs - median)))
    low = int(np.argmin(logs))
    return (median - float(logs[low])) / max(mad, 0.1), low


def isolation_gap(costs: FloatArray) -> float:
    """log(second-cheapest / cheapest cost): how far the cheapest class stands from the next."""
    ordered = np.sort(np.maximum(costs, 1e-6))
    return float(np.log(ordered[1] / ordered[0])) if len(ordered) > 1 else 0.0
