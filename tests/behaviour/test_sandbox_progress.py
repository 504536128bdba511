"""Progress calls of the analysis, in the forms it may use, become one fraction and a label."""

from __future__ import annotations

import pytest

from modelward.engine.behaviour.runner import _fraction, _label


@pytest.mark.parametrize(
    ("values", "fraction", "label"),
    [
        ([0.25], 0.25, None),
        ([0.5, "trigger search"], 0.5, "trigger search"),
        ([3, 4], 0.75, None),
        (["weights", 1, 4], 0.25, "weights"),
        ([True], None, None),
        ([], None, None),
    ],
)
def test_progress_forms(values: list[object], fraction: float | None, label: str | None) -> None:
    assert _fraction(values) == fraction
    assert _label(values) == label
