"""Controllability numbers on sweep tables with a known answer."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from koala.condition.evaluate import controllability, sweep_levels, sweep_prompts
from koala.config import ConditionConfig


def _windows(n=200, seed=0):
    rng = np.random.default_rng(seed)
    motion = np.where(rng.random(n) < 0.2, 0.0, rng.exponential(10, n))  # a fifth are stills, as with stride 0
    return pd.DataFrame({"clip_id": [f"c{i % 5}" for i in range(n)], "caption": [f"clip {i % 5}" for i in range(n)],
                         "motion_score": motion, "brightness": rng.uniform(0.2, 0.8, n),
                         "clarity_score": rng.uniform(0.3, 0.7, n)})


def _sweep(measured, brightness, prompts=2, seeds=2):
    rows = []
    for p in range(prompts):
        for s in range(seeds):
            for li, (m, b) in enumerate(zip(measured, brightness)):
                rows.append({"variant": "adaln", "prompt": p, "seed": s, "level": li, "asked": float(li + 1),
                             "motion_score": m, "brightness": b})
    return pd.DataFrame(rows)


def test_levels_are_distinct_rising_and_span_the_quantiles():
    w = _windows()
    cfg = ConditionConfig(sweep_levels=6, sweep_quantiles=(0.05, 0.95))
    lv = sweep_levels(w, cfg)
    assert len(lv) == 6 and np.all(np.diff(lv) > 0)
    lo, hi = np.quantile(w["motion_score"], [0.05, 0.95])
    assert lv[0] == pytest.approx(lo) and lv[-1] == pytest.approx(hi)
    assert np.allclose(np.diff(np.log1p(lv)), np.diff(np.log1p(lv))[0])  # even steps in log(1 + motion)


def test_levels_need_a_spread():
    w = _windows().assign(motion_score=0.0)
    with pytest.raises(ValueError, match="no spread"):
        sweep_levels(w, ConditionConfig())


def test_prompts_are_distinct_clips_with_their_median_metrics():
    w = _windows()
    cfg = dataclasses.replace(ConditionConfig(), sweep_prompts=3, metrics=("motion_score", "brightness"))
    prompts = sweep_prompts(w, cfg)
    assert len({p.clip_id for p in prompts}) == 3
    p = prompts[0]
    assert p.values["brightness"] == pytest.approx(w[w.clip_id == p.clip_id]["brightness"].median())
    assert p.caption == f"clip {p.clip_id[1:]}"
    assert [q.clip_id for q in sweep_prompts(w, cfg)] == [q.clip_id for q in prompts]  # seeded


def test_a_perfect_sweep_scores_one_and_no_drift():
    w = _windows()
    t = _sweep(measured=[1, 2, 4, 8, 16], brightness=[0.5] * 5)
    out = controllability(t, w, ("brightness",))
    assert out["spearman"] == pytest.approx(1.0) and out["spearman_pooled"] == pytest.approx(1.0)
    assert out["sweeps"] == 4 and out["drift_brightness"] == 0.0 and out["drift"] == 0.0
    assert out["motion_response"] > 0 and out["drift_per_response"] == 0.0


def test_drift_per_response_charges_side_effects_per_unit_of_effect():
    w = _windows()
    bright = [0.3, 0.4, 0.5, 0.6, 0.7]
    strong = controllability(_sweep(measured=[1, 4, 16, 64, 256], brightness=bright), w, ("brightness",))
    weak = controllability(_sweep(measured=[5, 5.5, 6, 6.5, 7], brightness=bright), w, ("brightness",))
    assert strong["drift"] == pytest.approx(weak["drift"])  # the same side effect ...
    assert strong["motion_response"] > 5 * weak["motion_response"]  # ... for far more effect
    assert strong["drift_per_response"] < weak["drift_per_response"]
    ref = np.log1p(w["motion_score"]).std()
    assert strong["motion_response"] == pytest.approx(np.std(np.log1p([1, 4, 16, 64, 256]), ddof=1) / ref)


def test_an_ignored_condition_scores_low_and_drift_is_in_units_of_the_training_spread():
    w = _windows()
    bright = [0.2, 0.8, 0.2, 0.8, 0.2]
    t = _sweep(measured=[5, 1, 4, 2, 3], brightness=bright)
    out = controllability(t, w, ("brightness",))
    assert out["spearman"] < 0
    assert out["drift_brightness"] == pytest.approx(np.std(bright, ddof=1) / w["brightness"].std())


def test_a_constant_output_has_no_spearman():
    out = controllability(_sweep(measured=[3] * 5, brightness=[0.5] * 5), _windows(), ("brightness",))
    assert np.isnan(out["spearman"]) and out["sweeps_without_spearman"] == 4
