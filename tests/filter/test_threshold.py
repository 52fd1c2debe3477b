"""The VTSS threshold rules and the manual multi-threshold baseline (koala/filter/threshold.py)."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from koala.config import FilterConfig, ManualThresholdsConfig
from koala.filter.threshold import (
    MetricRule, Mixture, choose_threshold, manual_decisions, manual_rules, mixture_valley, valley_threshold,
    vtss_decisions,
)

# The density valley of the generating mixture 0.3 N(1.5, 0.3) + 0.7 N(3.8, 0.4), found with
# scipy.optimize.minimize_scalar (bounded, xatol 1e-9) on the exact density: 2.47004.
TRUE_VALLEY = 2.47004


def test_bimodal_sample_gives_the_valley_between_the_modes(bimodal):
    th = valley_threshold(bimodal, FilterConfig())
    assert th.method == "valley" and th.reason == ""
    assert th.mixture.means[0] == pytest.approx(1.5, abs=0.1) and th.mixture.means[1] == pytest.approx(3.8, abs=0.1)
    assert th.mixture.weights[0] == pytest.approx(0.3, abs=0.05)
    # 1000 samples: the fitted valley lands within 0.1 of the generating mixture's valley.
    assert th.value == pytest.approx(TRUE_VALLEY, abs=0.1)
    assert th.mixture.means[0] < th.value < th.mixture.means[1]
    # ... and it is the density minimum between the means.
    grid = np.linspace(*th.mixture.means, 2001)
    assert th.mixture.density(th.value) <= th.mixture.density(grid).min() + 1e-9


def test_symmetric_mixture_valley_is_the_midpoint():
    mix = Mixture(means=(2.0, 4.0), stds=(0.4, 0.4), weights=(0.5, 0.5))
    assert mixture_valley(mix) == pytest.approx(3.0, abs=1e-5)


def test_unimodal_mixture_has_no_valley():
    # Two heavily overlapping components: one hump, so no interior minimum.
    assert mixture_valley(Mixture(means=(2.8, 3.2), stds=(0.5, 0.5), weights=(0.5, 0.5))) is None


def test_nan_values_are_ignored_by_the_fit(bimodal):
    with_nan = np.concatenate([bimodal, [np.nan] * 50])
    a, b = valley_threshold(bimodal, FilterConfig()), valley_threshold(with_nan, FilterConfig())
    assert a.value == pytest.approx(b.value) and b.n == len(bimodal)


def test_too_few_clips_fall_back_to_2_5_and_say_so(caplog):
    th = valley_threshold(np.array([1.2, 1.4, 4.0, 4.2, 4.4]), FilterConfig())
    assert th.value == 2.5 and th.method == "fixed_fallback"
    assert "only 5 clips" in th.reason and "20" in th.reason
    assert "fixed 2.50" in caplog.text


def test_unimodal_sample_falls_back():
    x = np.random.default_rng(1).normal(3.0, 0.5, 500)
    th = valley_threshold(x, FilterConfig())
    assert th.method == "fixed_fallback" and "no valley" in th.reason and th.value == 2.5


def test_repeated_values_fall_back():
    th = valley_threshold(np.full(100, 3.3), FilterConfig())
    assert th.method == "fixed_fallback" and "distinct" in th.reason


def test_tiny_second_component_falls_back():
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.normal(3.5, 0.3, 990), [1.0, 1.02, 1.01, 1.03, 0.99, 1.0, 1.04, 1.01, 1.02, 1.0]])
    th = valley_threshold(x, FilterConfig(min_component_weight=0.05))
    assert th.method == "fixed_fallback" and "holds only" in th.reason


def test_a_plateau_of_equal_scores_is_not_a_population():
    """A calibrated model puts many clips on one value (an isotonic step); a Gaussian on it is a spike, and its
    'valley' would sit just below the plateau. The rule falls back to 2.5 instead and says why."""
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(2.8, 0.3, 40), np.full(18, 4.0), [4.0001]])
    th = valley_threshold(x, FilterConfig())
    assert th.method == "fixed_fallback" and th.value == 2.5 and "pile of equal scores" in th.reason
    assert valley_threshold(x, FilterConfig(min_component_std=0.0)).method == "valley"  # the old rule took the spike


def test_fixed_and_manual_rules():
    x = np.array([1.0, 3.0, np.nan])
    th = choose_threshold(x, FilterConfig(rule="fixed", fixed_threshold=2.7))
    assert (th.value, th.method, th.n) == (2.7, "fixed", 2)
    th = choose_threshold(x, FilterConfig(rule="manual"))
    assert math.isnan(th.value) and th.method == "manual"
    with pytest.raises(ValueError, match="filter.rule"):
        choose_threshold(x, FilterConfig(rule="otsu"))


def test_vtss_decisions_keep_at_the_threshold_and_explain_the_rest():
    kept, reasons = vtss_decisions(np.array([2.5, 2.1, np.nan, 4.0]), 2.43, nan_reasons=["", "", "not scored", ""])
    assert kept.tolist() == [True, False, False, True]
    assert reasons == ["", "vtss 2.10 < 2.43", "vtss NaN (not scored)", ""]
    kept, _ = vtss_decisions(np.array([2.5]), 2.5)
    assert kept.tolist() == [True]  # the release's minimum VTSS is exactly 2.50


def test_manual_rules_come_from_the_config_fields():
    cfg = FilterConfig(manual=ManualThresholdsConfig(motion_score_min=1.0, moving_area_min=None, clarity_score_min=None,
                                                     aesthetic_score_min=None, text_area_max=0.1, border_fraction_max=None,
                                                     frozen_fraction_max=None))
    assert manual_rules(cfg) == [MetricRule("motion_score", "min", 1.0), MetricRule("text_area", "max", 0.1)]


def test_shifted_rule_moves_the_value_by_its_share():
    r = MetricRule("clarity_score", "min", 0.5)
    assert r.shifted(0.1, tighter=True).value == pytest.approx(0.55)
    assert r.shifted(0.1, tighter=False).value == pytest.approx(0.45)
    m = MetricRule("text_area", "max", 0.2)
    assert m.shifted(0.1, tighter=True).value == pytest.approx(0.18)


def test_manual_decisions_skip_or_reject_nan():
    table = pd.DataFrame({"motion_score": [2.0, 0.1, np.nan, 3.0], "text_area": [0.0, 0.0, 0.0, 0.5]})
    rules = [MetricRule("motion_score", "min", 0.5), MetricRule("text_area", "max", 0.05)]
    d = manual_decisions(table, rules)
    assert d.kept.tolist() == [True, False, True, False]
    assert d.reasons == ["", "motion_score 0.1 < 0.5", "", "text_area 0.5 > 0.05"]
    assert d.skipped == ["", "", "motion_score NaN", ""]
    assert d.failed["motion_score >= 0.5"].tolist() == [False, True, False, False]
    r = manual_decisions(table, rules, missing="reject")
    assert r.kept.tolist() == [True, False, False, False] and r.reasons[2] == "motion_score NaN"
    with pytest.raises(ValueError, match="lacks"):
        manual_decisions(table, [MetricRule("noise", "max", 1.0)])
    with pytest.raises(ValueError, match="manual_missing"):
        manual_decisions(table, rules, missing="keep")


def test_threshold_as_dict_is_json_ready(bimodal):
    import json

    d = valley_threshold(bimodal, FilterConfig()).as_dict()
    json.dumps(d)
    assert d["method"] == "valley" and len(d["mixture"]["means"]) == 2
    assert dataclasses.is_dataclass(FilterConfig())
