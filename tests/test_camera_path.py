"""The camera's robust per-pair fit and its accumulated path, on frames with a known camera motion."""

from __future__ import annotations

import numpy as np
import pytest

from koala.camera_path import STILL, fit_pair, fit_path, from_affine, path_shake, trajectory
from koala.motion import FlowEstimator, GlobalMotion

from .test_motion import texture, warp


def flow(a, b):
    return FlowEstimator("medium")(a, b)


def test_from_affine_is_about_the_centre():
    h, w = 180, 320
    # a 2 % zoom about the centre: zero translation at the centre
    cx, cy = (w - 1) / 2, (h - 1) / 2
    m = np.array([[1.02, 0, -0.02 * cx], [0, 1.02, -0.02 * cy]])
    tx, ty, a, b = from_affine(m, h, w)
    assert (tx, ty, b) == pytest.approx((0, 0, 0), abs=1e-9) and a == pytest.approx(0.02)


def test_a_big_subject_on_a_still_camera_is_not_camera_motion():
    """A subject covering ~40 % of a still shot must not become a camera move."""
    a = texture(seed=3)
    b = a.copy()
    patch = texture(120, 150, seed=4)
    a[30:150, 80:230] = patch
    b[30:150, 86:236] = patch
    fit = fit_pair(flow(a, b), a)
    assert fit.reliable and fit.motion.translation < 0.2 and abs(fit.motion.zoom) < 1e-3
    assert fit.outliers.any()  # the subject is off the camera's motion


def test_a_real_pan_is_kept_with_its_sign():
    a = texture(seed=5)
    fit = fit_pair(flow(a, warp(a, tx=-3.0, ty=1.5)), a)
    assert fit.reliable and not fit.subpixel
    assert fit.motion.tx == pytest.approx(-3.0, abs=0.25) and fit.motion.ty == pytest.approx(1.5, abs=0.25)


def test_a_slow_zoom_is_kept_below_a_pixel():
    """0.4 % per pair moves the edge by < 1 px: the fit is kept (not snapped to a still camera)."""
    a = texture(seed=9)
    fit = fit_pair(flow(a, warp(a, scale=1.004)), a)
    assert fit.subpixel and fit.motion.zoom == pytest.approx(0.004, abs=0.0015)
    still = fit_pair(flow(a, a.copy()), a)
    assert abs(still.motion.zoom) < 3e-4 and still.motion.translation < 0.05


def test_unrelated_frames_say_nothing_and_flat_frames_nothing():
    a, b = texture(seed=6), texture(seed=7)
    assert not fit_pair(flow(a, b), a).reliable
    flat = np.full((90, 160), 128, np.uint8)
    assert not fit_pair(flow(flat, flat), flat).reliable


def test_the_subject_of_one_pair_weighs_less_in_the_next():
    a = texture(seed=3)
    frames = [a.copy() for _ in range(3)]
    patch = texture(120, 150, seed=4)
    for k, f in enumerate(frames):
        f[30:150, 60 + 6 * k : 210 + 6 * k] = patch
    grays = np.stack(frames)
    fits = fit_path(grays, [flow(grays[0], grays[1]), flow(grays[1], grays[2])])
    assert all(f.motion.translation < 0.2 for f in fits)


def test_path_accumulates_and_shake_is_the_path_minus_its_trend():
    pan = [GlobalMotion(2.0, 0.0, 0.0, 0.0, 1.0, 0.0)] * 30
    path = trajectory(pan, height=180, width=320)
    assert path[-1, 0] == pytest.approx(60.0) and path.shape == (31, 4)
    assert path_shake(path, 9) < 1e-9  # a steady pan is not shake
    rng = np.random.default_rng(0)
    jitter = [GlobalMotion(*rng.normal(0, 2.0, 2), 0.0, 0.0, 1.0, 0.0) for _ in range(30)]
    assert path_shake(trajectory(jitter, height=180, width=320), 9) > 1.0
    still = trajectory([STILL] * 30, height=180, width=320)
    assert path_shake(still, 9) == 0.0
    assert path_shake(still[:3], 9) == 0.0  # too short to tell
