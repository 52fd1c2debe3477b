"""Detected transitions -> clips: every run of frames between transitions, long shots split evenly.

A detected span (first, last) runs from the last frame of the outgoing shot to the first frame of
the incoming one: a hard cut between frames k-1 and k is (k - 1, k), so the clip before it ends
at k (exclusive) and the next starts at k, and a cut removes no frame. A gradual span's frames
strictly between first and last are mixed and are removed, plus ``margin`` frames on each side
(a detection may be a frame short of a slow wipe's ends); a cut gets no margin.
Every run is kept, however short (a music video's half-second shots are real shots): the minimum
length is the filter's rule (``filter.min_clip_sec``, reason "shorter than 1.0 s"), so the clips
table still records every shot. Shots longer than the maximum are split into equal parts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from koala.io.tables import CLIPS

Span = tuple[int, int]


def is_cut(span: Span) -> bool:
    """A hard cut (k - 1, k): two pure frames, nothing between them."""
    return span[1] - span[0] == 1


def pieces(spans: Sequence[Span], num_frames: int, *, margin: int = 0) -> list[Span]:
    """The [start, end) runs of frames outside every transition (end exclusive).

    Args:
        spans: detected transitions (first, last); (k - 1, k) is a hard cut.
        num_frames: frames in the video.
        margin: frames dropped on each side of a gradual span (never around a cut).
    """
    out, start = [], 0
    for first, last in sorted(spans):
        if is_cut((first, last)):
            end, nxt = last, last
        else:
            end, nxt = first + 1 - margin, last + margin
        end = min(end, num_frames)
        if end > start:
            out.append((start, end))
        start = max(start, nxt)
    if num_frames > start:
        out.append((start, num_frames))
    return out


def split_long(runs: Sequence[Span], *, max_frames: int) -> list[Span]:
    """Runs longer than ``max_frames`` split into equal parts no longer than it (0: no limit); none dropped."""
    out = []
    for s, e in runs:
        n = e - s
        if n <= 0:
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
