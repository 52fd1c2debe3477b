"""The synthetic camera set's labels are exact: measured displacement, scale and jitter match the move."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from koala.corpus.camera_moves import KINDS, CameraMove, camera_set, render, shake_offsets


def scene(h=720, w=1280, seed=0):
    rng = np.random.default_rng(seed)
    img = cv2.resize(rng.random((h // 8, w // 8, 3)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(img * 255, 0, 255).astype(np.uint8)


def shift(a, b):
    (dx, dy), _ = cv2.phaseCorrelate(cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(np.float32),
                                     cv2.cvtColor(b, cv2.COLOR_RGB2GRAY).astype(np.float32))
    return dx, dy


@pytest.mark.parametrize("kind, sign", [("pan_left", (1, 0)), ("pan_right", (-1, 0)), ("tilt_up", (0, 1)), ("tilt_down", (0, -1))])
def test_pans_and_tilts_move_the_scene_the_other_way(kind, sign):
    """The camera pans left: the scene slides right, ``speed`` px per frame."""
    frames = render(scene(), CameraMove(kind, speed=4.0, seconds=0.4, fps=25), width=320, height=180, noise=0)
    dx, dy = shift(frames[0], frames[4])
    assert (dx, dy) == pytest.approx((16 * sign[0], 16 * sign[1]), abs=0.3)


@pytest.mark.parametrize("kind", ["zoom_in", "zoom_out"])
def test_zooms_change_the_scale_by_the_amount(kind):
    frames = render(scene(), CameraMove(kind, amount=0.25, seconds=1.0, fps=10), width=320, height=180, noise=0)
    g0, g1 = (cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in (frames[0], frames[-1]))
    orb = cv2.ORB_create(800)
    k0, d0 = orb.detectAndCompute(g0, None)
    k1, d1 = orb.detectAndCompute(g1, None)
    matches = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(d0, d1)
    src = np.float32([k0[m.queryIdx].pt for m in matches])
    dst = np.float32([k1[m.trainIdx].pt for m in matches])
    m, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC)
    scale = float(np.hypot(m[0, 0], m[1, 0]))
    assert scale == pytest.approx(1.25 if kind == "zoom_in" else 1 / 1.25, rel=0.02)  # things get larger when zooming in


def test_handheld_jitter_has_the_rms_and_no_drift():
    off = shake_offsets(100, 25.0, 5.0, np.random.default_rng(0))
    assert np.sqrt(np.mean(np.sum(off**2, axis=1))) == pytest.approx(5.0)
    assert abs(np.polyfit(np.arange(100), off[:, 0], 1)[0]) < 1e-9
    frames = render(scene(), CameraMove("handheld", amount=5.0, seconds=2.0, fps=25, seed=3), width=320, height=180, noise=0)
    shifts = np.array([shift(frames[0], f) for f in frames])
    assert 2.0 < np.sqrt(np.mean(np.sum((shifts - shifts.mean(0)) ** 2, axis=1))) < 8.0


def test_static_with_a_subject_keeps_the_background_still():
    frames = render(scene(), CameraMove("static", subject=True, subject_size=0.4, seconds=0.4, fps=25),
                    width=320, height=180, patch=scene(seed=1), noise=0)
    assert np.array_equal(frames[0][:20], frames[-1][:20])  # the top rows: background, unmoved
    assert not np.array_equal(frames[0], frames[-1])  # the subject moved


def test_camera_set_covers_every_kind_with_a_subject_case():
    shots = list(camera_set({"a": scene(), "b": scene(seed=2)}, per_kind=1, seconds=0.2, width=160, height=90))
    assert {s.camera for s in shots} == set(KINDS)
    assert sum(s.move.subject for s in shots) == 2
    assert len({s.shot_id for s in shots}) == len(shots)
    with pytest.raises(ValueError):
        CameraMove("dolly")
