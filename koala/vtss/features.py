"""Temporal features of the label branch that the sub-metrics lack (issue 17; not in the paper).

Measured on the proxy set (koala.vtss.proxy, 13 leave-source-out folds), the default sub-metrics
model let most embedded edits through: a hard cut, a dissolve or three cuts inside a clip were
rejected at 2.5 for 0-20 % of the held-out clips, because no sub-metric looks for an edit (flicker
sees brightness that jumps up and down, ``frozen_fraction`` repeated pictures in a row, not a picture
that jumps once). Two features close that gap from the frames the sub-metrics already sample,
with the project's own code:

- ``cut_change``: the largest change of colour histogram between consecutive sampled frames,
  1 - correlation (:func:`~koala.split.css.hist_correlation`, the splitter's measure, on 32-bin
  histograms per channel of the frames shrunk to 64 x 64; both features together measured 28-37 ms of CPU
  per 5 s 720p clip, where the splitter's own :func:`koala.split.css.frame_features`, which also finds edges,
  cost about 0.13 s per 40 sampled 360p frames): near 0 inside a shot, up to 1 (and more) across a cut.
- ``change_unevenness``: how unequal the picture changes between consecutive samples are, the
  coefficient of variation (std / (mean + 0.5 grey levels)) of :func:`koala.metrics.temporal.pair_differences`:
  steady motion (or none) gives a low value; stalls (runs of repeated frames between jumps) and
  cuts give a high one.

They are inputs of the VTSS label branch only (:data:`FEATURE_NAMES`), not columns of metrics.parquet.
"""

from __future__ import annotations

import cv2
import numpy as np

from koala.metrics.registry import METRIC_NAMES
from koala.metrics.temporal import pair_differences
from koala.split.css import hist_correlation

TEMPORAL_NAMES = ("cut_change", "change_unevenness")
FEATURE_NAMES = METRIC_NAMES + TEMPORAL_NAMES  # the label branch's inputs, in this order
UNEVEN_FLOOR = 0.5  # grey levels added to the mean change: a still clip's tiny changes are not "uneven"
HIST_SIZE = 64  # ours: frames are shrunk to this square before their histograms (the splitter's 256 costs 16x the pixels)
HIST_BINS = 32  # ours: bins per channel over 0-255


def colour_histograms(frames: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, 3 * HIST_BINS) float64: per-channel histograms of each frame shrunk to HIST_SIZE."""
    out = np.empty((len(frames), 3 * HIST_BINS), np.float64)
    for k, frame in enumerate(frames):
        small = cv2.resize(np.ascontiguousarray(frame), (HIST_SIZE, HIST_SIZE), interpolation=cv2.INTER_AREA)
        for c in range(3):
            out[k, c * HIST_BINS:(c + 1) * HIST_BINS] = cv2.calcHist([small], [c], None, [HIST_BINS], [0, 256]).reshape(-1)
    return out


def cut_change(frames: np.ndarray) -> float:
    """Largest 1 - histogram correlation between consecutive RGB frames (N, H, W, 3); NaN for one frame."""
    if len(frames) < 2:
        return float("nan")
    hist = colour_histograms(frames)
    return float(np.max(1.0 - hist_correlation(hist[:-1], hist[1:])))


def change_unevenness(small: np.ndarray) -> float:
    """Coefficient of variation of the grey-level change between consecutive frames (N, h, w); NaN under 3 frames."""
    if len(small) < 3:
        return float("nan")
    d = pair_differences(small)
    return float(d.std() / (d.mean() + UNEVEN_FLOOR))


def temporal_features(frames: np.ndarray, small: np.ndarray) -> tuple[np.ndarray, dict[str, str]]:
    """:data:`TEMPORAL_NAMES` of a clip's sampled frames: RGB (N, H, W, 3) and their grey analysis copies (N, h, w).

    Returns:
        The values in TEMPORAL_NAMES order (NaN where too few frames) and the reason for each NaN.
    """
    values = np.array([cut_change(frames), change_unevenness(small)], np.float64)
    need = {"cut_change": 2, "change_unevenness": 3}
    reasons = {n: f"{len(frames)} sampled frame(s): {n} needs at least {need[n]}"
               for n, v in zip(TEMPORAL_NAMES, values) if not np.isfinite(v)}
    return values, reasons
