"""Synthetic clips with a known camera move, colour, moving object or text overlay (exact truth).

A textured canvas (smoothed noise, tinted) is filmed through a moving crop window: a window that
slides left shows the content sliding right, i.e. a camera panning left; a shrinking window
resized to the output size is a zoom in.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from koala.io.writer import VideoWriter

W, H, FPS, N = 320, 180, 25.0, 50


def canvas(tint=(150, 150, 150), seed: int = 0, size=(3 * H, 3 * W)) -> np.ndarray:
    """A textured RGB canvas: smoothed noise modulating the tint (texture for optical flow)."""
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.normal(size=size).astype(np.float32), (0, 0), 3)
    lum = (noise - noise.min()) / (noise.max() - noise.min())
    return np.clip(np.asarray(tint, np.float32) * (0.45 + 0.9 * lum[..., None]), 0, 255).astype(np.uint8)


def window(k: int, move: str, speed: float) -> tuple[float, float, float]:
    """Crop centre (x, y) on the canvas and crop scale (1 = output size) at frame k."""
    cx, cy, s = 1.5 * W, 1.5 * H, 1.0
    d = speed * k
    if move == "pan_left":  # window slides left: content slides right across the frame
        cx -= d
    elif move == "pan_right":
        cx += d
    elif move == "tilt_up":  # window slides up: content slides down
        cy -= d
    elif move == "tilt_down":
        cy += d
    elif move == "zoom_in":  # window shrinks: things look larger
        s = 1.4 * (1 - 0.006 * speed) ** k
    elif move == "zoom_out":
        s = 1.0 * (1 + 0.006 * speed) ** k
    return cx, cy, s


def frames(move: str = "static", *, tint=(150, 150, 150), speed: float = 2.0, text: str = "", square: bool = False, seed: int = 0):
    base = canvas(tint, seed)
    for k in range(N):
        cx, cy, s = window(k, move, speed)
        w, h = W * s, H * s
        crop = cv2.getRectSubPix(base, (int(round(w)), int(round(h))), (cx, cy))
        frame = cv2.resize(crop, (W, H), interpolation=cv2.INTER_AREA)
        if square:  # a bright square crossing the frame left to right on a still background
            x = 20 + 4 * k
            frame[70:110, x : x + 40] = 250
        if text:
            cv2.putText(frame, text, (20, H - 22), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (0, 0, 0), 6, cv2.LINE_AA)
            cv2.putText(frame, text, (20, H - 22), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (255, 255, 255), 2, cv2.LINE_AA)
        yield frame


def write_clip(folder: Path, name: str, **kwargs) -> Path:
    path = Path(folder) / f"{name}.mp4"
    with VideoWriter(path, fps=FPS, width=W, height=H, codec="libx264") as out:
        for f in frames(**kwargs):
            out.write(f)
    return path


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def synthetic_clip(tmp_path_factory):
    """``synthetic_clip(name, move=, tint=, text=, square=)`` -> Path, written once per session."""
    folder = tmp_path_factory.mktemp("caption_clips")
    made: dict[str, Path] = {}

    def make(name: str, **kwargs) -> Path:
        if name not in made:
            made[name] = write_clip(folder, name, **kwargs)
        return made[name]

    return make
