"""Helpers for metric tests: decoded clips built straight from numpy frames with a known answer."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from koala.config import ScoreConfig
from koala.metrics.clip import DecodedClip


def texture(h: int, w: int, seed: int = 0, grain: int = 4) -> np.ndarray:
    """Smooth random RGB texture (h, w, 3) uint8 with detail everywhere (flow can lock on)."""
    rng = np.random.default_rng(seed)
    small = rng.random((h // grain + 1, w // grain + 1, 3)).astype(np.float32)
    img = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(img * 255, 0, 255).astype(np.uint8)


def pan(n: int, h: int, w: int, dx: float = 0.0, dy: float = 0.0, seed: int = 0, jitter=None) -> np.ndarray:
    """``n`` frames (n, h, w, 3) of a window sliding over a large texture.

    The content moves by (dx, dy) px per frame (plus ``jitter[i]``, a (2,) offset of frame i).
    """
    pad = int(abs(dx) * n + abs(dy) * n) + 64
    big = texture(h + 2 * pad, w + 2 * pad, seed)
    out = []
    for i in range(n):
        ox, oy = dx * i, dy * i
        if jitter is not None:
            ox, oy = ox + jitter[i][0], oy + jitter[i][1]
        # content moves right when the window moves left
        m = np.float32([[1, 0, ox - pad], [0, 1, oy - pad]])
        out.append(cv2.warpAffine(big, m, (w, h), flags=cv2.INTER_LINEAR))
    return np.stack(out)


def make_clip(frames: np.ndarray, *, fps: float = 30.0, index=None, source_size=None, **overrides) -> DecodedClip:
    cfg = dataclasses.replace(ScoreConfig(), **overrides)
    n = len(frames)
    return DecodedClip(
        frames=np.ascontiguousarray(frames),
        index=np.arange(n, dtype=np.int64) if index is None else np.asarray(index, np.int64),
        fps=fps,
        cfg=cfg,
        source_size=source_size or frames.shape[1:3],
    )


@pytest.fixture
def clip_of():
    """``clip_of(frames, fps=, index=, source_size=, **score_cfg_overrides)`` -> DecodedClip."""
    return make_clip
