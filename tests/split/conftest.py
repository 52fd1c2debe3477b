"""Synthetic two-shot videos with exact truth for the split tests."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from koala.io.writer import VideoWriter


def textured_shot(seed: int, n: int, *, width: int = 160, height: int = 96, speed: int = 1, tint=None) -> np.ndarray:
    """(n, H, W, 3) frames of a smooth random colour texture drifting sideways (one shot)."""
    rng = np.random.default_rng(seed)
    import cv2

    big = rng.integers(0, 256, (height // 8, (width + speed * n) // 8 + 2, 3)).astype(np.uint8)
    big = cv2.resize(big, (big.shape[1] * 8, height), interpolation=cv2.INTER_CUBIC)
    tint = rng.uniform(0.4, 1.0, 3) if tint is None else np.asarray(tint)
    big = np.clip(big * tint, 0, 255).astype(np.uint8)
    return np.stack([big[:, i * speed : i * speed + width] for i in range(n)])


def write(path: Path, frames: np.ndarray, fps: float = 25.0) -> Path:
    with VideoWriter(path, fps=fps, width=frames.shape[2], height=frames.shape[1], crf=12) as w:
        for f in frames:
            w.write(f)
    return path


@pytest.fixture
def two_shots(tmp_path) -> tuple[Path, int]:
    """A 70-frame video with a hard cut between frames 39 and 40; returns (path, 40)."""
    frames = np.concatenate([textured_shot(1, 40, tint=(1.0, 0.7, 0.3)), textured_shot(2, 30, tint=(0.3, 0.6, 1.0))])
    return write(tmp_path / "two_shots.mp4", frames), 40


@pytest.fixture
def one_shot(tmp_path) -> Path:
    """A 70-frame single shot (slow drift): no transition."""
    return write(tmp_path / "one_shot.mp4", textured_shot(3, 70))


@pytest.fixture
def synth() -> SimpleNamespace:
    """The helpers above, for tests that build their own videos."""
    return SimpleNamespace(textured_shot=textured_shot, write=write)
