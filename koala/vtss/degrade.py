"""Controlled degradations of real footage along the annotators' criteria (paper §4.3.1), for proxy labels.

Each degradation maps frames (N, H, W, 3) uint8 and a severity 1-4 to new frames of the same
shape, deterministically for a given generator. What each one breaks, in the paper's words:

- static quality ("per-frame subject detail", "clear and distinct subjects"): ``blur``, ``noise``,
  ``compression`` (JPEG blocking);
- dynamic quality ("temporal stability", "irregular, strong amateur camera shake", "motion area
  should cover more than 30 %"): ``shake``, ``frozen`` (stalls), ``still`` (slow motion down to a
  still picture);
- naturalness ("transitions, subtitles and logos lower the score"; processed footage):
  ``letterbox``, ``text``, ``transition``.

Sizes are given for a 360-line frame and scale with the frame's short side.
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

Degradation = Callable[[np.ndarray, int, np.random.Generator], np.ndarray]
DEGRADATIONS: dict[str, Degradation] = {}
LEVELS = 4


def degradation(fn: Degradation) -> Degradation:
    if fn.__name__ in DEGRADATIONS:
        raise ValueError(f"degradation {fn.__name__!r} registered twice")
    DEGRADATIONS[fn.__name__] = fn
    return fn


def _px(frames: np.ndarray, at360: float) -> float:
    return at360 * min(frames.shape[1:3]) / 360.0


def _level(level: int, values: tuple) -> float:
    if not 1 <= level <= len(values):
        raise ValueError(f"severity must be 1..{len(values)}, not {level}")
    return values[level - 1]


@degradation
def blur(frames, level, rng):
    """Defocus: Gaussian blur, sigma 1-6 px at 360 lines."""
    s = _px(frames, _level(level, (1.0, 2.0, 3.5, 6.0)))
    return np.stack([cv2.GaussianBlur(f, (0, 0), s) for f in frames])


@degradation
def noise(frames, level, rng):
    """Sensor noise: independent Gaussian noise per frame, sigma 6-40 grey levels."""
    s = _level(level, (6.0, 12.0, 24.0, 40.0))
    out = frames.astype(np.float32) + s * rng.standard_normal(size=frames.shape, dtype=np.float32)
    return np.clip(out, 0, 255).round().astype(np.uint8)


@degradation
def compression(frames, level, rng):
    """Heavy lossy coding: JPEG at quality 25 down to 2 (8x8 blocking, ringing, banding)."""
    q = int(_level(level, (25, 12, 6, 2)))
    out = []
    for f in frames:
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(f, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, q])
        out.append(cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB))
    return np.stack(out)


@degradation
def shake(frames, level, rng):
    """Amateur hand-held shake: jittery per-frame translation (3-28 px at 360 lines) and rotation."""
    amp = _px(frames, _level(level, (3.0, 8.0, 16.0, 28.0)))
    rot = _level(level, (0.3, 0.8, 1.5, 2.5))
    n, h, w = frames.shape[:3]
    jitter = rng.normal(0.0, 1.0, size=(n + 1, 3))
    jitter = 0.5 * (jitter[1:] + jitter[:-1])  # a little correlation between frames, still jerky
    out = []
    for f, (dx, dy, da) in zip(frames, jitter):
        m = cv2.getRotationMatrix2D((w / 2, h / 2), rot * da, 1.0)
        m[:, 2] += (amp * dx, amp * dy)
        out.append(cv2.warpAffine(f, m, (w, h), borderMode=cv2.BORDER_REFLECT))
    return np.stack(out)


@degradation
def frozen(frames, level, rng):
    """Stalls: in every 12-frame block the last 20-80 % of frames repeat the last fresh one."""
    frac = _level(level, (0.2, 0.4, 0.6, 0.8))
    block = 12
    keep = max(1, int(round(block * (1 - frac))))
    offset = int(rng.integers(0, block))
    idx = np.arange(len(frames))
    pos = (idx + offset) % block
    src = np.where(pos < keep, idx, idx - (pos - keep + 1))
    return frames[np.clip(src, 0, len(frames) - 1)]


@degradation
def letterbox(frames, level, rng):
    """Black bars above and below: only the centre band of 88 % down to 45 % of the height is left.

    The picture keeps the full width, as a 2.39:1 film in a 16:9 frame does, and stays sharp; what
    is lost is picture area (paper §4.3.1: processed footage lowers the score).
    """
    frac = _level(level, (0.12, 0.25, 0.4, 0.55))
    h = frames.shape[1]
    nh = max(2, int(round(h * (1 - frac))))
    top = (h - nh) // 2
    out = np.zeros_like(frames)
    out[:, top:top + nh] = frames[:, top:top + nh]  # the centre band, at full width
    return out


def _random_words(rng: np.random.Generator, n: int) -> str:
    letters = np.array(list("ABCDEFGHIJKLMNOPRSTUVWYZ"))
    return " ".join("".join(rng.choice(letters, size=int(rng.integers(3, 8)))) for _ in range(n))


@degradation
def text(frames, level, rng):
    """Burned-in text: a corner logo, then subtitles (changing each second), up to large captions over the picture."""
    n, h, w = frames.shape[:3]
    scale = min(h, w) / 360.0
    lines: list[tuple[str, tuple[int, int], float, bool]] = []  # text, origin, font scale, changes over time
    lines.append((_random_words(rng, 1), (int(w * 0.75), int(h * 0.1)), 0.8 * scale, False))  # logo
    if level >= 2:
        lines.append(("", (int(w * 0.12), int(h * 0.9)), 0.9 * scale, True))
    if level >= 3:
        lines.append(("", (int(w * 0.12), int(h * 0.8)), 0.9 * scale, True))
    if level >= 4:
        for k in range(4):
            lines.append((_random_words(rng, 3), (int(w * 0.05), int(h * (0.25 + 0.12 * k))), 1.6 * scale, False))
    every = 25  # subtitles change about once a second
    subs = [_random_words(rng, 5) for _ in range(n // every + 1)]
    out = frames.copy()
    thick = max(1, int(round(2 * scale)))
    for i in range(n):
        for k, (txt, org, fs, changes) in enumerate(lines):
            t = subs[(i // every + k) % len(subs)] if changes else txt
            cv2.putText(out[i], t, org, cv2.FONT_HERSHEY_SIMPLEX, fs, (0, 0, 0), thick + 2, cv2.LINE_AA)
            cv2.putText(out[i], t, org, cv2.FONT_HERSHEY_SIMPLEX, fs, (255, 255, 255), thick, cv2.LINE_AA)
    return out


def _other_shot(frames: np.ndarray) -> np.ndarray:
    """A second "shot" from the same source (so no other source leaks in): mirrored, zoomed, hue-rotated, reversed."""
    n, h, w = frames.shape[:3]
    ch, cw = int(h * 0.7), int(w * 0.7)
    out = []
    for f in frames[::-1]:
        crop = cv2.resize(f[h - ch:, :cw][:, ::-1], (w, h), interpolation=cv2.INTER_LINEAR)
        hsv = cv2.cvtColor(crop, cv2.COLOR_RGB2HSV)
        hsv[..., 0] = (hsv[..., 0].astype(np.int32) + 60) % 180
        out.append(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB))
    return np.stack(out)


@degradation
def transition(frames, level, rng):
    """An embedded edit: a fade through black, a hard cut, a dissolve, then several cuts (1 -> 4)."""
    n = len(frames)
    other = _other_shot(frames)
    out = frames.copy()
    mid = n // 2 + int(rng.integers(-n // 8, n // 8 + 1))
    span = max(2, n // 6)
    if level == 1:  # fade to black and back inside one shot
        a = np.abs(np.arange(n) - mid) / span
        g = np.clip(a, 0, 1)[:, None, None, None]
        return (frames.astype(np.float32) * g).round().astype(np.uint8)
    if level == 2:  # one hard cut
        out[mid:] = other[mid:]
        return out
    if level == 3:  # a dissolve into the other shot
        a = np.clip((np.arange(n) - (mid - span // 2)) / span, 0, 1)[:, None, None, None]
        return (frames.astype(np.float32) * (1 - a) + other.astype(np.float32) * a).round().astype(np.uint8)
    _level(level, (1, 2, 3, 4))
    cuts = np.sort(rng.choice(np.arange(n // 8, n - n // 8), size=3, replace=False))
    shot = np.searchsorted(cuts, np.arange(n), side="right") % 2 == 1
    out[shot] = other[shot]
    return out


@degradation
def still(frames, level, rng):
    """Too little motion: slow motion x2, x4, x8 (frames blended), then one still picture."""
    n = len(frames)
    if _level(level, (2, 4, 8, 0)) == 0:
        return np.repeat(frames[n // 2][None], n, axis=0)
    factor = _level(level, (2, 4, 8, 0))
    start = int(rng.integers(0, max(1, n - int(np.ceil(n / factor)))))
    pos = start + np.arange(n) / factor
    lo = np.clip(np.floor(pos).astype(int), 0, n - 1)
    hi = np.clip(lo + 1, 0, n - 1)
    a = (pos - np.floor(pos))[:, None, None, None].astype(np.float32)
    return (frames[lo].astype(np.float32) * (1 - a) + frames[hi].astype(np.float32) * a).round().astype(np.uint8)


def apply(frames: np.ndarray, name: str, level: int, rng: np.random.Generator) -> np.ndarray:
    """One named degradation at a severity 1-4.

    Raises:
        ValueError: an unknown name or severity.
    """
    if name not in DEGRADATIONS:
        raise ValueError(f"unknown degradation {name!r}; valid: {', '.join(DEGRADATIONS)}")
    out = DEGRADATIONS[name](frames, level, rng)
    assert out.shape == frames.shape and out.dtype == np.uint8, name
    return out
