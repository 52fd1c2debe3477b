"""The offline caption backend: each field states only what was measured on the clip.

One decode of the clip at analysis size feeds everything: optical flow and the camera's global
motion (camera language, subject actions), pixel statistics (visual language) and the bundled
face/people detectors (subject, shot size). Environment and world knowledge need recognition
that no offline model here provides, so they stay empty: a field with nothing measured says
nothing rather than guess.
"""

from __future__ import annotations

import math
import logging
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np

from koala.caption import actions, camera, subjects, visual
from koala.config import MeasuredCaptionConfig
from koala.io.clip_reader import ClipRequest, Reading, read_alone
from koala.io.errors import VideoError
from koala.io.video import cached_probe, probe, read_all
from koala.camera_path import fit_path
from koala.motion import FlowEstimator, analysis_shape, residual_flow, robust_flow, to_gray

BACKEND = "measured"
log = logging.getLogger(__name__)


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


def _has_text(metrics: dict | None) -> bool:
    """Whether the score stage measured the clip's on-screen text already."""
    return bool(metrics) and bool(np.isfinite(metrics.get("text_area", np.nan)))


def plan_clip(info, start: int, end: int | None, cfg: MeasuredCaptionConfig, path: str = "", *,
              has_text: bool = False) -> ClipPlan:
    """The frames and decode size of clip ``start:end`` of a video described by ``info`` (a probe result).

    ``has_text``: the score stage measured the clip's text, so the OCR's larger picture is not needed.

    Raises:
        VideoError: the clip range holds fewer than two frames.
    """
    end = info.num_frames if end is None else min(int(end), info.num_frames)
    start = max(0, int(start))
    if end - start < 2:
        raise VideoError(path or info.path, f"clip frames {start}-{end} hold fewer than two frames; nothing to caption")
    step = max(1, min(sample_step(end - start, info.fps, cfg), end - start - 1))  # a very short clip keeps two frames
    # the OCR needs a larger picture; when the score stage measured text already, 180p suffices
    decode_side = max(cfg.short_side, cfg.face_short_side, 0 if has_text else cfg.text_short_side)
    dh, dw = analysis_shape(info.height, info.width, min(decode_side, info.height, info.width))
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
    plan = plan_clip(info, start, end, cfg, path, has_text=_has_text(metrics))
    end = info.num_frames if end is None else min(int(end), info.num_frames)
    frames = read_all(path, height=plan.height, width=plan.width, start=max(0, int(start)), end=end, step=plan.step, info=info)
    return measure_frames(frames, fps=info.fps / plan.step, cfg=cfg, metrics=metrics)


def measure_video(path: str, clips: list[dict], cfg: MeasuredCaptionConfig) -> Iterator[tuple[str, Measurement | Exception]]:
    """Measure many clips of one video from one decode pass (:func:`koala.io.clip_reader.read_clips`).

    Args:
        clips: dicts with ``clip_id``, ``start``, ``end`` and optionally ``metrics`` (see :func:`measure_clip`).

    Yields:
        (clip_id, its Measurement, or the exception that kept it from being captioned), in the
        order the pass finished the clips.

    Raises:
        VideoError: the video itself cannot be read.
    """
    # a long video's items (runs of its clips) share one probe per process
    yield from read_alone(path, lambda info: measure_reading(path, clips, cfg, info), info=cached_probe(path))


def measure_reading(path: str, clips: list[dict], cfg: MeasuredCaptionConfig, info, *, has_text: bool | None = None,
                    metrics_of: Callable[[str], dict | None] | None = None) -> Reading:
    """The measured caption's share of a pass over a video (:func:`koala.io.clip_reader.read_into`).

    ``result()`` lists (clip_id, Measurement or the exception that kept it from being captioned).

    Args:
        has_text: plan every clip as if the score stage measured its text (True) or not (False);
            default: as each clip's ``metrics`` say.
        metrics_of: the clip's score-stage numbers at the time its frames arrive (a pass that scores
            and captions at once); default: each clip's ``metrics``.
    """
    plans, requests, out = {}, [], []
    for c in clips:
        try:
            plans[c["clip_id"]] = plan = plan_clip(info, c["start"], c["end"], cfg, path,
                                                   has_text=_has_text(c.get("metrics")) if has_text is None else has_text)
        except VideoError as exc:
            out.append((c["clip_id"], exc))
            continue
        requests.append(ClipRequest(c["clip_id"], plan.frames, height=plan.height, width=plan.width))
    by_id = {c["clip_id"]: c for c in clips}

    def take(got) -> None:
        if not len(got.index):
            out.append((got.key, VideoError(path, "no frames in the requested range")))
            return
        metrics = metrics_of(got.key) if metrics_of is not None else by_id[got.key].get("metrics")
        try:
            out.append((got.key, measure_frames(got.frames, fps=info.fps / plans[got.key].step, cfg=cfg, metrics=metrics)))
        except Exception as exc:  # one clip's failure is that clip's error row; the video's other clips go on
            out.append((got.key, exc))

    return Reading(requests, take, lambda: list(out))


def measure_frames(frames: np.ndarray, *, fps: float, cfg: MeasuredCaptionConfig, metrics: dict | None = None) -> Measurement:
    """Measure a clip's sampled frames and word its six fields (the core of :func:`measure_clip`).

    Args:
        frames: (K, H, W, 3) uint8 RGB samples, ``fps`` of them per second of the clip; any size
            (shrunk to the analysis size here).
        metrics: as :func:`measure_clip`.

    Raises:
        ValueError: fewer than two frames.
    """
    if len(frames) < 2:
        raise ValueError(f"{len(frames)} frame(s): a clip needs at least two to measure")
    h, w = analysis_shape(*frames.shape[1:3], cfg.short_side)
    small = _shrunk(frames, h, w)  # (K, h, w, 3) flow, colour, bars
    times = np.arange(len(frames)) / fps

    gray = to_gray(small)
    est = FlowEstimator(cfg.flow_preset)
    flows = [robust_flow(est, a, b) for a, b in zip(gray[:-1], gray[1:])]
    fits = fit_path(gray, flows)
    motions = [f.motion for f in fits]
    reliable = np.array([f.reliable for f in fits], bool)
    residuals = [residual_flow(f, gm) for f, gm in zip(flows, motions)]
    rates = camera.camera_rates(motions, step=1, fps=fps, height=h, width=w)
    rates[~reliable] = np.nan  # a pair that explains nothing says nothing of the camera
    phs = camera.phases(rates, times, cfg, aspect=w / h)
    jitter = camera.shake(fits, height=h, width=w, window=camera.window_of(cfg.shake_sec, fps))
    stats = actions.motion_stats(residuals, step=1, fps=fps, cfg=cfg)

    pick = np.unique(np.linspace(0, len(frames) - 1, num=min(cfg.face_frames, len(frames))).round().astype(int))
    tracks = subjects.find_subjects(_shrunk(frames[pick], *analysis_shape(*frames.shape[1:3], min(cfg.face_short_side, *frames.shape[1:3]))),
                                    min_size=cfg.face_min_size, people_model=cfg.people_model)
    if metrics and np.isfinite(metrics.get("text_area", np.nan)):
        text = float(metrics["text_area"])
    else:
        text = overlay_area(frames, cfg, fps=fps)
    vis = visual.visual_stats(small, cfg, text_area=text)

    faces = [t for t in tracks if t.kind == "face"]
    phs, jitter = camera.verdict(phs, fits, jitter, fps=fps, height=h, width=w, cfg=cfg)
    cam = camera.describe(phs, jitter, cfg)
    size = camera.shot_size(faces[0].h if faces else None, [t for t in tracks if t.kind == "person"])
    fields = {
        "subject": subjects.describe(tracks),
        "actions": actions.describe(stats, cfg),
        "environment": "",  # nothing offline recognises places or scenery
        "visual_language": visual.describe(vis, cfg),
        "camera_language": f"{cam} {size}".strip(),
        "world_knowledge": "",  # nothing offline recognises events, works or brands
    }
    return Measurement(fields=fields, phases=phs, shake=jitter, motion=stats, visual=vis, tracks=tracks)


def overlay_area(frames: np.ndarray, cfg: MeasuredCaptionConfig, *, fps: float) -> float:
    """Share of the frame covered by confirmed overlay text (koala.metrics.text) on ``cfg.text_frames`` frames.

    ``fps``: samples per second of ``frames`` (overlay text must stay ``text_min_span_sec``).

    At ``text_short_side`` (the frames are shrunk to it, never enlarged). NaN, logged, when the
    OCR models are not installed: the caption then says nothing about text.
    """
    from koala.metrics.registry import Unavailable
    from koala.metrics.text import detector, overlay_text, recogniser

    pick = np.unique(np.linspace(0, len(frames) - 1, num=min(cfg.text_frames, len(frames))).round().astype(int))
    sel = _shrunk(frames[pick], *analysis_shape(*frames.shape[1:3], min(cfg.text_short_side, *frames.shape[1:3])))
    try:
        det, rec = detector(cfg.text_max_side, cfg.text_box_score), recogniser()
    except Unavailable as exc:
        log.info("on-screen text not measured: %s", exc)
        return float("nan")
    return overlay_text(sel, det=det, rec=rec, max_side=cfg.text_max_side, min_frames=cfg.text_min_frames,
                        min_score=cfg.text_min_score, times=pick / fps, min_span=cfg.text_min_span_sec).area


def _shrunk(frames: np.ndarray, h: int, w: int) -> np.ndarray:
    """Frames (K, H, W, 3) at (h, w) (area-averaged), or as they are when already that size."""
    if frames.shape[1:3] == (h, w):
        return frames
    return np.stack([_resize(f, w, h) for f in frames])


def _resize(frame: np.ndarray, w: int, h: int) -> np.ndarray:
    import cv2

    return cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
