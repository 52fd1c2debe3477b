"""The shared flow + global-motion fit on frames with a known camera motion."""

from __future__ import annotations

import pickle

import cv2
import numpy as np
import pytest

from koala.motion import (
    FlowEstimator,
    analysis_shape,
    fit_global,
    global_field,
    residual_flow,
    robust_flow,
    warp_error,
    to_gray,
)


def texture(h: int = 180, w: int = 320, seed: int = 0) -> np.ndarray:
    """Smooth random texture, enough detail everywhere for optical flow."""
    rng = np.random.default_rng(seed)
    noise = rng.random((h // 4, w // 4)).astype(np.float32)
    img = cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(img * 255, 0, 255).astype(np.uint8)


def warp(img: np.ndarray, *, tx=0.0, ty=0.0, scale=1.0, angle_deg=0.0) -> np.ndarray:
    """Move the content: translate by (tx, ty), scale and rotate (clockwise on screen) about the centre."""
    h, w = img.shape
    m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), -angle_deg, scale)
    m[:, 2] += (tx, ty)
    return cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT)


def fit(a: np.ndarray, b: np.ndarray):
    flow = FlowEstimator("medium")(a, b)
    return fit_global(flow, a), flow


def test_analysis_shape_keeps_aspect_and_is_even():
    assert analysis_shape(720, 1280) == (180, 320)
    assert analysis_shape(2160, 3840) == (180, 320)
    assert analysis_shape(1280, 720) == (320, 180)
    h, w = analysis_shape(481, 641)
    assert h % 2 == 0 and w % 2 == 0 and abs(w / h - 641 / 481) < 0.02
    with pytest.raises(ValueError):
        analysis_shape(0, 10)


def test_to_gray_shapes():
    rgb = np.zeros((3, 8, 10, 3), np.uint8)
    rgb[..., 1] = 200
    gray = to_gray(rgb)
    assert gray.shape == (3, 8, 10) and gray.dtype == np.uint8
    assert abs(int(gray[0, 0, 0]) - round(0.587 * 200)) <= 1
    assert to_gray(rgb[0]).shape == (8, 10)
    with pytest.raises(ValueError):
        to_gray(np.zeros((2, 2)))


def test_static_frames_have_no_camera_motion():
    a = texture()
    gm, _ = fit(a, a.copy())
    assert gm.translation < 0.05 and abs(gm.zoom) < 1e-3 and abs(gm.rotation) < 1e-3
    assert gm.inlier_fraction > 0.95


@pytest.mark.parametrize("tx,ty", [(3.0, 0.0), (-4.0, 0.0), (0.0, 2.5), (2.0, -3.0)])
def test_translation_is_recovered_with_its_sign(tx, ty):
    a = texture()
    gm, _ = fit(a, warp(a, tx=tx, ty=ty))
    assert gm.tx == pytest.approx(tx, abs=0.25)
    assert gm.ty == pytest.approx(ty, abs=0.25)
    assert abs(gm.zoom) < 3e-3


@pytest.mark.parametrize("scale", [1.03, 0.97])
def test_zoom_sign_follows_content_size(scale):
    a = texture()
    gm, _ = fit(a, warp(a, scale=scale))
    assert gm.zoom == pytest.approx(scale - 1, abs=0.006)
    assert gm.translation < 0.3


def test_rotation_clockwise_is_positive():
    a = texture()
    gm, _ = fit(a, warp(a, angle_deg=1.5))
    assert gm.rotation == pytest.approx(np.deg2rad(1.5), abs=0.004)


def test_moving_subject_is_an_outlier_not_the_camera():
    a = texture(seed=1)
    b = a.copy()
    patch = texture(40, 60, seed=2)
    a[70:110, 100:160] = patch
    b[70:110, 108:168] = patch  # a subject walks 8 px right over a still background
    gm, flow = fit(a, b)
    assert gm.translation < 0.3
    assert 0.8 < gm.inlier_fraction < 1.0
    local = np.hypot(*residual_flow(flow, gm)[80:100, 115:155].reshape(-1, 2).T)
    assert np.median(local) > 4


def test_global_field_reproduces_the_fit():
    a = texture()
    gm, flow = fit(a, warp(a, tx=2.0, scale=1.02))
    model = global_field(gm, *flow.shape[:2])
    err = np.hypot(*(flow - model)[20:-20, 20:-20].reshape(-1, 2).T)
    assert np.median(err) < 0.3


def test_flat_frame_reports_nothing_measured():
    flat = np.full((90, 160), 128, np.uint8)
    gm = fit_global(FlowEstimator()(flat, flat), flat)
    assert gm.translation == 0 and gm.inlier_fraction == 0


def test_estimator_pickles_and_checks_shapes():
    est = pickle.loads(pickle.dumps(FlowEstimator("ultrafast")))
    a = texture()
    assert est(a, a).shape == (180, 320, 2)
    with pytest.raises(ValueError):
        est(a, a[:-2])
    with pytest.raises(ValueError):
        FlowEstimator("slowest")


def test_robust_flow_tracks_a_shift_beyond_the_dis_pyramid():
    """A 60 px pan between samples: plain DIS loses it, the phase-correlation retry finds it."""
    a = texture(seed=8)
    b = warp(a, tx=60.0)
    flow = robust_flow(FlowEstimator("fast"), a, b)
    gm = fit_global(flow, a)
    assert gm.tx == pytest.approx(60.0, abs=2.0)
    plain = FlowEstimator("fast")(a, b)
    assert warp_error(a, b, flow) < warp_error(a, b, plain)
