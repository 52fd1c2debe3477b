"""The label branch's temporal features: an edit inside a clip and uneven change (stalls) are measured, steady footage is not."""

from __future__ import annotations

import math

import numpy as np

from koala.metrics.registry import METRIC_NAMES
from koala.vtss.features import FEATURE_NAMES, TEMPORAL_NAMES, change_unevenness, cut_change, temporal_features


def pan(n=12, h=72, w=96, step=3, seed=0):
    """A textured picture moving steadily to the right: (n, h, w, 3) uint8."""
    rng = np.random.default_rng(seed)
    base = (rng.random((h, w + step * n, 3)) * 255).astype(np.uint8)
    base = np.repeat(np.repeat(base[::4, ::4], 4, 0), 4, 1)[:h]  # blocks: texture that survives resizing
    return np.stack([base[:, i * step:i * step + w] for i in range(n)])


def grey(frames):
    return frames.mean(axis=3).astype(np.uint8)


def test_a_cut_is_a_large_histogram_change_and_a_pan_is_not():
    steady = pan()
    other = (pan(seed=1) * np.array([1.0, 0.3, 0.3])).astype(np.uint8)  # another picture, darker and red
    cut = np.concatenate([steady[:6], other[6:]])
    assert cut_change(steady) < 0.2 < 0.5 < cut_change(cut)


def test_stalls_make_change_uneven_and_steady_motion_does_not():
    steady = pan()
    stalled = steady[[0, 0, 0, 3, 3, 3, 6, 6, 6, 9, 9, 9]]  # the same length, fresh frames only every third
    assert change_unevenness(grey(steady)) < 0.5 < 1.0 < change_unevenness(grey(stalled))
    still = np.repeat(steady[:1], 12, axis=0)
    assert change_unevenness(grey(still)) == 0.0  # no change at all is not uneven


def test_too_few_frames_give_nan_with_a_reason():
    one = pan(n=2)
    values, reasons = temporal_features(one, grey(one))
    assert np.isfinite(values[0]) and math.isnan(values[1]) and list(reasons) == ["change_unevenness"]
    values, reasons = temporal_features(one[:1], grey(one[:1]))
    assert np.isnan(values).all() and set(reasons) == set(TEMPORAL_NAMES) and "1 sampled frame" in reasons["cut_change"]


def test_feature_names_extend_the_sub_metrics_in_order():
    assert FEATURE_NAMES[:len(METRIC_NAMES)] == METRIC_NAMES and FEATURE_NAMES[len(METRIC_NAMES):] == TEMPORAL_NAMES
