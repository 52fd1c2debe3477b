"""The offline caption backend: each field states only what was measured on the clip.

One decode of the clip at analysis size feeds everything: optical flow and the camera's global
motion (camera language, subject actions), pixel statistics (visual language) and the bundled
face/people detectors (subject, shot size). Environment and world knowledge need recognition
that no offline model here provides, so they stay empty: a field with nothing measured says
nothing rather than guess.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from koala.caption import actions, camera, subjects, visual
from koala.config import MeasuredCaptionConfig
from koala.io.clip_reader import ClipRequest, read_clips
from koala.io.errors import VideoError
from koala.io.video import probe, read_all
from koala.motion import FlowEstimator, analysis_shape, camera_motion, residual_flow, robust_flow, to_gray

BACKEND = "measured"


@dataclass
class Measurement:
    """A clip's six fields and the numbers behind them (for tests and the notebook)."""

    fields: dict[str, str]
    phases: list = field(default_factory=list)
    shake: float = 0.0
    motion: actions.MotionStats | None = None
    visual: visual.VisualStats | None = None
    tracks: list = field(default_factory=list)


def sample_step(n_frames: int, fps: float, cfg: MeasuredCaptionConfig) -> int:
    """Frame step between flow samples: ``pairs_per_sec`` per second, at most ``max_pairs`` pairs."""
    step = max(1, int(round(fps / cfg.pairs_per_sec)))
    if (n_frames - 1) // step > cfg.max_pairs:
        step = math.ceil((n_frames - 1) / cfg.max_pairs)
    return step


@dataclass(frozen=True)
class ClipPlan:
    """Which frames of a clip the measured backend reads, and at what size."""

    frames: np.ndarray  # (K,) frame numbers in the video: start, start + step, ... < end
    step: int
    height: int  # decode size (the larger of the flow and face sizes)
    width: int


def plan_clip(info, start: int, end: int | None, cfg: MeasuredCaptionConfig, path: str = "") -> ClipPlan:
    """The frames and decode size of clip ``start:end`` of a video described by ``info`` (a probe result).

    Raises:
        VideoError: the clip range holds fewer than two frames.
    """
    end = info.num_frames if end is None else min(int(end), info.num_frames)
    start = max(0, int(start))
    if end - start < 2:
        raise VideoError(path or info.path, f"clip frames {start}-{end} hold fewer than two frames; nothing to caption")
    step = sample_step(end - start, info.fps, cfg)
    dh, dw = analysis_shape(info.height, info.width, max(cfg.short_side, cfg.face_short_side))
    return ClipPlan(frames=np.arange(start, end, step, dtype=np.int64), step=step, height=dh, width=dw)


def measure_clip(path: str, *, start: int = 0, end: int | None = None, cfg: MeasuredCaptionConfig,
                 metrics: dict | None = None) -> Measurement:
    """Measure one clip (frames ``start:end`` of ``path``) and word its six fields.

    For many clips of one video, :func:`measure_video` reads the video once instead.

    Args:
        metrics: the clip's row of the score stage's table, when present; its ``text_area``
            (OCR-based) replaces the cheaper text measure here.

    Raises:
        VideoError: the video cannot be read, or the clip range holds fewer than two frames.
    """
    info = probe(path)
    plan = plan_clip(info, start, end, cfg, path)
    end = info.num_frames if end is None else min(int(end), info.num_frames)
    frames = read_all(path, height=plan.height, width=plan.width, start=max(0, int(start)), end=end, step=plan.step, info=info)
    return measure_frames(frames, info=info, step=plan.step, cfg=cfg, metrics=metrics)


def measure_video(path: str, clips: list[dict], cfg: MeasuredCaptionConfig) -> Iterator[tuple[str, Measurement | Exception]]:
    """Measure many clips of one video from one decode pass (:func:`koala.io.clip_reader.read_clips`).

    Args:
        clips: dicts with ``clip_id``, ``start``, ``end`` and optionally ``metrics`` (see :func:`measure_clip`).

    Yields:
        (clip_id, its Measurement, or the exception that kept it from being captioned), each clip
        as soon as the pass has decoded its last sampled frame.

    Raises:
        VideoError: the video itself cannot be read.
    """
    info = probe(path)
    plans, requests = {}, []
    for c in clips:
        try:
            plans[c["clip_id"]] = plan = plan_clip(info, c["start"], c["end"], cfg, path)
        except VideoError as exc:
            yield c["clip_id"], exc
            continue
        requests.append(ClipRequest(c["clip_id"], plan.frames, height=plan.height, width=plan.width))
    by_id = {c["clip_id"]: c for c in clips}
    for got in read_clips(path, requests, info=info):
        if not len(got.index):
            yield got.key, VideoError(path, "no frames in the requested range")
            continue
        try:
            yield got.key, measure_frames(got.frames, info=info, step=plans[got.key].step, cfg=cfg, metrics=by_id[got.key].get("metrics"))
        except Exception as exc:  # one clip's failure is that clip's error row; the video's other clips go on
            yield got.key, exc


def measure_frames(frames: np.ndarray, *, info, step: int, cfg: MeasuredCaptionConfig, metrics: dict | None = None) -> Measurement:
    """The six fields from a clip's sampled frames ((K, dh, dw, 3), ``step`` frames apart, decoded at :func:`plan_clip`'s size)."""
    dh, dw = frames.shape[1:3]
    h, w = analysis_shape(info.height, info.width, cfg.short_side)
    small = frames if (h, w) == (dh, dw) else np.stack([_resize(f, w, h) for f in frames])  # (K, h, w, 3)
    times = (np.arange(len(frames)) * step) / info.fps

    gray = to_gray(small)
    flow = FlowEstimator(cfg.flow_preset)
    motions, residuals, reliable = [], [], []
    for a, b in zip(gray[:-1], gray[1:]):
        f = robust_flow(flow, a, b)
        gm, ok = camera_motion(f, a)
        motions.append(gm)
        reliable.append(ok)
        residuals.append(residual_flow(f, gm))
    rates = camera.camera_rates(motions, step=step, fps=info.fps, height=h, width=w)
    rates[~np.asarray(reliable, bool)] = np.nan  # a pair that explains nothing says nothing of the camera
    phs = camera.phases(rates, times, cfg, aspect=w / h)
    window = max(3, int(round(cfg.smooth_sec * info.fps / step)) | 1)
    jitter = camera.shake([m for m, ok in zip(motions, reliable) if ok], height=h, width=w, window=window)
    stats = actions.motion_stats(residuals, step=step, fps=info.fps, cfg=cfg)

    pick = np.unique(np.linspace(0, len(frames) - 1, num=min(cfg.face_frames, len(frames))).round().astype(int))
    tracks = subjects.find_subjects(frames[pick], min_size=cfg.face_min_size)
    vis = visual.visual_stats(small, cfg, text_frames=small[np.unique(np.linspace(0, len(small) - 1, 6).round().astype(int))])
    if metrics and np.isfinite(metrics.get("text_area", np.nan)):
        vis = visual.VisualStats(**{**vis.__dict__, "text_area": float(metrics["text_area"])})

    faces = [t for t in tracks if t.kind == "face"]
    cam = camera.describe(phs, jitter, cfg)
    size = camera.shot_size(faces[0].h if faces else None)
    fields = {
        "subject": subjects.describe(tracks),
        "actions": actions.describe(stats, cfg),
        "environment": "",  # nothing offline recognises places or scenery
        "visual_language": visual.describe(vis, cfg),
        "camera_language": f"{cam} {size}".strip(),
        "world_knowledge": "",  # nothing offline recognises events, works or brands
    }
    return Measurement(fields=fields, phases=phs, shake=jitter, motion=stats, visual=vis, tracks=tracks)


def _resize(frame: np.ndarray, w: int, h: int) -> np.ndarray:
    import cv2

    return cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
