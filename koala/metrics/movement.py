"""Motion sub-metrics from the shared optical flow: how much moves, where, and how the camera moves.

All four read :attr:`DecodedClip.flows` / :attr:`DecodedClip.camera_fits` (DIS flow of
:mod:`koala.motion` and the camera path of :mod:`koala.camera_path`, the same the measured
captions use), so a caption's "pans left" and ``camera_motion`` agree; the two camera metrics are
measured on the accumulated path (a moving subject is not in it). Speeds are in motion-score units: px per 1/3 s at a 320-px short side
(Open-Sora's flow score computes UniMatch flow between frames 10 apart at 320x576); the release's
motion_score spans 0.01-267 (docs/koala36m-paper.md §5), the same order of magnitude.
"""

from __future__ import annotations

import numpy as np

from koala.camera_path import STILL, path_shake, trajectory
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


def path_shake_px(clip, seconds: float) -> float:
    """Jitter of the clip's accumulated camera path (koala.camera_path.path_shake), px at the analysis size.

    Pairs that cannot tell the camera's motion add none; the trend is fitted over ``seconds``.
    """
    fits = clip.camera_fits
    if sum(f.reliable for f in fits) < 3:
        raise Unavailable(f"only {sum(f.reliable for f in fits)} of {len(fits)} sample pairs show the camera's motion; shake needs 3")
    h, w = clip.small.shape[1:3]
    path = trajectory([f.motion if f.reliable else STILL for f in fits], height=h, width=w)
    rate = clip.fps / float(np.median(clip.gaps))  # samples per second
    return path_shake(path, max(5, int(round(seconds * rate)) | 1))


@metric(MetricSpec(
    name="motion_score", unit=MOTION_UNIT, lo=0.0, hi=float("inf"), direction="neutral", version=1,
    description="mean dense optical-flow magnitude (OpenCV DIS at a fixed analysis size), camera motion included",
    reference="docs/koala36m-paper.md §2.3/§5 (release: 0.01-267); Open-Sora flow score scale",
))
def motion_score(clip, cfg) -> float:
    _need_pairs(clip)
    return mean_speed(clip.speeds, clip.flow_scale)


@metric(MetricSpec(
    name="moving_area", unit="fraction of frame", lo=0.0, hi=1.0, direction="higher_better", version=1,
    description="share of the frame whose content moves faster than moving_threshold (camera motion counts)",
    reference="docs/koala36m-paper.md §2.4: annotators lower clips whose motion area is under 30 %",
))
def moving_area(clip, cfg) -> float:
    _need_pairs(clip)
    return moving_fraction(clip.speeds, clip.flow_scale, cfg.moving_threshold)


@metric(MetricSpec(
    name="camera_motion", unit=MOTION_UNIT, lo=0.0, hi=float("inf"), direction="neutral", version=2,
    description="mean speed of the camera's accumulated path over ~1 s spans: pan/tilt plus zoom and roll at the mean radius",
    reference="koala.camera_path.fit_pair (RANSAC on the background); docs/koala36m-paper.md §2.2 camera language",
))
def camera_motion(clip, cfg) -> float:
    _need_pairs(clip)
    _reliable(clip, 1)
    h, w = clip.small.shape[1:3]
    path = trajectory([f.motion if f.reliable else STILL for f in clip.camera_fits], height=h, width=w)
    return path_speed(path, clip.index, window=max(1, int(round(cfg.shake_sec * clip.fps / float(np.median(clip.gaps)))))) * clip.flow_scale


def path_speed(path: np.ndarray, index: np.ndarray, *, window: int) -> float:
    """Mean speed (px per source frame) of the camera path (N, 4) over spans of ``window`` samples.

    Pan/tilt plus zoom and roll at the mean radius (as GlobalMotion.speed). Measured over spans
    (about a second), not pair by pair: sub-pixel fit noise and handheld jitter cancel there (the
    jitter is ``camera_shake``), a steady move does not.
    """
    k = max(1, min(int(window), len(path) - 1))
    d = path[k:] - path[:-k]  # (N - k, 4)
    frames = (np.asarray(index[k:]) - np.asarray(index[:-k])).astype(np.float64)
    speed = np.hypot(d[:, 0], d[:, 1]) + np.hypot(d[:, 2], d[:, 3])
    return float(np.mean(speed / np.maximum(frames, 1.0)))


@metric(MetricSpec(
    name="camera_shake", unit="px at 320p (RMS)", lo=0.0, hi=float("inf"), direction="lower_better", version=2,
    description="robust RMS of the accumulated camera path minus its local quadratic trend (~1 s): jitter of the camera alone",
    reference="docs/koala36m-paper.md §2.4: irregular amateur camera shake is penalised; koala.camera_path.path_shake",
))
def camera_shake(clip, cfg) -> float:
    _need_pairs(clip, 3)
    return path_shake_px(clip, cfg.shake_sec) * cfg.reference_short_side / min(clip.small.shape[1:3])
