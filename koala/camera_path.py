"""The camera's path over a clip: robust per-pair fits on the background, accumulated and checked.

Shared by the motion sub-metrics (``camera_motion``, ``camera_shake``) and the measured captions'
camera language, so a clip's numbers and its words come from one estimate.

Per sample pair (:func:`fit_pair`): the DIS flow (:mod:`koala.motion`) is sampled on a grid of
textured points and a similarity (scale, rotation, translation) is fitted to it by RANSAC with a
least-squares refinement on the inliers (``cv2.estimateAffinePartial2D``), so moving subjects are
outliers. Three guards keep a subject from passing for the camera:

* the points that were outliers of the previous pair (where a subject was) weigh less in the
  next fit, and points on the frame's outer ring weigh more: a subject seldom covers the edges;
* the fit must explain the (weighted) frame better than a still camera does, as RANSAC compares
  models, and the frame's outer ring too (where it is textured); a still camera wins ties;
* over time (:mod:`koala.caption.camera`), a move must last and keep its sign.

Slow moves: a 2 %/s zoom moves the frame's edge by a fraction of a pixel between samples, which
no per-pair decision can tell from a still camera. Such a pair keeps its fitted (sub-pixel)
motion instead of being snapped to zero, and the path accumulates: sub-pixel noise cancels over
a second, a steady move adds up.

Shake is measured on the accumulated path alone (:func:`path_shake`): the path minus its local
quadratic trend (Savitzky-Golay over about a second), so a steady pan or zoom leaves nothing and a
subject's motion, which is not in the path, never reads as shake.

Conventions as :mod:`koala.motion` (content moving right = ``tx > 0`` = the camera pans left).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.signal import savgol_filter

from koala.motion import GlobalMotion, texture_weights

STILL = GlobalMotion(0.0, 0.0, 0.0, 0.0, 1.0, 0.0)

GRID = 8  # px between sampled flow vectors at the analysis size
MIN_TEXTURE = 0.25  # texture weight below which a point's flow is not used
RING = 0.15  # the outer ring: this share of the width/height at each edge ...
RING_WEIGHT = 3.0  # ... weighs this much more than the interior
SUBJECT_WEIGHT = 0.2  # weight of points that were outliers of the previous pair (a subject)
RANSAC_PX = 0.75  # RANSAC inlier threshold (px at the analysis size)
TOL_PX = 1.0  # a point moves with a hypothesis within this (or REL_TOL of its displacement)
REL_TOL = 0.3
MARGIN = 0.05  # the still camera wins unless the move explains this much more of the frame
MIN_SUPPORT = 0.3  # below this share explained by either hypothesis, the pair says nothing (a content change)
MIN_INLIERS = 0.4  # a move must also fit this share of the textured frame (else: a wobbling, rolling, unfit pair)


@dataclass(frozen=True)
class PairFit:
    """The camera's motion between two samples and what the fit found."""

    motion: GlobalMotion
    reliable: bool  # some hypothesis explains at least MIN_SUPPORT of the frame
    subpixel: bool  # the fitted motion is under a pixel everywhere: kept as fitted, not decided
    outliers: np.ndarray  # (P,) bool grid points off the chosen motion (a subject)


def _grid_points(h: int, w: int, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[step // 2 : h : step, step // 2 : w : step]
    ys, xs = ys.ravel(), xs.ravel()
    ring = (xs < RING * w) | (xs >= (1 - RING) * w) | (ys < RING * h) | (ys >= (1 - RING) * h)
    pts = np.stack([xs, ys], axis=1).astype(np.float32)
    return ys, xs, pts, ring


def from_affine(m: np.ndarray, h: int, w: int) -> tuple[float, float, float, float]:
    """(tx, ty, zoom, rotation) about the frame centre from a 2x3 similarity about the origin."""
    a = float(m[0, 0]) - 1.0
    b = float(m[1, 0])
    cx, cy = (w - 1) / 2, (h - 1) / 2
    tx = float(m[0, 2]) + a * cx - b * cy
    ty = float(m[1, 2]) + b * cx + a * cy
    return tx, ty, a, b


def field_at(gm: GlobalMotion, pts: np.ndarray, h: int, w: int) -> np.ndarray:
    """(P, 2) displacement the camera motion ``gm`` gives the points ``pts`` (P, 2: x, y)."""
    x = pts[:, 0] - (w - 1) / 2
    y = pts[:, 1] - (h - 1) / 2
    return np.stack([gm.tx + gm.zoom * x - gm.rotation * y, gm.ty + gm.rotation * x + gm.zoom * y], axis=1)


def fit_pair(flow: np.ndarray, gray: np.ndarray, *, prior_outliers: np.ndarray | None = None,
             step: int = GRID, seed: int = 0) -> PairFit:
    """The camera's similarity motion between two frames from their dense flow (h, w, 2).

    Args:
        flow: DIS flow from the first frame to the second (px per sample pair).
        gray: the first frame (h, w) uint8, for the texture weights.
        prior_outliers: (P,) grid points that were off the camera's motion in the previous pair.
        seed: OpenCV's RNG seed for RANSAC (deterministic results).
    """
    h, w = flow.shape[:2]
    ys, xs, pts, ring = _grid_points(h, w, step)
    tex = texture_weights(gray, step)
    weight = tex * np.where(ring, RING_WEIGHT, 1.0)
    if prior_outliers is not None and len(prior_outliers) == len(weight):
        weight = weight * np.where(prior_outliers, SUBJECT_WEIGHT, 1.0)
    use = tex >= MIN_TEXTURE
    none = np.zeros(len(pts), bool)
    if use.sum() < 12 or weight[use].sum() < 1e-6:  # a flat frame: nothing to measure the camera by
        return PairFit(STILL, False, False, none)
    f = flow[ys, xs].astype(np.float64)  # (P, 2)
    src = pts[use]
    dst = (pts + f.astype(np.float32))[use]
    # RANSAC on the (ring-preferred, subject-avoiding) points: repeat the outer ring's points so
    # that they weigh more in the sampling, which estimateAffinePartial2D cannot weight otherwise.
    reps = np.clip(np.round(weight[use] / max(1e-9, np.median(weight[use]))), 1, 4).astype(int)
    cv2.setRNGSeed(seed)
    m, _ = cv2.estimateAffinePartial2D(np.repeat(src, reps, axis=0), np.repeat(dst, reps, axis=0),
                                       method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PX, maxIters=300,
                                       confidence=0.995, refineIters=10)
    if m is None:
        return PairFit(STILL, False, False, none)
    tx, ty, a, b = from_affine(m, h, w)
    g = field_at(GlobalMotion(tx, ty, a, b, 0.0, 0.0), pts.astype(np.float64), h, w)  # (P, 2)
    gmag = np.hypot(g[:, 0], g[:, 1])
    dist_move = np.hypot(*(f - g).T)
    dist_still = np.hypot(f[:, 0], f[:, 1])
    wu = weight * use
    total = wu.sum()
    tol = np.maximum(TOL_PX, REL_TOL * gmag)
    moved = float((wu * (dist_move < tol)).sum() / total)
    still = float((wu * (dist_still < TOL_PX)).sum() / total)
    inl = use & (dist_move < tol)
    rms = float(np.sqrt((tex[inl] * dist_move[inl] ** 2).sum() / max(1e-9, tex[inl].sum()))) if inl.any() else float("nan")
    fitted = GlobalMotion(tx, ty, a, b, float((tex * inl).sum() / max(1e-9, (tex * use).sum())), rms)
    if float(np.percentile(gmag[use], 90)) < TOL_PX:
        # Sub-pixel everywhere: the two hypotheses cannot be told apart on this pair. Keep the fit;
        # the path over many pairs decides (a slow zoom adds up, noise cancels).
        return PairFit(fitted, max(still, moved) >= MIN_SUPPORT, True, use & (dist_move >= tol))
    ring_w = wu * ring
    if ring_w.sum() >= 0.1 * total:
        # a camera move moves the frame's edges too; a subject seldom covers them all
        ring_moved = float((ring_w * (dist_move < tol)).sum() / ring_w.sum())
        ring_still = float((ring_w * (dist_still < TOL_PX)).sum() / ring_w.sum())
        if ring_still >= ring_moved - MARGIN:
            still = max(still, moved)
    if still >= moved - MARGIN:
        return PairFit(STILL, still >= MIN_SUPPORT, False, use & (dist_still >= TOL_PX))
    return PairFit(fitted, moved >= MIN_SUPPORT and fitted.inlier_fraction >= MIN_INLIERS, False, use & (dist_move >= tol))


def fit_path(grays: np.ndarray, flows: list[np.ndarray], *, step: int = GRID) -> list[PairFit]:
    """:func:`fit_pair` over consecutive samples, each fit avoiding the previous pair's subject.

    Args:
        grays: (N, h, w) uint8 samples; flows: N-1 flows (h, w, 2) between consecutive samples.
    """
    out: list[PairFit] = []
    prior = None
    for i, f in enumerate(flows):
        fit = fit_pair(f, grays[i], prior_outliers=prior, step=step, seed=i)
        out.append(fit)
        prior = _dilate(fit.outliers, grays.shape[1:3], step) if fit.reliable else None
    return out


def _dilate(mask: np.ndarray, size: tuple[int, int], step: int) -> np.ndarray:
    h, w = size
    gh, gw = len(range(step // 2, h, step)), len(range(step // 2, w, step))
    m = mask.reshape(gh, gw).astype(np.uint8)
    return cv2.dilate(m, np.ones((3, 3), np.uint8)).astype(bool).ravel()


def trajectory(motions: list[GlobalMotion], *, height: int, width: int) -> np.ndarray:
    """(P + 1, 4) the accumulated camera path: x, y shift, zoom and roll (the last two as px at the mean radius).

    Starts at 0; each pair adds its motion. In px at the analysis size.
    """
    radius = 0.38 * np.hypot(height, width)  # mean distance of a pixel from the centre (GlobalMotion.speed)
    steps = np.array([[m.tx, m.ty, radius * m.zoom, radius * m.rotation] for m in motions], np.float64).reshape(-1, 4)
    return np.vstack([np.zeros((1, 4)), np.cumsum(steps, axis=0)])


def path_shake(path: np.ndarray, window: int) -> float:
    """Typical size (px, RMS-like) of the path's fast part: the path minus its local quadratic trend.

    The trend is a Savitzky-Golay fit over ``window`` samples: a pan, tilt or zoom, steady or
    easing in and out, follows it and leaves nearly nothing; handheld jitter stays. The size is
    robust, sqrt(1.44 x median squared departure) (the RMS for 2-D Gaussian jitter), so one abrupt
    event (a quick zoom's start, a content change) does not read as a shaky clip; jitter lasts.
    Returns 0 for paths shorter than 4 samples (nothing to tell).
    """
    n = len(path)
    if n < 4:
        return 0.0
    win = min(int(window) | 1, n if n % 2 else n - 1)
    if win < 3:
        return 0.0
    trend = savgol_filter(path, win, min(2, win - 1), axis=0, mode="interp")
    return float(np.sqrt(_CHI2_2 * np.median(np.sum((path - trend) ** 2, axis=1))))


_CHI2_2 = 2.0 / (2.0 * np.log(2.0))  # mean / median of a chi-square with 2 degrees of freedom
