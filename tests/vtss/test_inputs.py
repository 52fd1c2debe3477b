"""koala/vtss/inputs.py: a model without a branch gets none of that branch's frames decoded."""

from __future__ import annotations

import numpy as np
import pytest

from koala.config import ScoreConfig
from koala.vtss.inputs import inputs_from, plan_inputs
from tests.vtss.test_tsa import TINY


def _frames(n=40, h=72, w=96, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, size=(h, w, 3), dtype=np.uint8)
    return np.stack([np.roll(base, k, axis=1) for k in range(n)])


def test_label_only_plan_needs_only_the_metric_frames_and_gives_the_same_metrics():
    frames = _frames()
    cfg = ScoreConfig()
    full = plan_inputs(len(frames), *frames.shape[1:3], 25.0, TINY, cfg, np.random.default_rng(1))
    lab = plan_inputs(len(frames), *frames.shape[1:3], 25.0, TINY, cfg, np.random.default_rng(1), branches=("label",))
    assert np.array_equal(lab.needed, np.unique(full.metric_idx))
    assert len(lab.needed) < len(full.needed)
    a = inputs_from(frames[full.needed], full, 25.0, TINY, cfg)
    b = inputs_from(frames[lab.needed], lab, 25.0, TINY, cfg)
    np.testing.assert_array_equal(a.metrics, b.metrics)  # same frames, same sub-metrics
    assert b.fragments.shape[1] == 0 and len(b.frames) == 0  # placeholders a label-only model never reads


def test_video_only_plan_skips_the_sub_metrics():
    frames = _frames()
    plan = plan_inputs(len(frames), *frames.shape[1:3], 25.0, TINY, ScoreConfig(), np.random.default_rng(1),
                       branches=("dynamic", "static"))
    out = inputs_from(frames[plan.needed], plan, 25.0, TINY, ScoreConfig())
    assert np.isnan(out.metrics).all() and out.fragments.shape[1] == TINY.clip_len and len(out.frames) == TINY.static_frames


def test_unknown_branch_is_refused():
    with pytest.raises(ValueError, match="branches"):
        plan_inputs(10, 72, 96, 25.0, TINY, ScoreConfig(), np.random.default_rng(0), branches=("audio",))
