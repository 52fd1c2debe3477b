"""Black-border (letterbox / pillarbox) fraction.

A bar is a run of rows (top, bottom) or columns (left, right) at the frame's edge that stays dark
in every sampled frame. Content may be dark in one frame; a bar is dark in all of them.
"""

from __future__ import annotations

import numpy as np

from koala.metrics.registry import MetricSpec, metric

def edge_run(dark: np.ndarray) -> int:
    """Length of the run of True values at the start of ``dark``."""
    off = np.flatnonzero(~dark)
    return int(off[0]) if len(off) else len(dark)


def bar_sizes(gray: np.ndarray, level: float) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) bar thickness in px for gray frames (N, H, W).

    When every row (or column) is dark the clip is dark, not letterboxed: that axis has no bars.
    """
    # The median, not the mean, of each row (column): subtitles and logos are often drawn inside
    # the bars, and a line of text covers less than half of a row.
    rows = np.median(gray, axis=2).max(axis=0) <= level  # (H,)
    cols = np.median(gray, axis=1).max(axis=0) <= level  # (W,)
    top, bottom = (0, 0) if rows.all() else (edge_run(rows), edge_run(rows[::-1]))
    left, right = (0, 0) if cols.all() else (edge_run(cols), edge_run(cols[::-1]))
    return top, bottom, left, right


def border_fraction_of(gray: np.ndarray, level: float) -> float:
    """Share of the frame area covered by bars (1 - content area / frame area)."""
    h, w = gray.shape[1:3]
    top, bottom, left, right = bar_sizes(gray, level)
    content = max(0, h - top - bottom) * max(0, w - left - right)
    return float(1.0 - content / (h * w))


@metric(MetricSpec(
    name="border_fraction", unit="fraction of frame", lo=0.0, hi=1.0, direction="lower_better", version=2,
    description="area of black letterbox/pillarbox bars that stay dark in every sampled frame",
    reference="ours; DESIGN.md sub-metrics (letterbox)",
))
def border_fraction(clip, cfg) -> float:
    return border_fraction_of(clip.image_gray, cfg.border_level)
