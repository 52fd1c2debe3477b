"""Motion sub-metrics from the shared optical flow: how much moves, where, and how the camera moves.

All four read :attr:`DecodedClip.flows` / :attr:`DecodedClip.motions` (DIS flow and the similarity
fit of :mod:`koala.motion`, the same the measured captions use), so a caption's "pans left" and
``camera_motion`` agree. Speeds are in motion-score units: px per 1/3 s at a 320-px short side
(Open-Sora's flow score computes UniMatch flow between frames 10 apart at 320x576); the release's
motion_score spans 0.01-267 (digest §5), the same order of magnitude.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import median_filter

from koala.metrics.registry import MetricSpec, Unavailable, metric
from koala.motion import GlobalMotion

MOTION_UNIT = "px per 1/3 s at 320p"


def _need_pairs(clip, k: int = 1) -> None:
    if clip.n - 1 < k:
        raise Unavailable(f"{clip.n} sampled frame(s): motion needs at least {k + 1}")


def _reliable(clip, k: int) -> list[GlobalMotion]:
    """The camera motions of the pairs that can tell it (koala.motion.camera_motion), at least ``k``."""
    motions = clip.motions
    if len(motions) < k:
        raise Unavailable(
            f"only {len(motions)} of {clip.n - 1} sample pairs show the camera's motion "
            "(content changes, flashes or flat frames); need {k}".replace("{k}", str(k))
        )
    return motions


def mean_speed(speeds: np.ndarray, scale: float) -> float:
    """Mean flow magnitude over pixels and pairs of ``speeds`` (P, h, w), times ``scale``."""
    return float(speeds.mean(dtype=np.float64) * scale)


def moving_fraction(speeds: np.ndarray, scale: float, threshold: float) -> float:
    """Mean share of the frame whose speed (after ``scale``) exceeds ``threshold``."""
    return float((speeds > threshold / scale).mean())


def camera_vectors(motions: list[GlobalMotion], height: int, width: int) -> np.ndarray:
    """(P, 4) camera velocity per pair: pan, tilt, and zoom and roll as px at the mean radius."""
    radius = 0.38 * np.hypot(height, width)  # the mean distance of a pixel from the centre (as GlobalMotion.speed)
    return np.array([[m.tx, m.ty, radius * m.zoom, radius * m.rotation] for m in motions], dtype=np.float64)


def shake(vectors: np.ndarray, window: int) -> float:
    """RMS of the camera velocity's fast part: velocity minus its running median.

    A steady pan or zoom is smooth and leaves nothing; handheld jitter alternates direction from
    sample to sample and remains.
    """
    if len(vectors) < 3:
        raise Unavailable(f"{len(vectors)} sample pair(s): shake needs at least 3")
    w = max(3, min(int(window), len(vectors) | 1))
    smooth = median_filter(vectors, size=(w, 1), mode="nearest")
    return float(np.sqrt(np.mean(np.sum((vectors - smooth) ** 2, axis=1))))


@metric(MetricSpec(
    name="motion_score", unit=MOTION_UNIT, lo=0.0, hi=float("inf"), direction="neutral", version=1,
    description="mean dense optical-flow magnitude (OpenCV DIS at a fixed analysis size), camera motion included",
    reference="digest §2.3/§5 (release: 0.01-267); Open-Sora flow score scale",
))
def motion_score(clip, cfg) -> float:
    _need_pairs(clip)
    return mean_speed(clip.speeds, clip.flow_scale)


@metric(MetricSpec(
    name="moving_area", unit="fraction of frame", lo=0.0, hi=1.0, direction="higher_better", version=1,
    description="share of the frame whose content moves faster than moving_threshold (camera motion counts)",
    reference="digest §2.4: annotators lower clips whose motion area is under 30 %",
))
def moving_area(clip, cfg) -> float:
    _need_pairs(clip)
    return moving_fraction(clip.speeds, clip.flow_scale, cfg.moving_threshold)


@metric(MetricSpec(
    name="camera_motion", unit=MOTION_UNIT, lo=0.0, hi=float("inf"), direction="neutral", version=1,
    description="mean speed of the camera's global (similarity) motion: pan/tilt plus zoom and roll at the mean radius",
    reference="koala.motion.fit_global; digest §2.2 camera language",
))
def camera_motion(clip, cfg) -> float:
    _need_pairs(clip)
    motions = _reliable(clip, 1)
    h, w = clip.small.shape[1:3]
    return float(np.mean([m.speed(h, w) for m in motions]) * clip.flow_scale)


@metric(MetricSpec(
    name="camera_shake", unit=MOTION_UNIT, lo=0.0, hi=float("inf"), direction="lower_better", version=1,
    description="RMS of the camera velocity minus its running median (jitter of the global motion)",
    reference="digest §2.4: irregular amateur camera shake is penalised",
))
def camera_shake(clip, cfg) -> float:
    _need_pairs(clip, 3)
    motions = _reliable(clip, 3)
    h, w = clip.small.shape[1:3]
    return shake(camera_vectors(motions, h, w), cfg.shake_window) * clip.flow_scale
