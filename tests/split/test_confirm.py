"""koala.split.confirm: candidates whose frames agree after a dense-flow warp are motion, not transitions."""

from __future__ import annotations

import cv2
import numpy as np

from koala.split import features as F
from koala.split.confirm import FlowAgreement, confirm_spans, span_agreement


def _grey(frames: np.ndarray) -> np.ndarray:
    """32x32 uint8 grey thumbnails, as the detector keeps them."""
    stream = F.GapStream((1,), keep_grey=True)
    stream.push(F.describe(frames))
    return stream.thumbnails()


def _panning(synth, seed: int, n: int, speed: int) -> np.ndarray:
    """(n, 128, 128, 3) frames of a smooth random scene (blobs about 16 px wide) panning ``speed`` px a frame."""
    rng = np.random.default_rng(seed)
    width = 128 + speed * n
    big = cv2.resize(rng.integers(0, 256, (8, width // 16 + 1, 3)).astype(np.uint8), ((width // 16 + 1) * 16, 128), interpolation=cv2.INTER_CUBIC)
    return np.stack([big[:, i * speed : i * speed + 128] for i in range(n)])


def test_moved_picture_agrees_a_different_one_does_not(synth):
    pan = _grey(_panning(synth, 1, 12, speed=6))  # 6 px a frame at 128 px: a fast pan (a tenth of the frame in 2 frames)
    other = _grey(_panning(synth, 2, 2, speed=1))
    agree = FlowAgreement()
    raw = np.corrcoef(pan[0].ravel().astype(float), pan[2].ravel().astype(float))[0, 1]
    moved = agree(pan[0], pan[2])
    assert moved > 0.95 and raw < 0.5  # the warp explains the motion that plain correlation does not
    assert agree(pan[0], other[0]) < 0.7  # a free dense warp makes any two blob pictures agree a little, never this well


def test_flicker_agrees_but_a_blank_frame_agrees_with_nothing(synth):
    frames = _panning(synth, 3, 2, speed=1)
    brighter = np.clip(frames[1].astype(int) + 40, 0, 255).astype(np.uint8)  # old-film flicker: one picture, new level
    g = _grey(np.stack([frames[0], brighter, np.zeros_like(frames[0])]))
    agree = FlowAgreement()
    assert agree(g[0], g[1]) > 0.95
    assert agree(g[0], g[2]) == -1.0


def test_confirm_drops_motion_and_keeps_real_transitions(synth):
    a = _panning(synth, 4, 40, speed=1)
    b = _panning(synth, 5, 40, speed=1)
    g = _grey(np.concatenate([a, b]))  # a hard cut between frames 39 and 40
    spans = [(9, 10), (20, 30), (39, 40), (35, 45)]  # motion "cut", motion "wipe", the real cut, a span across it
    kept = confirm_spans(spans, g, cut_max=0.9, gradual_max=0.8)
    assert kept == [(39, 40), (35, 45)]
    assert confirm_spans(spans, g, cut_max=2.0, gradual_max=2.0) == spans  # off
    assert confirm_spans(spans, g, cut_max=0.9, gradual_max=2.0) == [(20, 30), (39, 40), (35, 45)]  # only cuts checked


def test_a_fast_pan_is_tracked_step_by_step_where_one_flow_loses_it(synth):
    pan = _grey(_panning(synth, 8, 30, speed=6))  # 6 px a frame: 120 px (most of the frame) over a 20-frame span
    agree = FlowAgreement()
    assert agree(pan[4], pan[10]) < 0.7  # 36 px in one flow: lost
    assert agree.tracked(pan, 4, 10) > 0.9  # the same pair, followed through each step
    assert span_agreement(pan, (5, 9)) == agree.tracked(pan, 4, 10)
    assert np.isnan(agree.tracked(pan, 0, 29))  # the first picture has left the frame: nothing to compare
    other = _grey(np.concatenate([_panning(synth, 9, 15, speed=6), _panning(synth, 10, 15, speed=6)]))
    assert agree.tracked(other, 10, 20) < 0.6  # across a cut, tracking does not make the shots agree


def test_span_agreement_at_the_ends_of_the_video(synth):
    g = _grey(_panning(synth, 6, 10, speed=2))
    assert np.isnan(span_agreement(g, (5, 10)))  # its last frame is past the video: nothing to compare
    assert span_agreement(g, (0, 9)) > 0.5  # a span over the whole video: its end frames, tracked
    assert confirm_spans([(5, 10)], g, cut_max=0.5, gradual_max=0.5) == [(5, 10)]  # unknown: kept


def test_thumbnails_are_the_descriptors_grey_and_only_when_asked(synth):
    frames = _panning(synth, 7, 20, speed=1)
    stream = F.GapStream((1, 3), keep_grey=True)
    for k in range(0, 20, 7):
        stream.push(F.describe(frames[k : k + 7]))
    g = stream.thumbnails()
    assert g.shape == (20, F.THUMB, F.THUMB) and g.dtype == np.uint8
    ref = F.describe(frames).grey.reshape(-1, F.THUMB, F.THUMB)
    assert np.abs(g.astype(float) - ref).max() <= 0.5
    plain = F.GapStream((1,))
    plain.push(F.describe(frames))
    try:
        plain.thumbnails()
    except ValueError:
        pass
    else:
        raise AssertionError("a stream without keep_grey returned thumbnails")
    assert cv2.__version__  # OpenCV's DIS flow is what confirm uses


def test_a_fade_through_black_is_never_explained_as_motion(synth):
    a = _panning(synth, 11, 30, speed=1).astype(np.float32)
    # one picture fades out to black and back in: tracked end to end it agrees with itself
    level = np.r_[np.ones(10), np.linspace(1, 0.02, 5), np.linspace(0.02, 1, 5), np.ones(10)]
    g = _grey(np.clip(a * level[:, None, None, None], 0, 255).astype(np.uint8))
    dim = _grey(np.clip(a * np.r_[np.ones(10), np.full(10, 0.5), np.ones(10)][:, None, None, None], 0, 255).astype(np.uint8))
    assert np.isnan(span_agreement(g, (9, 20)))  # faded out between: cannot be tracked, so never confirmed as motion
    assert confirm_spans([(9, 20)], g, cut_max=2.0, gradual_max=0.75) == [(9, 20)]
    assert span_agreement(dim, (9, 20)) > 0.9  # half the contrast is still a picture to track
