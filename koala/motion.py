"""Dense optical flow at one analysis size, and the camera's global motion fitted to it.

Shared by the motion sub-metrics (issue 4) and the measured captions' camera language (issue 5)
through :mod:`koala.camera_path` (the camera's robust per-pair fit and its path over the clip), so
a clip's "pans left" and its ``camera_motion`` number come from the same estimate.

Conventions (image coordinates: x to the right, y down; flow is in pixels per frame step at the
analysis size):

* ``tx > 0``: the content moves right across the frame, i.e. the camera pans **left**.
* ``ty > 0``: the content moves down, i.e. the camera tilts **up**.
* ``zoom > 0``: the content grows (relative scale change per step), i.e. the camera zooms **in**.
* ``rotation > 0``: the content turns clockwise on screen (radians per step; y points down).

Flow comes from OpenCV's DIS; the similarity fit is a small weighted least-squares problem that
no library offers in this form (``cv2.estimateAffinePartial2D`` wants point pairs and RANSAC, which
is slower and noisier on a dense field), so it is written here.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

ANALYSIS_SHORT_SIDE = 180  # px; every clip is analysed at this short side, whatever its resolution

_PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


def analysis_shape(height: int, width: int, short_side: int = ANALYSIS_SHORT_SIDE) -> tuple[int, int]:
    """(h, w) with the given short side, the aspect kept, both even (what the codecs and DIS like)."""
    if height <= 0 or width <= 0:
        raise ValueError(f"frame size must be positive, got {width}x{height}")
    scale = short_side / min(height, width)
    h = max(2, int(round(height * scale / 2)) * 2)
    w = max(2, int(round(width * scale / 2)) * 2)
    return h, w


def to_gray(frames: np.ndarray) -> np.ndarray:
    """RGB uint8 frames (N, H, W, 3) or one frame (H, W, 3) to luma uint8 (BT.601 weights)."""
    frames = np.asarray(frames)
    if frames.ndim == 3:
        return cv2.cvtColor(frames, cv2.COLOR_RGB2GRAY)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"expected RGB frames shaped (N, H, W, 3), got {frames.shape}")
    return np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames])


class FlowEstimator:
    """DIS optical flow between two gray frames of the same size.

    The OpenCV object is built lazily, so an estimator can be created in one process and used in
    another (it is not picklable itself).
    """

    def __init__(self, preset: str = "fast"):
        if preset not in _PRESETS:
            raise ValueError(f"unknown DIS preset {preset!r}; choose one of {sorted(_PRESETS)}")
        self.preset = preset
        self._dis = None

    def __getstate__(self):
        return {"preset": self.preset, "_dis": None}

    # DIS fails below this side (OpenCV 5.0: an assertion at 16x1024, a segmentation fault at 8x64):
    # smaller frames are padded (edge pixels repeated) up to it and the flow is cropped back.
    MIN_SIDE = 32

    def __call__(self, prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
        if prev.shape != nxt.shape or prev.ndim != 2:
            raise ValueError(f"flow needs two gray frames of one size, got {prev.shape} and {nxt.shape}")
        if self._dis is None:
            self._dis = cv2.DISOpticalFlow_create(_PRESETS[self.preset])
        h, w = prev.shape
        if min(h, w) >= self.MIN_SIDE:
            return self._dis.calc(prev, nxt, None)
        pad = (0, max(0, self.MIN_SIDE - h), 0, max(0, self.MIN_SIDE - w))  # top, bottom, left, right
        big = [cv2.copyMakeBorder(f, *pad, cv2.BORDER_REPLICATE) for f in (prev, nxt)]
        return np.ascontiguousarray(self._dis.calc(big[0], big[1], None)[:h, :w])  # (h, w, 2)


def warp_error(a: np.ndarray, b: np.ndarray, flow: np.ndarray) -> float:
    """Mean absolute grey-level difference between ``a`` and ``b`` pulled back along ``flow``."""
    h, w = a.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    back = cv2.remap(b, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return float(cv2.absdiff(a, back).mean())


def robust_flow(est: FlowEstimator, a: np.ndarray, b: np.ndarray, *, retry_error: float = 10.0) -> np.ndarray:
    """DIS flow from ``a`` to ``b`` that survives displacements beyond DIS's pyramid.

    DIS loses track when the content moves more than ~40 px between the frames (a fast pan
    sampled a few frames apart) and reports almost no motion. When the flow explains ``b`` badly
    (warp error above ``retry_error`` grey levels), the global shift is measured by phase
    correlation (which sees shifts up to half the frame), ``b`` is shifted back by it, DIS runs on
    the remainder, and the shift is added back; the flow that explains ``b`` better is kept.
    """
    flow = est(a, b)
    err = warp_error(a, b, flow)
    if err <= retry_error:
        return flow
    (dx, dy), _ = cv2.phaseCorrelate(a.astype(np.float32), b.astype(np.float32), _hann(a.shape))
    back = cv2.warpAffine(b, np.float32([[1, 0, dx], [0, 1, dy]]), (b.shape[1], b.shape[0]),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
    alt = est(a, back)
    alt[..., 0] += dx
    alt[..., 1] += dy
    return alt if warp_error(a, b, alt) < err else flow


_HANN: dict[tuple[int, int], np.ndarray] = {}


def _hann(shape: tuple[int, int]) -> np.ndarray:
    if shape not in _HANN:
        _HANN[shape] = cv2.createHanningWindow((shape[1], shape[0]), cv2.CV_32F)
    return _HANN[shape]


@dataclass(frozen=True)
class GlobalMotion:
    """The camera's motion between two frames as a similarity transform (see module docstring)."""

    tx: float
    ty: float
    zoom: float
    rotation: float
    inlier_fraction: float  # share of the (textured) frame that moves with the camera
    residual_rms: float  # px; how far the inliers stray from the fit

    @property
    def translation(self) -> float:
        return float(np.hypot(self.tx, self.ty))

    def speed(self, height: int, width: int) -> float:
        """Mean displacement (px per step) the camera motion causes over the frame.

        Translation plus the zoom's and rotation's contribution at the mean distance from the
        centre, so pans, zooms and rolls are on one scale.
        """
        radius = 0.38 * np.hypot(height, width)  # mean distance of a pixel from the centre of a 16:9 frame
        return float(np.hypot(self.tx, self.ty) + radius * np.hypot(self.zoom, self.rotation))


_GRID_CACHE: dict[tuple[int, int, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def _grid(height: int, width: int, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    key = (height, width, step)
    if key not in _GRID_CACHE:
        ys, xs = np.mgrid[step // 2 : height : step, step // 2 : width : step]
        x = xs.ravel().astype(np.float64) - (width - 1) / 2
        y = ys.ravel().astype(np.float64) - (height - 1) / 2
        # rows of the design matrix for u = tx + a*x - b*y and v = ty + b*x + a*y
        ones, zeros = np.ones_like(x), np.zeros_like(x)
        design = np.concatenate(
            [np.stack([ones, zeros, x, -y], axis=1), np.stack([zeros, ones, y, x], axis=1)]
        )
        _GRID_CACHE[key] = (ys.ravel(), xs.ravel(), design)
    return _GRID_CACHE[key]


def texture_weights(gray: np.ndarray, step: int = 8) -> np.ndarray:
    """Per-grid-point weights: flow in flat regions (sky, walls) is guesswork, so it counts less."""
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    mag = cv2.blur(np.sqrt(gx * gx + gy * gy), (step, step))
    ys, xs, _ = _grid(gray.shape[0], gray.shape[1], step)
    w = mag[ys, xs].astype(np.float64)
    return np.clip(w / 8.0, 0.0, 1.0)  # Sobel magnitude >= 8 grey levels: fully trusted


def fit_global(
    flow: np.ndarray,
    gray: np.ndarray | None = None,
    *,
    step: int = 8,
    iterations: int = 4,
    inlier_px: float = 1.0,
    weights: np.ndarray | None = None,
) -> GlobalMotion:
    """Fit the camera's similarity motion to a dense flow field, robustly.

    Iteratively reweighted least squares on a grid: points that move with the majority (the
    background) define the camera; moving subjects become outliers. ``gray`` (the first frame)
    down-weights flat regions (or pass its :func:`texture_weights` as ``weights``, computed once).
    ``inlier_px`` is the residual (px) below which a point moves with the camera.
    """
    h, w = flow.shape[:2]
    ys, xs, design = _grid(h, w, step)
    n = len(ys)
    target = np.concatenate([flow[ys, xs, 0], flow[ys, xs, 1]]).astype(np.float64)
    if weights is not None:
        base = np.asarray(weights, np.float64)
    else:
        base = texture_weights(gray, step) if gray is not None else np.ones(n)
    if base.sum() < 1e-6:  # a flat frame: nothing to measure the camera by
        return GlobalMotion(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    weight = base.copy()
    params = np.zeros(4)
    for _ in range(iterations):
        sw = np.sqrt(np.concatenate([weight, weight]))
        params, *_ = np.linalg.lstsq(design * sw[:, None], target * sw, rcond=None)
        res = (target - design @ params).reshape(2, n)
        dist = np.hypot(res[0], res[1])
        valid = base > 0
        scale = max(inlier_px, 2.5 * float(np.median(dist[valid]))) if valid.any() else inlier_px
        weight = base * (dist < scale)  # Tukey-like hard rejection of points off the fit
        if weight.sum() < 1e-6:
            weight = base
            break
    res = (target - design @ params).reshape(2, n)
    dist = np.hypot(res[0], res[1])
    inlier = dist < max(inlier_px, 1e-6)
    inlier_w = base * inlier
    frac = float(inlier_w.sum() / base.sum())
    rms = float(np.sqrt((inlier_w * dist**2).sum() / inlier_w.sum())) if inlier_w.sum() > 0 else float("nan")
    tx, ty, a, b = (float(p) for p in params)
    return GlobalMotion(tx=tx, ty=ty, zoom=a, rotation=b, inlier_fraction=frac, residual_rms=rms)


def global_field(gm: GlobalMotion, height: int, width: int) -> np.ndarray:
    """The flow field (H, W, 2) that the camera motion alone would produce."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    x -= (width - 1) / 2
    y -= (height - 1) / 2
    u = gm.tx + gm.zoom * x - gm.rotation * y
    v = gm.ty + gm.rotation * x + gm.zoom * y
    return np.stack([u, v], axis=-1).astype(np.float32)


def residual_flow(flow: np.ndarray, gm: GlobalMotion) -> np.ndarray:
    """Local motion (subjects moving in the scene) after removing the camera's."""
    return flow - global_field(gm, flow.shape[0], flow.shape[1])
