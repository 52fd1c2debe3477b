"""Black-border (letterbox / pillarbox) fraction.

A bar is a run of rows (top, bottom) or columns (left, right) at the frame's edge that is dark,
uniform and constant in every sampled frame, and ends in a straight edge where the picture
begins. Content may be dark in one frame; a bar is dark in all of them. Footage darkened in post
(crushed blacks) has dark edges too, but with shadow texture and a ragged outline, so it is not a
letterbox (issue 16: a darkened shot read as 29 % letterbox).
"""

from __future__ import annotations

import numpy as np

from koala.metrics.registry import MetricSpec, metric

SPREAD = 8  # ours: grey levels around a row's median that still count as the bar's one value
UNIFORM = 0.6  # ours: share of a bar row's pixels within SPREAD of its median (a subtitle line in a bar covers less)
DRIFT = 6  # ours: grey levels a bar row's median may change over the clip
EDGE_ROWS = 3  # ours: the picture must start within this many px of the bar's end ...
EDGE_SHARE = 0.5  # ours: ... along at least this share of the edge (a straight edge)
MAX_BAR = 0.4  # ours: a bar covers at most this share of the height (width); a 9:16 video pillarboxed in 16:9 has 0.34
MAX_LONE_BAR = 0.1  # ours: a bar without one on the opposite edge covers at most this share (dark furniture at the
# bottom of a shot, under a straight table edge, is not a letterbox; bars come in pairs)


def edge_run(dark: np.ndarray) -> int:
    """Length of the run of True values at the start of ``dark``."""
    off = np.flatnonzero(~dark)
    return int(off[0]) if len(off) else len(dark)


def bar_lines(gray: np.ndarray, level: float) -> np.ndarray:
    """(H,) rows of gray frames (N, H, W) that look like a bar: dark, uniform and constant over time.

    Dark: the row's median stays at or under ``level`` in every frame. Uniform: in every frame,
    most of its pixels sit near that median (a dark scene has texture in its shadows; a bar is
    one flat value plus codec noise; a subtitle line covers a small part of a row). Constant: the
    median moves by at most DRIFT over the clip (a fade or a dark shot brightening is not a bar).
    """
    med = np.median(gray, axis=2)  # (N, H)
    close = (np.abs(gray.astype(np.int16) - med[..., None].astype(np.int16)) <= SPREAD).mean(axis=2)  # (N, H)
    return (med.max(axis=0) <= level) & (close.min(axis=0) >= UNIFORM) & (med.max(axis=0) - med.min(axis=0) <= DRIFT)


def straight_edge(gray: np.ndarray, size: int, level: float) -> bool:
    """Whether the picture starts right after a top bar of ``size`` rows along most of the width.

    On the brightest value each pixel reaches over the clip (N, H, W -> H, W): a letterbox ends in
    one straight line, so most columns turn bright within EDGE_ROWS of it; crushed shadows end
    along the scene's own ragged outline.
    """
    if size <= 0 or size >= gray.shape[1]:
        return False
    peak = gray.max(axis=0)[size : size + EDGE_ROWS]  # (EDGE_ROWS, W)
    return float((peak > level).any(axis=0).mean()) >= EDGE_SHARE


def bar_sizes(gray: np.ndarray, level: float) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) bar thickness in px for gray frames (N, H, W).

    A bar is a run of :func:`bar_lines` at the frame's edge, at most MAX_BAR of it, that ends in a
    :func:`straight_edge` (a dark shot with one bright corner is not a 90 % bar); a bar with none
    on the opposite edge must be thin (MAX_LONE_BAR).
    When every row (or column) is bar-like the clip is dark, not letterboxed: that axis has no bars.
    """
    out = []
    for frames in (gray, gray.transpose(0, 2, 1)):  # rows (top, bottom), then columns (left, right)
        size = frames.shape[1]
        pair = []
        for flip in (False, True):
            f = frames[:, ::-1] if flip else frames
            n = bar_run(f, level, int(MAX_BAR * size) + 1)
            pair.append(n if n <= MAX_BAR * size and straight_edge(f, n, level) else 0)
        if min(pair) == 0 and max(pair) > MAX_LONE_BAR * size:
            pair = [0, 0]
        out += pair
    return tuple(out)


def bar_run(gray: np.ndarray, level: float, limit: int) -> int:
    """``edge_run(bar_lines(gray, level))`` counted no further than ``limit`` rows.

    Rows are tested from the top edge in growing chunks, so a frame without a bar costs a few rows,
    not the whole frame (a row's test reads only that row). A run of ``limit`` or more comes back as
    ``limit``: :func:`bar_sizes` then ignores it, as it does a run over every row (a dark clip).
    """
    done, chunk = 0, 4
    while done < min(limit, gray.shape[1]):
        stop = min(limit, gray.shape[1], done + chunk)
        n = edge_run(bar_lines(gray[:, done:stop], level))
        if done + n < stop:
            return done + n
        done, chunk = stop, 2 * chunk
    return done


def border_fraction_of(gray: np.ndarray, level: float) -> float:
    """Share of the frame area covered by bars (1 - content area / frame area)."""
    h, w = gray.shape[1:3]
    top, bottom, left, right = bar_sizes(gray, level)
    content = max(0, h - top - bottom) * max(0, w - left - right)
    return float(1.0 - content / (h * w))


@metric(MetricSpec(
    name="border_fraction", unit="fraction of frame", lo=0.0, hi=1.0, direction="lower_better", version=3,
    description="area of letterbox/pillarbox bars: edge rows/columns dark, uniform and constant in every sampled frame, ending in a straight edge",
    reference="ours; docs/DESIGN.md sub-metrics (letterbox)",
))
def border_fraction(clip, cfg) -> float:
    return border_fraction_of(clip.image_gray, cfg.border_level)
