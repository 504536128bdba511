"""The scale-free statistics and the calibration the methods share."""

from __future__ import annotations

import numpy as np

from modelward.engine.behaviour.combine import CALIBRATIONS, calibrate, combine, probability
from modelward.engine.behaviour.methods import patch_certainty
from modelward.engine.behaviour.methods.common import isolation_gap, low_anomaly
from modelward.engine.behaviour.methods.images import ImageView
from modelward.engine.behaviour.methods.weight_outliers import class_rows
from modelward.engine.behaviour.model import InputSpec


def test_anomaly_index_flags_one_cheap_class_and_is_scale_free() -> None:
    costs = np.array([5.0, 5.5, 4.8, 0.5, 5.2, 6.0])
    index, cls = low_anomaly(costs)
    assert cls == 3 and index > 5
    assert np.isclose(low_anomaly(costs * 100)[0], index)


def test_anomaly_index_stays_finite_when_classes_tie() -> None:
    index, _ = low_anomaly(np.array([3.0, 3.0, 3.0, 3.0]))
    assert index == 0.0


def test_isolation_gap() -> None:
    assert np.isclose(isolation_gap(np.array([4.0, 1.0, 2.0])), np.log(2.0))


def test_calibration_is_monotonic_and_half_at_its_center() -> None:
    for key, cal in CALIBRATIONS.items():
        method = key.split(":")[0]
        if ":" not in key:
            assert np.isclose(calibrate(method, cal.center), 0.5)
        assert cal(cal.center - cal.width) < 0.5 < cal(cal.center + cal.width)


def test_extra_statistics_raise_a_method_score() -> None:
    low = calibrate("patch-inversion", 0.0)
    assert calibrate("patch-inversion", 0.0, {"gap": 2.0}) > 0.9 > low


def test_the_strongest_family_sets_the_side_of_one_half() -> None:
    assert combine({}) == (0.0, None)
    score, lead = combine({"patch-inversion": -1.0, "random-triggers": -3.0})
    assert lead == "patch-inversion" and np.isclose(score, probability(-1.0)) and score < 0.5
    score, lead = combine({"blend-inversion": 0.0, "random-triggers": -3.0})
    assert lead == "blend-inversion" and score == 0.5


def test_agreeing_families_add_their_evidence() -> None:
    score, lead = combine({"patch-inversion": 2.0, "random-triggers": 1.0, "blend-inversion": 0.5})
    assert lead == "patch-inversion" and np.isclose(score, probability(3.5))


def test_a_family_that_finds_nothing_takes_nothing_away() -> None:
    score, _ = combine({"patch-inversion": 2.0, "random-triggers": -8.0})
    assert np.isclose(score, probability(2.0))


def test_methods_of_one_family_count_once() -> None:
    score, lead = combine({"patch-inversion": 1.5, "patch-certainty": 2.0})
    assert lead == "patch-certainty" and np.isclose(score, probability(2.0))


def test_several_families_rank_above_one_family_near_certainty() -> None:
    one, _ = combine({"patch-inversion": 9.0})
    several, _ = combine({"patch-inversion": 6.0, "random-triggers": 3.0, "blend-inversion": 2.0})
    assert one < several < 1.0


def test_binary_weight_vector_becomes_two_class_rows() -> None:
    rows = class_rows(np.array([[1.0, -2.0, 3.0, 0.0]]), 2)
    assert rows is not None and rows.shape == (2, 4)
    assert class_rows(np.ones((7, 5)), 3) is None


def test_image_view_round_trips_every_layout() -> None:
    from modelward.engine.behaviour.methods.images import ImageView
    from modelward.engine.behaviour.model import InputSpec

    rng = np.random.default_rng(0)
    cases = [
        (InputSpec("tensor", (64,), "float32", (1, 8, 8), "flat", (0.0, 16.0)), (5, 64)),
        (InputSpec("tensor", (1, 8, 8), "float32", (1, 8, 8), "chw", (0.0, 16.0)), (5, 1, 8, 8)),
        (InputSpec("tensor", (16, 16, 3), "float32", (3, 16, 16), "hwc", None), (5, 16, 16, 3)),
    ]
    for spec, shape in cases:
        batch = rng.random(shape)
        view = ImageView.of(spec, batch)
        chw = view.to_chw(batch)
        assert chw.shape[1:] == spec.image
        assert np.array_equal(view.from_chw(chw), batch)
        assert view.rows <= 8 and view.cols <= 8
        assert view.block_map(np.ones(view.blocks)).shape == spec.image


def _view() -> ImageView:
    spec = InputSpec("tensor", (64,), "float32", (1, 8, 8), "flat", (0.0, 16.0))
    return ImageView.of(spec, np.zeros((1, 64)))


def test_a_square_the_class_already_shows_is_natural_not_a_trigger() -> None:
    view = _view()
    own = np.zeros((4, 1, 8, 8))
    own[:, :, 3:6, 0:3] = 12.0  # the class's own inputs are bright on the left
    others = np.zeros((8, 1, 8, 8))
    assert patch_certainty._natural(view, (3, 0, 3, 16.0), own, others)
    assert not patch_certainty._natural(view, (0, 5, 3, 16.0), own, others)  # empty corner
    assert not patch_certainty._natural(view, (3, 0, 3, 0.0), own, others)  # the opposite value


def test_patch_certainty_is_relative_to_clean_certainty() -> None:
    view = _view()
    squares = patch_certainty._squares(view)
    odds = np.full((len(squares), 3), -2.0)
    odds[5, 2] = 9.0  # one square makes class 2 as sure as clean data (baseline 9.0)
    x = np.zeros((6, 1, 8, 8))
    pred = np.array([0, 0, 1, 1, 2, 2])
    found = patch_certainty._evidence(view, squares, odds, x, pred, 9.0, True)
    assert found.target == 2 and np.isclose(found.statistic, 0.0)
