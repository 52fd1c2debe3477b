"""What the TSA sees of one clip: fragments (dynamic), a few whole frames (static), sub-metrics (label).

Training (proxy clips made in memory) and prediction (clips of real videos) go through the same
:func:`clip_inputs`, so a model never sees inputs made differently from those it was trained on:
frames decoded once at ``vtss.proxy.decode_short_side``, FAST-VQA fragments cut from them, the
static frames picked first/middle/last as the released ``SimpleFrameSampler`` does and resized to a
square (the whole frame), and the project's own sub-metrics (:func:`koala.metrics.scorer.score`) on frames sampled at
``score.sample_fps``, as the score stage samples them, followed by the temporal features of :mod:`koala.vtss.features`
on the same frames (the label branch's inputs, :data:`koala.vtss.features.FEATURE_NAMES`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from koala.config import ScoreConfig, VtssTsaSize
from koala.io.video import read_frames
from koala.metrics.clip import DecodedClip, evenly
from koala.metrics.registry import METRIC_NAMES
from koala.metrics.scorer import score
from koala.vtss.features import FEATURE_NAMES, temporal_features
from koala.motion import analysis_shape
from koala.vtss.fragments import FragmentPlan, plan_fragments, sample_fragments

BRANCHES = ("dynamic", "static", "label")  # the TSA's inputs (koala.vtss.tsa.BRANCHES): fragments, frames, sub-metrics


@dataclass
class TsaInputs:
    """One clip's inputs, compact (uint8 pixels) so a whole proxy set fits in memory."""

    fragments: np.ndarray  # (K, T, S, S, 3) uint8: K fragment clips
    frames: np.ndarray  # (F, s, s, 3) uint8 static frames
    metrics: np.ndarray  # (M,) float64 in FEATURE_NAMES order (the sub-metrics, then koala.vtss.features'), NaN where unavailable
    reasons: dict[str, str] = field(default_factory=dict)  # metric -> why it is NaN


def decode_clip(path: str, start: int, end: int, short_side: int) -> np.ndarray:
    """Frames ``start:end`` of a video, shrunk to ``short_side`` (never enlarged): (N, H, W, 3) uint8.

    Raises:
        VideoError: the video cannot be read.
    """
    from koala.io.video import probe

    info = probe(path)
    h, w = analysis_shape(info.height, info.width, short_side=min(short_side, info.height, info.width))
    size = {} if (h, w) == (info.height, info.width) else {"height": h, "width": w}
    batches = [b.frames for b in read_frames(path, start=start, end=min(end, info.num_frames), info=info, **size)]
    return np.concatenate(batches) if batches else np.zeros((0, h, w, 3), np.uint8)


def metric_sample(num_frames: int, fps: float, cfg: ScoreConfig) -> np.ndarray:
    """Frame indices the sub-metrics are computed on: about ``sample_fps`` per second, at most ``max_frames``."""
    step = max(1, int(round(fps / cfg.sample_fps)))
    idx = np.arange(0, num_frames, step)
    return idx[evenly(len(idx), cfg.max_frames)]


@dataclass(frozen=True)
class InputPlan:
    """Which frames of a clip each input needs, drawn before decoding (so prediction decodes only those)."""

    fragments: FragmentPlan  # frame numbers within the clip, pixel positions
    metric_idx: np.ndarray  # frames the sub-metrics see
    static_idx: np.ndarray  # frames the static branch sees
    needed: np.ndarray  # ascending union of the frames the asked-for inputs need
    branches: tuple[str, ...] = BRANCHES  # the inputs to make: a model without a branch needs none of its frames

    @property
    def span(self) -> tuple[int, int]:
        return int(self.needed[0]), int(self.needed[-1]) + 1


def plan_inputs(num_frames: int, height: int, width: int, fps: float, size: VtssTsaSize, score_cfg: ScoreConfig,
                rng: np.random.Generator, *, branches: tuple[str, ...] = BRANCHES) -> InputPlan:
    """Draw the fragment positions and pick the metric and static frames of a clip of ``num_frames``.

    ``branches``: the inputs to make (default all, as the proxy set stores them). Prediction with a
    model that lacks a branch passes its own, so the frames only that branch would see are not
    decoded (the sub-metrics model needs only the metric frames). The fragment positions are drawn
    either way, so the generator ends in the same state and every other input is unchanged.

    Raises:
        ValueError: an empty clip, or an unknown branch.
    """
    unknown = [b for b in branches if b not in BRANCHES]
    if unknown or not branches:
        raise ValueError(f"branches must be a non-empty subset of {BRANCHES}, not {branches}")
    frag = plan_fragments(num_frames, height, width, grid=size.grid, patch=size.patch, clip_len=size.clip_len,
                          interval=size.frame_interval, num_clips=size.num_clips, rng=rng)
    metric_idx = metric_sample(num_frames, fps, score_cfg)
    static_idx = np.linspace(0, num_frames - 1, num=size.static_frames).round().astype(np.int64)
    parts = {"dynamic": frag.needed, "static": static_idx, "label": metric_idx}
    needed = np.unique(np.concatenate([np.asarray(parts[b], np.int64) for b in branches]))
    return InputPlan(fragments=frag, metric_idx=metric_idx, static_idx=static_idx, needed=needed, branches=tuple(branches))


def inputs_from(frames: np.ndarray, plan: InputPlan, fps: float, size: VtssTsaSize, score_cfg: ScoreConfig) -> TsaInputs:
    """The TSA inputs from the decoded ``plan.needed`` frames only: (len(needed), H, W, 3) uint8, in that order.

    An input of a branch the plan leaves out is an empty placeholder (fragments (1, 0, S, S, 3),
    frames (0, s, s, 3), metrics all NaN), never read by a model without that branch.
    """
    if len(frames) != len(plan.needed):
        raise ValueError(f"got {len(frames)} frames for {len(plan.needed)} planned")
    pos = lambda idx: np.searchsorted(plan.needed, idx)  # noqa: E731  frame number -> row of ``frames``
    h, w = frames.shape[1:3]
    side = size.grid * size.patch
    fragments = np.zeros((1, 0, side, side, 3), np.uint8)  # (K, T, S, S, 3)
    if "dynamic" in plan.branches:
        src = frames
        if plan.fragments.size != (h, w):  # frames smaller than the mosaic are enlarged first, as FAST-VQA does
            src = np.stack([cv2.resize(f, plan.fragments.size[::-1], interpolation=cv2.INTER_LINEAR) for f in frames])
        fragments = sample_fragments(src, replace(plan.fragments, frames=pos(plan.fragments.frames)))
    metrics, reasons = np.full(len(FEATURE_NAMES), np.nan), {}
    if "label" in plan.branches:
        clip = DecodedClip(frames=frames[pos(plan.metric_idx)], index=plan.metric_idx, fps=fps, cfg=score_cfg,
                           source_size=(h, w))
        out = score(clip)
        extra, extra_reasons = temporal_features(clip.frames, clip.small)
        metrics = np.concatenate([np.array([out.values[n] for n in METRIC_NAMES], np.float64), extra])
        reasons = {**out.reasons, **extra_reasons}
    stills = np.zeros((0, size.static_size, size.static_size, 3), np.uint8)  # (F, s, s, 3)
    if "static" in plan.branches:
        stills = np.stack([cv2.resize(frames[i], (size.static_size, size.static_size), interpolation=cv2.INTER_AREA)
                           for i in pos(plan.static_idx)])  # whole frame resized, not cropped: bars and text stay visible
    return TsaInputs(fragments=fragments, frames=stills, metrics=metrics, reasons=reasons)


def clip_inputs(frames: np.ndarray, fps: float, size: VtssTsaSize, score_cfg: ScoreConfig,
                rng: np.random.Generator) -> TsaInputs:
    """Everything the TSA needs from one clip's decoded frames (N, H, W, 3) uint8.

    Raises:
        ValueError: no frames.
    """
    if len(frames) == 0:
        raise ValueError("a clip with no decoded frames has no TSA inputs")
    plan = plan_inputs(len(frames), *frames.shape[1:3], fps, size, score_cfg, rng)
    return inputs_from(frames[plan.needed], plan, fps, size, score_cfg)
