"""Exposure and colour sub-metrics of the sampled frames: brightness, contrast, colourfulness, saturation.

The static-quality criterion of the annotators asks for "vivid saturated colours" (docs/koala36m-paper.md §2.4);
brightness and contrast catch under/over-exposed and flat footage.
"""

from __future__ import annotations

import cv2
import numpy as np

from koala.metrics.registry import MetricSpec, metric


def hasler_susstrunk(rgb: np.ndarray) -> float:
    """Colourfulness M of Hasler and Süsstrunk (2003) for RGB uint8 frames (..., 3).

    M = sqrt(std(rg)^2 + std(yb)^2) + 0.3 * sqrt(mean(rg)^2 + mean(yb)^2), rg = R - G,
    yb = (R + G) / 2 - B; about 0 for grey, ~15 "slightly", ~59 "highly", >109 "extremely colourful".
    """
    x = rgb.reshape(-1, 3).astype(np.float32)
    rg = x[:, 0] - x[:, 1]
    yb = 0.5 * (x[:, 0] + x[:, 1]) - x[:, 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def mean_saturation(rgb: np.ndarray) -> float:
    """Mean HSV saturation (0-1) of RGB uint8 frames (N, H, W, 3)."""
    return float(np.mean([cv2.cvtColor(f, cv2.COLOR_RGB2HSV)[..., 1].mean() for f in rgb]) / 255.0)


@metric(MetricSpec(
    name="brightness", unit="mean luma / 255", lo=0.0, hi=1.0, direction="neutral", version=1,
    description="mean BT.601 luma of the sampled frames",
    reference="ours (exposure); docs/koala36m-paper.md §2.4 static quality",
))
def brightness(clip, cfg) -> float:
    return float(clip.image_gray.mean() / 255.0)


@metric(MetricSpec(
    name="contrast", unit="luma std / 255", lo=0.0, hi=0.5, direction="higher_better", version=1,
    description="RMS contrast: standard deviation of luma within each sampled frame, averaged",
    reference="ours (RMS contrast, Peli 1990)",
))
def contrast(clip, cfg) -> float:
    g = clip.image_gray.astype(np.float32)
    return float(g.reshape(len(g), -1).std(axis=1).mean() / 255.0)


@metric(MetricSpec(
    name="colorfulness", unit="Hasler-Süsstrunk M", lo=0.0, hi=180.0, direction="higher_better", version=1,
    description="Hasler-Süsstrunk colourfulness of the sampled frames, averaged",
    reference="Hasler & Süsstrunk 2003; docs/koala36m-paper.md §2.4 'vivid saturated colours'",
))
def colorfulness(clip, cfg) -> float:
    return float(np.mean([hasler_susstrunk(f) for f in clip.images]))


@metric(MetricSpec(
    name="saturation", unit="mean HSV S (0-1)", lo=0.0, hi=1.0, direction="higher_better", version=1,
    description="mean HSV saturation of the sampled frames",
    reference="docs/koala36m-paper.md §2.4 'vivid saturated colours'",
))
def saturation(clip, cfg) -> float:
    return mean_saturation(clip.images)
