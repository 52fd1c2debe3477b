"""Motion metrics on frames with known motion: a still scene, a steady pan, a shaking camera."""

from __future__ import annotations

import numpy as np
import pytest

from koala.metrics.movement import camera_motion, camera_shake, motion_score, moving_area
from koala.metrics.registry import Unavailable

from .conftest import pan


def expected_units(px_per_frame_at_decode: float, clip) -> float:
    """Motion-score units for a displacement in px per frame at the decode size."""
    cfg = clip.cfg
    short = min(clip.frames.shape[1:3])
    return px_per_frame_at_decode * cfg.reference_short_side / short * cfg.reference_frames / cfg.reference_fps * clip.fps


def test_static_clip_has_no_motion(clip_of):
    clip = clip_of(pan(12, 180, 320))
    assert motion_score(clip, clip.cfg) < 0.2
    assert moving_area(clip, clip.cfg) < 0.01
    assert camera_motion(clip, clip.cfg) < 0.2
    assert camera_shake(clip, clip.cfg) < 0.2


@pytest.mark.parametrize("dx, dy", [(3.0, 0.0), (-2.0, 1.0), (0.0, -4.0)])
def test_shifted_copy_gives_the_shift_as_camera_motion(clip_of, dx, dy):
    clip = clip_of(pan(12, 180, 320, dx=dx, dy=dy))
    want = expected_units(float(np.hypot(dx, dy)), clip)
    assert camera_motion(clip, clip.cfg) == pytest.approx(want, rel=0.08)
    assert motion_score(clip, clip.cfg) == pytest.approx(want, rel=0.08)
    assert moving_area(clip, clip.cfg) > 0.95  # the whole frame moves: above the 30 % rule
    assert camera_shake(clip, clip.cfg) < 0.1 * want  # a steady pan is not shake
    # the fit's direction: content moving right is tx > 0
    gm = clip.motions[0]
    assert np.sign(round(gm.tx, 1)) == np.sign(dx) and np.sign(round(gm.ty, 1)) == np.sign(dy)


def test_motion_is_resolution_independent(clip_of):
    """The same content motion at 180p and at 360p decode size gives the same score."""
    lo = clip_of(pan(10, 180, 320, dx=2.0))
    hi = clip_of(pan(10, 360, 640, dx=4.0))
    assert motion_score(hi, hi.cfg) == pytest.approx(motion_score(lo, lo.cfg), rel=0.1)


def test_sample_gaps_and_fps_are_accounted_for(clip_of):
    """Samples 3 frames apart: flow per sample pair is divided by the gap; the rate scales the speed."""
    frames = pan(30, 180, 320, dx=1.0)[::3]
    third = clip_of(frames, index=np.arange(0, 30, 3))
    assert motion_score(third, third.cfg) == pytest.approx(expected_units(1.0, third), rel=0.08)
    fast = clip_of(frames, index=np.arange(0, 30, 3), fps=60.0)  # the same per-frame motion at twice the rate
    assert motion_score(fast, fast.cfg) == pytest.approx(2 * motion_score(third, third.cfg), rel=0.02)


def test_local_motion_moves_part_of_the_frame(clip_of):
    """A textured square moving over a still background: moving area near the square's share."""
    frames = pan(10, 180, 320)
    patch = pan(10, 60, 80, dx=4.0, seed=3)
    frames[:, 60:120, 120:200] = patch
    clip = clip_of(frames)
    area = moving_area(clip, clip.cfg)
    assert 0.04 < area < 0.15  # the square is 8 % of the frame
    assert camera_motion(clip, clip.cfg) < 0.25 * motion_score(clip, clip.cfg) + 0.5


def test_shaky_camera_scores_higher_shake_than_a_steady_pan(clip_of):
    rng = np.random.default_rng(1)
    jitter = rng.normal(0, 3.0, size=(16, 2))
    steady = clip_of(pan(16, 180, 320, dx=2.0))
    shaky = clip_of(pan(16, 180, 320, dx=2.0, jitter=jitter))
    assert camera_shake(shaky, shaky.cfg) > 5 * camera_shake(steady, steady.cfg) + 1.0


def test_a_still_camera_with_a_big_moving_subject_has_no_camera_motion_or_shake(clip_of):
    """A textured patch covering a third of the frame moves erratically in front of a still camera."""
    rng = np.random.default_rng(2)
    frames = pan(16, 180, 320)
    patch = pan(16, 110, 160, dx=5.0, seed=4, jitter=rng.normal(0, 4.0, size=(16, 2)))
    frames[:, 30:140, 60:220] = patch
    clip = clip_of(frames)
    assert camera_motion(clip, clip.cfg) < 0.5
    assert camera_shake(clip, clip.cfg) < 0.3


def test_one_frame_is_unavailable_not_zero(clip_of):
    clip = clip_of(pan(1, 90, 160))
    for fn in (motion_score, moving_area, camera_motion, camera_shake):
        with pytest.raises(Unavailable):
            fn(clip, clip.cfg)


def test_fast_pan_beyond_dis_range_is_still_measured(clip_of):
    """14 px per frame sampled 4 frames apart = 56 px per pair at 180p: DIS alone loses it."""
    frames = pan(17, 180, 320, dx=14.0, seed=5)[::4]
    clip = clip_of(frames, index=np.arange(0, 17, 4))
    assert camera_motion(clip, clip.cfg) == pytest.approx(expected_units(14.0, clip), rel=0.08)
    assert camera_shake(clip, clip.cfg) < 0.1 * expected_units(14.0, clip)
    plain = clip_of(frames, index=np.arange(0, 17, 4), flow_retry_error=1e9)  # retry off: the failure it fixes
    assert camera_motion(plain, plain.cfg) < 0.8 * expected_units(14.0, clip)
