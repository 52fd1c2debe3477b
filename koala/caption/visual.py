"""Visual language from pixel statistics: lighting, contrast, colour palette, saturation, bars, text.

Bars and overlay text come from the score stage's own measures (koala.metrics.layout,
koala.metrics.text), so the caption and the metrics table never disagree.

Each measure is a small function of uint8 RGB frames (N, H, W, 3) at analysis size. Colour names
come from a short table of basic colour terms matched in CIELAB (written here: no installed library
names colours); the palette itself is k-means (OpenCV) over pixels of the sampled frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from koala.config import MeasuredCaptionConfig
from koala.metrics.layout import bar_sizes
from koala.motion import to_gray

# Basic colour terms and a representative sRGB value each (ours, after the CSS/X11 names).
COLOUR_NAMES: dict[str, tuple[int, int, int]] = {
    "black": (10, 10, 10), "dark grey": (70, 70, 70), "grey": (128, 128, 128), "light grey": (190, 190, 190),
    "white": (245, 245, 245), "red": (200, 30, 30), "dark red": (120, 20, 20), "orange": (235, 130, 30),
    "brown": (120, 75, 35), "beige": (215, 195, 160), "yellow": (235, 215, 40), "olive": (120, 120, 40),
    "green": (50, 160, 50), "dark green": (25, 80, 30), "teal": (20, 130, 130), "cyan": (60, 200, 220),
    "light blue": (140, 180, 230), "blue": (40, 80, 200), "navy": (20, 30, 90), "purple": (120, 50, 150),
    "pink": (235, 140, 180), "magenta": (210, 40, 160),
}


def _lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB (..., 3) to float CIELAB (L 0-100)."""
    arr = np.asarray(rgb, np.float32).reshape(-1, 1, 3) / 255.0
    return cv2.cvtColor(arr, cv2.COLOR_RGB2Lab).reshape(-1, 3)


_NAMES = list(COLOUR_NAMES)
_NAME_LAB = _lab(np.array([COLOUR_NAMES[n] for n in _NAMES], np.uint8))


def colour_name(rgb) -> str:
    """The nearest basic colour term to one RGB colour (CIELAB distance)."""
    d = np.linalg.norm(_NAME_LAB - _lab(np.asarray(rgb, np.uint8))[0], axis=1)
    return _NAMES[int(np.argmin(d))]


@dataclass(frozen=True)
class VisualStats:
    luma: float  # mean luma 0-255
    contrast: float  # luma standard deviation
    saturation: float  # mean HSV saturation 0-1
    warmth: float  # mean CIELAB b* (+ yellow/warm, - blue/cool)
    palette: tuple[tuple[str, float], ...]  # (colour name, pixel share), largest first
    bars: tuple[float, float, float, float]  # top, bottom, left, right bar share of the frame
    text_area: float  # share of the frame covered by confirmed overlay text (koala.metrics.text); NaN: not measured


def palette(frames: np.ndarray, *, k: int = 5, samples: int = 6000, seed: int = 0) -> list[tuple[str, float]]:
    """Named colours and their pixel shares: k-means clusters named and merged by name."""
    px = frames.reshape(-1, 3)
    rng = np.random.default_rng(seed)
    px = px[rng.choice(len(px), size=min(samples, len(px)), replace=False)]
    data = _lab(px).astype(np.float32)
    k = max(1, min(k, len(np.unique(px, axis=0))))
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    cv2.setRNGSeed(seed)
    _, labels, _ = cv2.kmeans(data, k, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    labels = labels.ravel()
    shares: dict[str, float] = {}
    for c in range(k):
        members = px[labels == c]
        if len(members):
            name = colour_name(np.median(members, axis=0).astype(np.uint8))
            shares[name] = shares.get(name, 0.0) + len(members) / len(px)
    return sorted(shares.items(), key=lambda kv: -kv[1])


def border_bars(frames: np.ndarray, level: int) -> tuple[float, float, float, float]:
    """Top, bottom, left, right shares of the frame covered by letterbox/pillarbox bars.

    The score stage's test (koala.metrics.layout.bar_sizes): dark, uniform and constant edge rows
    ending in a straight edge, so crushed shadows are not bars.
    """
    return _bar_shares(to_gray(frames), level)


def _bar_shares(gray: np.ndarray, level: int) -> tuple[float, float, float, float]:
    """:func:`border_bars` of frames already in luma (N, H, W) uint8."""
    h, w = gray.shape[1:3]
    top, bottom, left, right = bar_sizes(gray, level)
    return (top / h, bottom / h, left / w, right / w)


def visual_stats(frames: np.ndarray, cfg: MeasuredCaptionConfig, *, text_area: float) -> VisualStats:
    """All visual measures of a clip's sampled frames (N, H, W, 3); ``text_area`` is the overlay text measured apart."""
    gray = to_gray(frames)  # (N, H, W) uint8, shared by the exposure measures and the bars
    luma = gray.astype(np.float32)
    hsv = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2HSV) for f in frames])
    sat = hsv[..., 1].astype(np.float32) / 255.0
    bars = _bar_shares(gray, cfg.border_level)
    h, w = frames.shape[1:3]
    top, bottom = int(round(bars[0] * h)), h - int(round(bars[1] * h))
    left, right = int(round(bars[2] * w)), w - int(round(bars[3] * w))
    inner = frames[:, top:bottom, left:right]  # measure the picture, not the bars
    inner_l, inner_s = luma[:, top:bottom, left:right], sat[:, top:bottom, left:right]
    lab = _lab(inner[:: max(1, len(inner) // 4), ::2, ::2])
    return VisualStats(
        luma=float(inner_l.mean()),
        contrast=float(inner_l.std()),
        saturation=float(inner_s.mean()),
        warmth=float(lab[:, 2].mean()),
        palette=tuple(palette(inner[:: max(1, len(inner) // 6)])),
        bars=bars,
        text_area=text_area,
    )


def describe(v: VisualStats, cfg: MeasuredCaptionConfig) -> str:
    """Visual language in words: lighting and contrast, palette and saturation, bars, text."""
    light = "dark, low-key" if v.luma < cfg.dark_luma else "bright, high-key" if v.luma > cfg.bright_luma else "moderately bright"
    contrast = "low" if v.contrast < cfg.low_contrast else "high" if v.contrast > cfg.high_contrast else "moderate"
    sentences = [f"The image is {light}, with {contrast} contrast."]
    names = [n for n, share in v.palette if share >= cfg.palette_min_share][: cfg.palette_colours]
    if v.saturation < cfg.mono_saturation:
        sentences.append("It is nearly black and white" + (f", in shades of {_and(names)}." if names else "."))
    else:
        sat = "muted" if v.saturation < cfg.muted_saturation else "vivid, saturated" if v.saturation > cfg.vivid_saturation else "moderately saturated"
        tone = " warm" if v.warmth > 12 else " cool" if v.warmth < -6 else ""
        if names:
            sentences.append(f"The palette is {sat}{tone}, dominated by {_and(names)}.")
        else:
            sentences.append(f"The colours are {sat}{tone}.")
    top, bottom, left, right = v.bars
    if top + bottom >= cfg.border_min and min(top, bottom) > 0:
        sentences.append("Black letterbox bars run along the top and bottom of the frame.")
    elif left + right >= cfg.border_min and min(left, right) > 0:
        sentences.append("Black pillarbox bars run down the left and right of the frame.")
    elif max(v.bars) >= cfg.border_min:
        side = ["top", "bottom", "left", "right"][int(np.argmax(v.bars))]
        sentences.append(f"A black band covers the {side} edge of the frame.")
    if np.isfinite(v.text_area) and v.text_area >= cfg.text_min_area:
        sentences.append(f"On-screen text covers about {max(1, round(100 * v.text_area))}% of the frame.")
    return " ".join(sentences)


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
