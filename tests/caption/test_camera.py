"""Camera phases from per-pair rates (koala.caption.camera): a jump is not a move."""

from __future__ import annotations

import numpy as np

from koala.caption import camera
from koala.config import MeasuredCaptionConfig

CFG = MeasuredCaptionConfig()


def _rates(pan: list[float]) -> np.ndarray:
    out = np.zeros((len(pan), 3))
    out[:, 0] = pan
    return out


def test_a_steady_pan_is_a_pan():
    pan = [0.0] * 10 + [0.1] * 10 + [0.0] * 10  # frame widths per second, 2.5 pairs per second
    times = np.arange(len(pan) + 1) / 2.5
    labels = [p.label for p in camera.phases(_rates(pan), times, CFG)]
    assert "pan_right" in labels


def test_one_pair_that_jumps_is_not_a_pan():
    """A splice or a frame slipping in the gate of old film: most of the shift in one sample pair (calais_1906)."""
    pan = [0.0] * 10 + [-0.03, -0.225, -0.03] + [0.0] * 10
    times = np.arange(len(pan) + 1) / 3.0
    assert [p.label for p in camera.phases(_rates(pan), times, CFG)] == ["static"]
    assert camera.jump_share(np.array([-0.03, -0.225, -0.03]), -1.0) > camera.MAX_JUMP_SHARE
    assert camera.jump_share(np.array([0.1, 0.1, 0.1, 0.1]), 1.0) == 0.25


def test_a_fast_move_that_defeats_the_flow_is_not_a_jump():
    """J3JqVnOGfYA_3's 0.7 s zoom (its measured rates, 7.5 pairs/s): five pairs say nothing (NaN), two carry it."""
    rates = np.zeros((41, 3))
    rates[6] = np.nan
    rates[7] = (0.003, 0.001, -0.015)
    rates[12] = (-0.023, -0.016, 0.043)
    rates[13:18] = np.nan
    rates[18] = (-0.357, -0.296, 0.799)
    rates[19] = (-0.152, -0.12, 0.309)
    rates[20] = (-0.002, -0.005, 0.007)
    times = np.arange(42) / 7.5
    assert [p.label for p in camera.phases(rates, times, CFG)] == ["static", "zoom_in", "static"]
