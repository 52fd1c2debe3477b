"""Clarity: a blurred copy scores lower; flat regions and shallow depth of field do not make a frame unclear."""

import cv2
import numpy as np
import pytest
from skimage.measure import blur_effect as skimage_blur_effect

from koala.metrics.sharpness import blur_effect, clarity, clarity_score

from .conftest import pan, texture


def gray(h=360, w=640, seed=2, grain=2):
    return cv2.cvtColor(texture(h, w, seed, grain=grain), cv2.COLOR_RGB2GRAY)


def test_opencv_crete_matches_scikit_image():
    g = gray()
    for img in (g, cv2.GaussianBlur(g, (0, 0), 2.0)):
        for h_size in (5, 11):
            assert blur_effect(img, h_size) == pytest.approx(skimage_blur_effect(img, h_size=h_size), abs=1e-4)


def test_blurred_copy_scores_lower_clarity(clip_of):
    frames = pan(6, 360, 640, dx=1.0, seed=2)
    blurred = np.stack([cv2.GaussianBlur(f, (0, 0), 2.0) for f in frames])
    more = np.stack([cv2.GaussianBlur(f, (0, 0), 4.0) for f in frames])
    sharp, soft, softer = (clarity_score(c, c.cfg) for c in map(clip_of, (frames, blurred, more)))
    assert 0.0 <= softer < soft < sharp <= 1.0
    assert sharp - soft > 0.05


def test_upscaled_copy_is_less_clear_than_native():
    """A frame upscaled from a quarter of its size (a low-resolution source) scores lower."""
    g = gray(grain=1)
    up = cv2.resize(cv2.resize(g, (320, 180), interpolation=cv2.INTER_AREA), (640, 360), interpolation=cv2.INTER_CUBIC)
    assert clarity(up) < clarity(g) - 0.05


def test_flat_sky_and_shallow_focus_do_not_lower_clarity():
    g = gray()
    sky = g.copy()
    sky[:180] = 200  # top half flat
    focus = cv2.GaussianBlur(g, (0, 0), 4.0)
    focus[120:240, 200:440] = g[120:240, 200:440]  # sharp subject, blurred background
    blurred = cv2.GaussianBlur(g, (0, 0), 4.0)
    assert clarity(sky) == pytest.approx(clarity(g), abs=0.05)
    assert clarity(focus) > clarity(blurred) + 0.15
    # contrast does not make a frame sharper, and a flat frame holds no detail
    low = (g.astype(np.float32) * 0.3 + 90).astype(np.uint8)
    assert clarity(low) == pytest.approx(clarity(g), abs=0.05)
    assert clarity(np.full((90, 160), 77, np.uint8)) == 0.0
