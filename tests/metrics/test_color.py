"""Brightness, contrast, colourfulness and saturation on frames with known values."""

import numpy as np
import pytest

from koala.metrics.color import brightness, colorfulness, contrast, hasler_susstrunk, saturation


def flat(rgb, n=4, h=36, w=64):
    return np.tile(np.array(rgb, np.uint8), (n, h, w, 1))


def test_grey_frames(clip_of):
    clip = clip_of(flat((128, 128, 128)))
    assert brightness(clip, clip.cfg) == pytest.approx(128 / 255, abs=0.01)
    assert contrast(clip, clip.cfg) == pytest.approx(0.0, abs=1e-6)
    assert colorfulness(clip, clip.cfg) == pytest.approx(0.0, abs=1e-6)
    assert saturation(clip, clip.cfg) == pytest.approx(0.0, abs=1e-6)


def test_half_black_half_white_contrast(clip_of):
    frames = flat((0, 0, 0))
    frames[:, :, 32:] = 255
    clip = clip_of(frames)
    assert contrast(clip, clip.cfg) == pytest.approx(0.5, abs=0.01)  # std of a 0/1 split is 0.5
    assert brightness(clip, clip.cfg) == pytest.approx(0.5, abs=0.01)


def test_colourful_beats_grey_and_saturation_of_pure_red(clip_of):
    red = clip_of(flat((255, 0, 0)))
    assert saturation(red, red.cfg) == pytest.approx(1.0, abs=0.01)
    bars = flat((0, 0, 0))
    for k, c in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]):
        bars[:, :, 16 * k : 16 * (k + 1)] = c
    vivid = clip_of(bars)
    washed = clip_of(((bars.astype(np.float32) * 0.2) + 100).astype(np.uint8))
    assert colorfulness(vivid, vivid.cfg) > 3 * colorfulness(washed, washed.cfg) > 0
    # Hasler-Susstrunk's worked formula on a two-colour image
    img = np.zeros((2, 1, 3), np.uint8)
    img[0] = (200, 100, 0)
    rg = np.array([100.0, 0.0])
    yb = np.array([150.0, 0.0])
    assert hasler_susstrunk(img) == pytest.approx(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))
