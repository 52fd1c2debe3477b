"""Synthetic shot transitions over real frames, in numpy (written by hand: no library makes
editing transitions with exact frame-level ground truth).

Each function takes the ``n`` frames of the outgoing shot that play during the transition
(``a``) and the first ``n`` frames of the incoming shot (``b``), both (n, H, W, 3) uint8, and
returns the n mixed frames. Every returned frame mixes both shots or a flat colour, so the
ground-truth span is exactly those n frames. Progress runs strictly inside (0, 1):
frame i of n sits at (i + 1) / (n + 1), so no transition frame equals a pure shot frame.
"""

from __future__ import annotations

import numpy as np

GRADUAL_TYPES = ("dissolve", "fade_black", "fade_white", "wipe", "slide")
ALL_TYPES = ("cut",) + GRADUAL_TYPES
DIRECTIONS = ("left", "right", "up", "down")


def progress(n: int) -> np.ndarray:
    """(n,) transition progress in (0, 1), evenly spaced."""
    return np.arange(1, n + 1, dtype=np.float32) / (n + 1)


def _check(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape or a.ndim != 4 or a.shape[-1] != 3:
        raise ValueError(f"a and b must both be (n, H, W, 3); got {a.shape} and {b.shape}")


def _mix(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per-frame linear mix: (1 - w) * a + w * b, with w shaped (n,)."""
    w = w.reshape(-1, 1, 1, 1)
    out = a.astype(np.float32) * (1.0 - w) + b.astype(np.float32) * w
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def dissolve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross-dissolve: b's weight rises linearly across the transition."""
    _check(a, b)
    return _mix(a, b, progress(len(a)))


def fade_through(a: np.ndarray, b: np.ndarray, value: int) -> np.ndarray:
    """Fade a out to a flat grey level ``value`` (0 black, 255 white), then fade b in.

    The flat frame is reached at the middle; with an odd n it is shown once.
    """
    _check(a, b)
    n = len(a)
    t = progress(n)
    flat = np.full_like(a[:1], value)
    out = np.empty_like(a)
    first = t <= 0.5
    # Outgoing half: a -> flat as t goes 0 -> 0.5; incoming half: flat -> b as t goes 0.5 -> 1.
    if first.any():
        out[first] = _mix(a[first], np.broadcast_to(flat, a[first].shape), t[first] * 2.0)
    if (~first).any():
        out[~first] = _mix(np.broadcast_to(flat, b[~first].shape), b[~first], (t[~first] - 0.5) * 2.0)
    return out


def wipe(a: np.ndarray, b: np.ndarray, direction: str = "right") -> np.ndarray:
    """A hard edge sweeps across the frame, revealing b behind it (edge moves ``direction``)."""
    _check(a, b)
    n, h, w, _ = a.shape
    out = a.copy()
    for i, t in enumerate(progress(n)):
        if direction in ("left", "right"):
            k = max(1, min(w - 1, int(round(t * w))))
            if direction == "right":
                out[i, :, :k] = b[i, :, :k]
            else:
                out[i, :, w - k :] = b[i, :, w - k :]
        elif direction in ("up", "down"):
            k = max(1, min(h - 1, int(round(t * h))))
            if direction == "down":
                out[i, :k] = b[i, :k]
            else:
                out[i, h - k :] = b[i, h - k :]
        else:
            raise ValueError(f"direction must be one of {DIRECTIONS}, not {direction!r}")
    return out


def slide(a: np.ndarray, b: np.ndarray, direction: str = "left") -> np.ndarray:
    """Push: b slides in and pushes a out of frame, both moving ``direction``."""
    _check(a, b)
    n, h, w, _ = a.shape
    out = np.empty_like(a)
    for i, t in enumerate(progress(n)):
        if direction in ("left", "right"):
            k = max(1, min(w - 1, int(round(t * w))))
            if direction == "left":  # content moves left: b enters from the right edge
                out[i, :, : w - k] = a[i, :, k:]
                out[i, :, w - k :] = b[i, :, :k]
            else:
                out[i, :, k:] = a[i, :, : w - k]
                out[i, :, :k] = b[i, :, w - k :]
        elif direction in ("up", "down"):
            k = max(1, min(h - 1, int(round(t * h))))
            if direction == "up":
                out[i, : h - k] = a[i, k:]
                out[i, h - k :] = b[i, :k]
            else:
                out[i, k:] = a[i, : h - k]
                out[i, :k] = b[i, h - k :]
        else:
            raise ValueError(f"direction must be one of {DIRECTIONS}, not {direction!r}")
    return out


def render(kind: str, a: np.ndarray, b: np.ndarray, direction: str = "right") -> np.ndarray:
    """Dispatch to the transition named ``kind`` (one of GRADUAL_TYPES)."""
    if kind == "dissolve":
        return dissolve(a, b)
    if kind == "fade_black":
        return fade_through(a, b, 0)
    if kind == "fade_white":
        return fade_through(a, b, 255)
    if kind == "wipe":
        return wipe(a, b, direction)
    if kind == "slide":
        return slide(a, b, direction)
    raise ValueError(f"unknown gradual transition {kind!r}; expected one of {GRADUAL_TYPES}")


def flash(frames: np.ndarray, strength: float = 0.85) -> np.ndarray:
    """Brighten frames towards white (a camera flash or strobe): content stays visible."""
    f = frames.astype(np.float32)
    return np.clip(np.rint(f + (255.0 - f) * strength), 0, 255).astype(np.uint8)


def pan_strip(image: np.ndarray, length: int) -> np.ndarray:
    """Tile ``image`` with mirrored copies to at least ``length`` pixels wide.

    Mirroring makes every seam continuous, so a window moving along the strip is one
    unbroken shot (no hidden cut).
    """
    tiles, width = [], 0
    flip = False
    while width < length:
        tiles.append(image[:, ::-1] if flip else image)
        width += image.shape[1]
        flip = not flip
    return np.concatenate(tiles, axis=1)
