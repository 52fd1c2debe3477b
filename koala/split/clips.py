"""Detected transitions -> clips: frames between transitions, with minimum and maximum length.

A detected span (first, last) runs from the last frame of the outgoing shot to the first frame
of the incoming one (a hard cut is (k - 1, k)), so the clip before it ends after ``first`` and
the next starts at ``last``; ``margin`` more frames are dropped on each side, in case a detection
is a frame or two off. Fragments shorter than the minimum are dropped, not merged: merging
would put the transition between them back inside a clip. Shots longer than the maximum are
split into equal parts no longer than it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from koala.io.tables import CLIPS

Span = tuple[int, int]


def pieces(spans: Sequence[Span], num_frames: int, *, margin: int = 0, widen: float = 0.0) -> list[Span]:
    """The [start, end) runs of frames outside every span (end exclusive).

    Args:
        spans: detected transitions (first, last).
        num_frames: frames in the video.
        margin: frames dropped on each side of every span.
        widen: gradual spans (longer than a cut) grow by this share of their length on each
            side: a wipe or slide barely changes the picture in its first and last frames, so
            detections tend to cover only its middle.
    """
    out, start = [], 0
    for first, last in sorted(spans):
        if last - first > 1 and widen > 0:
            pad = math.ceil(widen * (last - first))
            first, last = first - pad, last + pad
        end = first + 1 - margin
        if end > start:
            out.append((start, end))
        start = max(start, last + margin)
    if num_frames > start:
        out.append((start, num_frames))
    return out


def limit_length(runs: Sequence[Span], *, min_frames: int, max_frames: int) -> list[Span]:
    """Drop runs shorter than ``min_frames``; split runs longer than ``max_frames`` evenly."""
    out = []
    for s, e in runs:
        n = e - s
        if n < max(1, min_frames):
            continue
        parts = max(1, math.ceil(n / max_frames)) if max_frames > 0 else 1
        bounds = [s + round(k * n / parts) for k in range(parts + 1)]
        out += list(zip(bounds[:-1], bounds[1:]))
    return out


def clips_table(runs: Sequence[Span], *, video_id: str, video: str, fps: float, method: str) -> pd.DataFrame:
    """Rows of the CLIPS table for one video."""
    rows = [
        {"clip_id": f"{video_id}_{k:04d}", "video_id": video_id, "clip_index": k, "start_frame": int(s), "end_frame": int(e),
         "start_sec": s / fps, "end_sec": e / fps, "fps": float(fps), "method": method, "video": str(video)}
        for k, (s, e) in enumerate(runs)
    ]
    return pd.DataFrame(rows, columns=CLIPS.names)
