"""FAST-VQA fragment sampling: a clip becomes a few 32-frame mosaics of 7x7 native-resolution patches.

Quality lives in fine detail (noise, blur, blocking), which resizing destroys. FAST-VQA instead cuts
each frame into a 7x7 grid and keeps one 32x32 patch per cell, at native resolution; the 49 patches
are tiled into a 224x224 mosaic. Within one 32-frame clip every patch stays at the same place in
every frame ("aligned" over time), so motion inside a patch is real motion; each clip draws new
positions. At test time the released Koala scorer takes 4 such clips, one per quarter of the video,
each 32 frames at an interval of 2 (docs/koala36m-paper.md §2.5; released ``infer.yml``).

Sampling follows the original's ``FragmentSampleFrames`` and ``get_spatial_fragments``: a random
start inside each quarter (when the quarter is longer than 64 frames), indices wrapped modulo the
clip length (short clips repeat frames), a random offset of each patch inside its cell, and frames
smaller than 224 px on a side upsampled first. The original draws from an unseeded generator; here
the generator is passed in, so a score is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

# ImageNet statistics on the 0-255 scale, as the original normalises fragments (released code).
MEAN = np.array([123.675, 116.28, 103.53], dtype=np.float32)
STD = np.array([58.395, 57.12, 57.375], dtype=np.float32)


@dataclass(frozen=True)
class FragmentPlan:
    """Where every fragment pixel of every clip comes from."""

    frames: np.ndarray  # (clips, clip_len) frame numbers within the source clip
    rows: np.ndarray  # (clips, grid * patch, grid * patch) source row of each mosaic pixel
    cols: np.ndarray  # (clips, grid * patch, grid * patch) source column of each mosaic pixel
    size: tuple[int, int]  # (height, width) of the frames the rows/cols index (after any upsampling)

    @property
    def needed(self) -> np.ndarray:
        """Distinct frame numbers to decode, ascending."""
        return np.unique(self.frames)


def temporal_indices(num_frames: int, *, clip_len: int = 32, interval: int = 2, num_clips: int = 4,
                     rng: np.random.Generator) -> np.ndarray:
    """Frame numbers of each clip: one clip per equal segment, ``clip_len`` frames ``interval`` apart.

    Args:
        num_frames: frames in the clip being scored (> 0).
        clip_len, interval, num_clips: 32, 2 and 4 in the released scorer.
        rng: draws each clip's start inside its segment when the segment has room.

    Returns:
        (num_clips, clip_len) int64, each in [0, num_frames); a clip shorter than
        ``num_clips * clip_len * interval`` frames wraps around and repeats frames, as the original does.
    """
    if num_frames <= 0:
        raise ValueError(f"cannot sample fragments from {num_frames} frames")
    seg = num_frames // num_clips
    span = clip_len * interval
    starts = seg * np.arange(num_clips)
    if seg > span:
        starts = starts + rng.integers(0, seg - span, size=num_clips)
    idx = starts[:, None] + interval * np.arange(clip_len)[None, :]
    return np.mod(idx, num_frames).astype(np.int64)


def upsampled_size(height: int, width: int, *, grid: int = 7, patch: int = 32) -> tuple[int, int]:
    """Frame size the patches are cut from: frames smaller than the mosaic on a side are enlarged to fit."""
    ratio = min(height / (grid * patch), width / (grid * patch))
    if ratio >= 1:
        return height, width
    return int(np.floor(height / ratio)), int(np.floor(width / ratio))


def patch_corners(height: int, width: int, *, grid: int = 7, patch: int = 32, num_clips: int = 4,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Top-left corner of every patch: a random place inside its grid cell, one draw per clip.

    Returns:
        (top, left), each (num_clips, grid, grid) int64.
    """
    def axis(n: int) -> tuple[np.ndarray, int]:
        cell = n // grid
        return np.minimum(cell * np.arange(grid), n - patch), cell

    (h0, hcell), (w0, wcell) = axis(height), axis(width)
    shape = (num_clips, grid, grid)
    dh = rng.integers(0, hcell - patch, size=shape) if hcell > patch else np.zeros(shape, np.int64)
    dw = rng.integers(0, wcell - patch, size=shape) if wcell > patch else np.zeros(shape, np.int64)
    return h0[None, :, None] + dh, w0[None, None, :] + dw


def plan_fragments(num_frames: int, height: int, width: int, *, grid: int = 7, patch: int = 32, clip_len: int = 32,
                   interval: int = 2, num_clips: int = 4, rng: np.random.Generator) -> FragmentPlan:
    """The whole sampling of one clip (which frames, which pixels), before anything is decoded."""
    frames = temporal_indices(num_frames, clip_len=clip_len, interval=interval, num_clips=num_clips, rng=rng)
    size = upsampled_size(height, width, grid=grid, patch=patch)
    top, left = patch_corners(*size, grid=grid, patch=patch, num_clips=num_clips, rng=rng)
    ar = np.arange(patch)
    # Mosaic pixel (i*patch + a, j*patch + b) of clip c comes from (top[c,i,j] + a, left[c,i,j] + b).
    rows = top[:, :, None, :, None] + ar[None, None, :, None, None]  # (c, i, a, j, 1)
    cols = left[:, :, None, :, None] + ar[None, None, None, None, :]  # (c, i, 1, j, b)
    side, full = grid * patch, (num_clips, grid, patch, grid, patch)
    rows = np.broadcast_to(rows, full).reshape(num_clips, side, side)
    cols = np.broadcast_to(cols, full).reshape(num_clips, side, side)
    return FragmentPlan(frames=frames, rows=rows, cols=cols, size=size)


class FragmentCollector:
    """Fills the mosaics as decoded frames stream past, so only the fragments stay in memory.

    Feed each decoded frame (at ``plan.size``) with :meth:`add`; a frame used by several clips or
    positions (wrap-around) lands in every slot that wants it.
    """

    def __init__(self, plan: FragmentPlan):
        self.plan = plan
        c, t = plan.frames.shape
        side = plan.rows.shape[1]
        self.mosaics = np.zeros((c, t, side, side, 3), np.uint8)  # (clips, T, H, W, 3)
        self.filled = np.zeros((c, t), bool)
        self._slots: dict[int, list[tuple[int, int]]] = {}
        for ci, ti in np.ndindex(c, t):
            self._slots.setdefault(int(plan.frames[ci, ti]), []).append((ci, ti))

    def add(self, index: int, frame: np.ndarray) -> None:
        """Take frame number ``index`` (H, W, 3) uint8 if any clip wants it."""
        for ci, ti in self._slots.get(int(index), ()):
            self.mosaics[ci, ti] = frame[self.plan.rows[ci], self.plan.cols[ci]]
            self.filled[ci, ti] = True

    @property
    def complete(self) -> bool:
        return bool(self.filled.all())


def normalise(mosaics: np.ndarray) -> torch.Tensor:
    """(clips, T, H, W, 3) uint8 mosaics -> (clips, 3, T, H, W) float32, ImageNet mean/std (0-255 scale)."""
    x = torch.from_numpy(np.ascontiguousarray(mosaics)).float()
    x = (x - torch.from_numpy(MEAN)) / torch.from_numpy(STD)
    return x.permute(0, 4, 1, 2, 3).contiguous()


def sample_fragments(frames: np.ndarray, plan: FragmentPlan) -> np.ndarray:
    """All mosaics from frames already in memory: (N, H, W, 3) -> (clips, T, side, side, 3) uint8.

    The in-memory twin of :class:`FragmentCollector` (tests, training on short clips).
    """
    picked = frames[plan.frames]  # (clips, T, H, W, 3)
    c = np.arange(plan.frames.shape[0])[:, None, None, None]
    t = np.arange(plan.frames.shape[1])[None, :, None, None]
    return picked[c, t, plan.rows[:, None], plan.cols[:, None]]
