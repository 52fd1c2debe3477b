"""Calibration of raw TSA output to 1-5 on synthetic predictions: monotone, order kept, clean clips high."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from koala.vtss.calibrate import Calibration, cross_fitted, fit_calibration, keep_reject


def synthetic(n_per=40, seed=0):
    """Raw outputs squeezed low (a clean clip comes out near 3), ordered with the labels plus noise, in 4 groups."""
    rng = np.random.default_rng(seed)
    severity = np.repeat([0, 1, 2, 3, 4], n_per)
    labels = np.array([5.0, 4.0, 2.0, 1.5, 1.0])[severity]
    raw = 3.0 - 0.3 * severity + rng.normal(0, 0.08, len(severity))
    groups = rng.integers(0, 4, len(severity))
    return raw, labels, severity, groups


def test_fit_is_monotone_and_keeps_the_order():
    raw, labels, _, _ = synthetic()
    cal = fit_calibration(raw, labels)
    grid = np.linspace(raw.min() - 1, raw.max() + 1, 500)
    out = cal(grid)
    assert (np.diff(out) >= 0).all()
    assert out.min() >= 1.0 and out.max() <= 5.0
    # a monotone map never swaps two clips: the rank correlation with the labels cannot drop
    assert stats.spearmanr(cal(raw), labels)[0] >= stats.spearmanr(raw, labels)[0] - 1e-9


def test_clean_clips_score_high_after_calibration_and_damaged_low():
    raw, labels, severity, groups = synthetic()
    assert np.mean(np.clip(raw[severity == 0], 1, 5) >= 4) == 0  # uncalibrated: clean clips sit near 3
    cal = cross_fitted(raw, labels, groups)
    kr = keep_reject(cal, severity)
    assert kr["clean_kept"] == 1.0 and kr["clean_mean"] >= 4.0
    assert kr["damaged_rejected"] >= 0.95
    assert kr["clean_n"] == 40 and kr["damaged_n"] == 120


def test_cross_fitting_never_uses_a_clip_for_its_own_map():
    raw = np.array([0.0, 1.0, 2.0, 3.0])
    labels = np.array([1.0, 2.0, 4.0, 5.0])
    groups = np.array(["a", "a", "b", "b"])
    out = cross_fitted(raw, labels, groups)
    # group a is mapped by b's fit alone (x 2..3 -> 4..5, clipped below 2): both of a's clips land on 4
    assert out[:2].tolist() == [4.0, 4.0]
    assert out[2:].tolist() == [2.0, 2.0]
    assert np.isnan(cross_fitted(raw, labels, np.zeros(4))).all()  # one group: nothing to fit on


def test_round_trip_and_bad_input():
    cal = fit_calibration([0, 1, 2, np.nan], [1, 3, 5, 5])
    again = Calibration.from_dict(cal.to_dict())
    assert again == cal and Calibration.from_dict(None) is None
    with pytest.raises(ValueError, match="at least 2"):
        fit_calibration([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match="ascending"):
        Calibration(x=(1.0, 0.0), y=(1.0, 2.0))


def test_keep_reject_counts_and_empty_groups():
    kr = keep_reject([4.0, 2.6, 2.4, 1.0, 3.0], [0, 0, 0, 2, 3])
    assert kr["clean_kept"] == pytest.approx(2 / 3) and kr["damaged_rejected"] == pytest.approx(0.5)
    none = keep_reject([3.0], [1])
    assert math.isnan(none["clean_kept"]) and math.isnan(none["damaged_rejected"]) and none["clean_n"] == 0


def test_separation_measures_the_order_not_the_scale():
    from koala.vtss.calibrate import separation

    sev = [0, 0, 0, 0, 2, 3, 4, 1]
    good = separation([9.0, 8.0, 7.5, 7.0, 3.0, 2.0, 1.0, 0.0], sev)  # every clean clip above every damaged one
    assert good["auc"] == 1.0 and good["damaged_rejected_at_kept"] == 1.0 and good["damaged_n"] == 3  # severity 1 left out
    shifted = separation([9.0 + 100, 108.0, 107.5, 107.0, 103.0, 102.0, 101.0, 0.0], sev)
    assert shifted["auc"] == good["auc"]
    mixed = separation([4.0, 3.0, 2.0, 1.0, 3.5, 2.5, 0.5, 0.0], sev)
    assert mixed["auc"] == pytest.approx(7 / 12)
    assert mixed["damaged_rejected_at_kept"] == pytest.approx(1 / 3)  # only 0.5 is under the lowest clean kept at 95 %
    empty = separation([1.0, 2.0], [0, 1])
    assert math.isnan(empty["auc"]) and math.isnan(empty["damaged_rejected_at_kept"]) and empty["damaged_n"] == 0


def test_damaged_below_is_the_first_severity_labelled_under_the_threshold():
    from koala.vtss.calibrate import damaged_below

    assert damaged_below((5.0, 4.0, 3.0, 2.0, 1.0)) == 3  # severity 2 is labelled 3.0: kept by a perfect scorer
    assert damaged_below((5.0, 3.5, 2.0, 1.5, 1.0)) == 2
    assert damaged_below((5.0, 4.0, 3.0, 2.0, 1.0), threshold=3.5) == 2
    with pytest.raises(ValueError, match="no proxy label"):
        damaged_below((5.0, 4.0, 3.0), threshold=2.5)
