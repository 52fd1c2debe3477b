"""One decode of a clip, and the views of it that the metrics share (gray frames, optical flow).

Every metric of a clip reads from one :class:`DecodedClip`: the frames are decoded once at a
reduced size (``score.decode_short_side``), sampled at about ``score.sample_fps``; the optical flow
and the camera's global motion between consecutive samples are computed once (at
``score.flow_short_side``, the same analysis as :mod:`koala.motion`) and shared by the four motion
metrics.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from functools import cached_property

import cv2
import numpy as np

from koala.config import ScoreConfig
from koala.camera_path import fit_path
from koala.motion import FlowEstimator, GlobalMotion, analysis_shape, robust_flow, to_gray


def evenly(n: int, k: int) -> np.ndarray:
    """``k`` indices spread evenly over ``range(n)`` (all of them when ``k >= n``)."""
    if k >= n:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, num=max(1, k)).round().astype(int))


def full_size_samples(n: int, cfg: ScoreConfig) -> np.ndarray:
    """Positions, among a clip's ``n`` samples, of the frames some metric reads at the decode size.

    The image, detail, text and aesthetic samples; every other sample is only seen by the flow
    and temporal metrics, at ``flow_short_side`` in grey (:func:`small_gray`), so a reader can
    reduce it as it passes instead of keeping it.
    """
    picks = [evenly(n, k) for k in (cfg.image_frames, cfg.detail_frames, cfg.text_frames, cfg.aesthetic.frames)]
    return np.unique(np.concatenate(picks)) if n else np.zeros(0, int)


def small_gray(frame: np.ndarray, short_side: int) -> np.ndarray:
    """One RGB frame (H, W, 3) as :attr:`DecodedClip.small` holds it: shrunk to ``short_side``, luma (h, w)."""
    return to_gray(_resized(frame[None], short_side)[0])


class KeptFrames:
    """A clip's samples at the decode size where only some were kept (the rest were reduced as they passed).

    Indexes like the (N, H, W, 3) array it stands for; reading a position that was not kept is an error.
    """

    def __init__(self, n: int, kept: dict[int, np.ndarray], frame_shape: tuple[int, ...]):
        self.n, self.kept, self.shape = n, kept, (n, *frame_shape)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, idx) -> np.ndarray:
        pos = np.arange(self.n)[idx]
        try:
            return np.stack([self.kept[int(i)] for i in np.atleast_1d(pos)]) if np.ndim(pos) else self.kept[int(pos)]
        except KeyError as exc:
            raise IndexError(f"sample {exc.args[0]} was not kept at the decode size (see full_size_samples)") from None


def _resized(frames: np.ndarray, short_side: int) -> np.ndarray:
    """Frames (N, H, W, C) shrunk to ``short_side`` (never enlarged), area-averaged."""
    h, w = analysis_shape(*frames.shape[1:3], short_side=min(short_side, min(frames.shape[1:3])))
    if (h, w) == frames.shape[1:3]:
        return frames
    return np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in frames])


@dataclass
class DecodedClip:
    """A clip decoded once; derived views are computed on first use and cached."""

    frames: np.ndarray | KeptFrames  # (N, H, W, 3) uint8 RGB at the decode size, upright (or those of them kept)
    index: np.ndarray  # (N,) frame numbers in the source video
    fps: float  # source frames per second
    cfg: ScoreConfig
    source_size: tuple[int, int] = (0, 0)  # (height, width) of the source video
    path: str = ""
    timings: dict = field(default_factory=dict)  # shared work (flow) in ms, for the benchmark

    @property
    def n(self) -> int:
        return len(self.frames)

    def image_samples(self) -> np.ndarray:
        """Indices of the frames the per-image metrics look at (``image_frames`` evenly spread)."""
        return evenly(self.n, self.cfg.image_frames)

    def detail_samples(self) -> np.ndarray:
        """Indices of the frames the fine-detail metrics (clarity, noise, blockiness) look at."""
        return evenly(self.n, self.cfg.detail_frames)

    @cached_property
    def images(self) -> np.ndarray:
        """(K, h, w, 3) RGB of :meth:`image_samples` at ``image_short_side`` (colour, exposure, borders)."""
        return _resized(self.frames[self.image_samples()], self.cfg.image_short_side)

    @cached_property
    def image_gray(self) -> np.ndarray:
        """(K, h, w) luma of :attr:`images`."""
        return to_gray(self.images)

    @cached_property
    def detail_gray(self) -> np.ndarray:
        """(D, H, W) luma of :meth:`detail_samples` at the decode size: fine detail is lost by shrinking."""
        return to_gray(self.frames[self.detail_samples()])

    @cached_property
    def small(self) -> np.ndarray:
        """(N, h, w) uint8 luma at the flow analysis size (every sample)."""
        return to_gray(_resized(self.frames, self.cfg.flow_short_side))

    @cached_property
    def gaps(self) -> np.ndarray:
        """(N-1,) source frames between consecutive samples."""
        return np.diff(self.index).astype(np.float64)

    @cached_property
    def flow_scale(self) -> float:
        """Factor from px per source frame at the analysis size to motion-score units.

        motion-score units: px per ``reference_frames`` frames of a ``reference_fps`` source (i.e.
        per 1/3 s) at a ``reference_short_side`` short side, the scale of Open-Sora's flow score.
        """
        cfg = self.cfg
        seconds = cfg.reference_frames / cfg.reference_fps
        return float(cfg.reference_short_side / min(self.small.shape[1:3]) * seconds * self.fps)

    @cached_property
    def pair_flows(self) -> list[np.ndarray]:
        """Dense flow (h, w, 2) between consecutive samples, in px per sample pair at the analysis size."""
        t = time.perf_counter()
        est = FlowEstimator(self.cfg.flow_preset)
        out = [robust_flow(est, self.small[i], self.small[i + 1], retry_error=self.cfg.flow_retry_error) for i in range(self.n - 1)]
        self.timings["flow"] = self.timings.get("flow", 0.0) + (time.perf_counter() - t) * 1000
        return out

    @cached_property
    def flows(self) -> list[np.ndarray]:
        """:attr:`pair_flows` in px per source frame (divided by the frames between the samples)."""
        return [f / g for f, g in zip(self.pair_flows, self.gaps)]

    @cached_property
    def speeds(self) -> np.ndarray:
        """(P, h, w) float32 per-pixel flow magnitude of each pair (px per source frame, analysis size)."""
        flows = self.flows  # timed on its own
        t = time.perf_counter()
        out = np.stack([cv2.magnitude(f[..., 0], f[..., 1]) for f in flows]) if flows else np.zeros((0, 1, 1), np.float32)
        self.timings["flow"] = self.timings.get("flow", 0.0) + (time.perf_counter() - t) * 1000
        return out

    @cached_property
    def camera_fits(self) -> list:
        """The camera's fit per sample pair (koala.camera_path.fit_path), in px per pair.

        The same estimate the measured captions use: a robust similarity fit on the background,
        each pair avoiding the previous pair's subject.
        """
        pair_flows = self.pair_flows
        t = time.perf_counter()
        out = fit_path(self.small, pair_flows)
        self.timings["global_motion"] = self.timings.get("global_motion", 0.0) + (time.perf_counter() - t) * 1000
        return out

    @cached_property
    def camera(self) -> list[tuple[GlobalMotion, bool]]:
        """The camera's motion per sample pair, per source frame, and whether the pair can tell it."""
        out = []
        for fit, g in zip(self.camera_fits, self.gaps):
            gm, g = fit.motion, float(g)
            out.append((replace(gm, tx=gm.tx / g, ty=gm.ty / g, zoom=gm.zoom / g, rotation=gm.rotation / g), fit.reliable))
        return out

    @property
    def motions(self) -> list[GlobalMotion]:
        """The camera's motion (per source frame) of the pairs that can tell it."""
        return [gm for gm, reliable in self.camera if reliable]
