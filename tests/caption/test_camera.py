"""Camera phases from per-pair rates (koala.caption.camera): a jump is not a move."""

from __future__ import annotations

import numpy as np
import pytest

from koala.caption import camera
from koala.camera_path import STILL, PairFit
from koala.config import MeasuredCaptionConfig
from koala.motion import GlobalMotion

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


def test_a_brief_slow_shift_after_a_splice_is_not_a_pan():
    """calais_1906_0039's measured pan rates (7.5 pairs/s): the film settles for 0.5 s after a splice, then stays."""
    pan = [0.138, 0.131, 0.271, 0.067, 0.0, 0.015, -0.013, 0.005, 0.004, 0.017, -0.013, 0.006, 0.018, 0.009, 0.0,
           -0.009, -0.001, -0.018, -0.084, -0.079]
    times = np.arange(len(pan) + 1) / 7.5
    assert [p.label for p in camera.phases(_rates(pan), times, CFG)] == ["static"]


def test_a_brief_quick_move_and_a_brief_clip_that_moves_throughout_are_named():
    """The splice-slip rule drops only brief moves that shift the picture little."""
    rng = np.random.default_rng(1)
    start = np.r_[[0.45] * 4, [0.0] * 16] + rng.normal(0, 0.004, 20)  # a quick 0.5 s pan opening the clip (7.5 pairs/s)
    times = np.arange(len(start) + 1) / 7.5
    labels = camera.phases(_rates(list(start)), times, CFG)
    assert labels[0].label == "pan_right" and labels[0].seconds < CFG.move_min_sec
    assert camera.phases(_rates(list(start / 3)), times, CFG)[0].label == "static"  # a third of the shift: a slip
    short = [0.1] * 6  # a 0.6 s clip that pans slowly from its first pair to its last
    times = np.arange(len(short) + 1) / 10.0
    assert [p.label for p in camera.phases(_rates(short), times, CFG)] == ["pan_right"]


def test_a_shaky_paths_slow_drift_is_handheld_and_a_fast_move_stays():
    drift = [camera.Phase("tilt_up", 0.0, 1.1, 0.048)]  # realshort_0000: 0.048 frame heights/s, shake 0.0079
    assert camera.settle(drift, 0.0079, CFG) == [camera.Phase("static", 0.0, 1.1, 0.0)]
    assert camera.shot_label(camera.settle(drift, 0.0079, CFG), 0.0079, CFG) == "handheld"
    assert camera.settle(drift, 0.002, CFG) == drift  # a steady path: the slow tilt is a tilt
    pan = [camera.Phase("static", 0.0, 1.0, 0.0), camera.Phase("pan_left", 1.0, 3.0, 0.2)]
    assert camera.settle(pan, 0.01, CFG) == pan  # a fast pan on a shaky path is a handheld pan
    joined = camera.settle([camera.Phase("static", 0.0, 1.0, 0.0), camera.Phase("zoom_in", 1.0, 2.0, 0.02),
                            camera.Phase("static", 2.0, 3.0, 0.0)], 0.01, CFG)
    assert joined == [camera.Phase("static", 0.0, 3.0, 0.0)]


def _fit(tx: float, ty: float, reliable: bool) -> PairFit:
    return PairFit(GlobalMotion(tx, ty, 0.0, 0.0, 0.3, 1.0), reliable, False, np.zeros(4, bool))


def test_unfit_shake_reads_the_best_fits_of_pairs_that_say_nothing():
    rng = np.random.default_rng(0)
    thrown = [_fit(*rng.normal(0, 10, 2), reliable=False) for _ in range(40)]  # a hand-held camera sampled 0.3 s apart
    assert camera.shake(thrown, height=180, width=320, window=5) == 0.0  # reliable pairs only: nothing
    assert camera.unfit_shake(thrown, height=180, width=320, window=5) > 2 * CFG.shake_unfit_min
    busy = [PairFit(STILL, False, False, np.zeros(4, bool)) for _ in range(40)]  # a still camera, a busy scene
    assert camera.unfit_shake(busy, height=180, width=320, window=5) == 0.0


def test_a_lone_jump_is_not_shake():
    """J3JqVnOGfYA_3's synthetic still shot with a large repeating subject: two pairs lock onto it (-125 px)."""
    rng = np.random.default_rng(2)
    fits = [_fit(*rng.normal(0, 0.1, 2), reliable=True) for _ in range(37)]
    fits[16] = fits[33] = _fit(-125.0, -3.7, reliable=True)
    assert camera.shake(fits, height=180, width=320, window=5) < 0.1 * CFG.shake_min
    hand = [_fit(*rng.normal(0, 3, 2), reliable=True) for _ in range(37)]  # a hand: every pair moves a few px
    assert camera.lone_jumps_out([f.motion for f in hand], height=180, width=320) == [f.motion for f in hand]
    assert camera.shake(hand, height=180, width=320, window=5) > CFG.shake_min


def test_verdict_calls_a_far_sampled_unfit_camera_handheld_and_a_close_sampled_one_nothing():
    rng = np.random.default_rng(3)
    thrown = [_fit(*rng.normal(0, 10, 2), reliable=False) for _ in range(40)]
    phs, jit = camera.verdict([], thrown, 0.0, fps=3.3, height=180, width=320, cfg=CFG)  # cockatoo: 0.3 s apart
    assert camera.shot_label(phs, jit, CFG) == "handheld" and phs[0].end_sec == pytest.approx(40 / 3.3)
    # 12.5 samples/s: a subject filling the frame (a singer) defeats the fit, not the hand
    assert camera.verdict([], thrown, 0.0, fps=12.5, height=180, width=320, cfg=CFG) == ([], 0.0)
    calm = [_fit(*rng.normal(0, 0.3, 2), reliable=False) for _ in range(40)]  # a busy scene, a still camera
    assert camera.verdict([], calm, 0.0, fps=3.3, height=180, width=320, cfg=CFG)[0] == []
    drift = [camera.Phase("tilt_up", 0.0, 1.1, 0.048)]
    sure = [_fit(0.0, 1.0, reliable=True)] * 11
    assert camera.verdict(drift, sure, 0.0079, fps=10.0, height=180, width=240, cfg=CFG) == (
        [camera.Phase("static", 0.0, 1.1, 0.0)], 0.0079)
