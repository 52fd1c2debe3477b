"""Plateaus of picture change: exact extents of compositing transitions, and slides the window network misses.

An edit's wipe, slide, dissolve or fade changes the picture by about the same amount at every step
of it, and the change starts and stops at once: the raw change between consecutive frames
(:func:`koala.split.learned.picture_change`) forms a flat plateau, several times the shot's own
level, whose first step leaves the last pure frame and whose last step reaches the first pure frame
of the next shot. Camera motion rises and falls over a few frames (its plateau is ragged or has soft
edges); film flicker changes the picture in isolated steps.

The window network (:mod:`koala.split.learned`) compares frames up to 31 apart, so it locates a
transition only to within a few frames, and it reads a slide, whose whole picture moves uniformly,
much like a pan: some slides it misses, some it finds in two halves. A plateau fixes three things:

- a detected gradual span is trimmed to a plateau's sharp edge inside it (keeping ``pad`` frames
  unless the edge is very sharp);
- a detected span (or a hard cut found at one end of a slide) overlapping a flat, sharp-edged
  plateau grows to cover it;
- a flat, sharp-edged plateau no detection touches is a transition of its own.

Spans from the last two still pass the detector's motion-compensated confirmation
(:mod:`koala.split.confirm`), which drops a plateau that is only the camera moving.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import percentile_filter

Span = tuple[int, int]
LEVEL_CONTEXT = 32  # steps on each side whose low quantile is the shot's own level of change
LEVEL_PERCENTILE = 25  # that quantile (a 30-step plateau inside 65 steps leaves it at the shots' level)
ACTIVE_FLOOR = 0.03  # a step must also change by this much (0-1 scale) to be part of a plateau
MIN_STEPS = 5  # shortest plateau considered at all (steps)
SIDE = 8  # steps on each side whose median is the level an edge is measured against
EPS = 0.005  # added to that level, so a frozen picture's zero change does not make every edge infinitely sharp
EDGE_REACH = 4  # a detected span's end moves to a plateau's edge only if it lies at most this many frames inside


@dataclass(frozen=True)
class Plateau:
    """Steps ``first .. last - 1`` change the picture (step i: frame i to i + 1); the span is (first, last)."""

    first: int
    last: int
    edge_in: float  # first step's change over the median of the SIDE steps before it (+ EPS)
    edge_out: float  # last step's change over the median of the SIDE steps after it (+ EPS)
    flatness: float  # 10th percentile of the plateau's changes over their median (1: perfectly flat)

    @property
    def span(self) -> Span:
        return (self.first, self.last)


def plateaus(change: np.ndarray, *, ratio: float) -> list[Plateau]:
    """Runs of steps changing more than ``ratio`` times the shot's level (plus :data:`ACTIVE_FLOOR`).

    Args:
        change: (n - 1,) change between consecutive frames; row i compares frames i and i + 1.
        ratio: how many times the running low quantile of the change a plateau step exceeds.

    Returns:
        Plateaus of at least :data:`MIN_STEPS` steps (one-step gaps bridged) whose median change is
        at least 2.5 times the level on both sides, with their edge sharpness and flatness.
    """
    c = np.asarray(change, np.float64)
    if len(c) < MIN_STEPS:
        return []
    level = percentile_filter(c, LEVEL_PERCENTILE, size=2 * LEVEL_CONTEXT + 1, mode="nearest")
    idx = np.flatnonzero(c > ratio * level + ACTIVE_FLOOR)
    if not len(idx):
        return []
    breaks = np.flatnonzero(np.diff(idx) > 2)  # a gap of one quiet step inside a plateau is bridged
    out = []
    for s, e in zip(np.r_[idx[0], idx[breaks + 1]], np.r_[idx[breaks], idx[-1]]):
        s, e = int(s), int(e)
        if e - s + 1 < MIN_STEPS:
            continue
        inner = c[s : e + 1]
        before, after = c[max(0, s - SIDE) : s], c[e + 1 : e + 1 + SIDE]
        lb = float(np.median(before)) if len(before) else 0.0
        la = float(np.median(after)) if len(after) else 0.0
        med = float(np.median(inner))
        if med < 2.5 * max(lb, la) + EPS:
            continue
        out.append(Plateau(first=s, last=e + 1, edge_in=float(c[s] / (lb + EPS)), edge_out=float(c[e] / (la + EPS)),
                           flatness=float(np.percentile(inner, 10) / med) if med > 0 else 0.0))
    return out


def _is_transition(p: Plateau, *, edge: float, flat: float, min_len: int) -> bool:
    return p.last - p.first >= min_len and p.flatness >= flat and p.edge_in >= edge and p.edge_out >= edge


def refine_spans(spans: list[Span], change: np.ndarray, *, ratio: float, edge: float, flat: float, min_len: int,
                 pad: int, exact: float = float("inf"), trim_edge: float | None = None) -> list[Span]:
    """Detected spans trimmed to, grown to, and completed by the plateaus of picture change.

    Args:
        spans: detected spans (first, last), sorted; (k - 1, k) is a hard cut.
        change: (n - 1,) change between consecutive frames (:func:`koala.split.learned.picture_change`).
        ratio: plateau step threshold over the shot's level (:func:`plateaus`).
        edge: a plateau whose edges are both this sharp (change over the level beside it) can be a whole transition.
        flat: a plateau at least this flat, ``min_len`` steps long and sharp at both ends is a transition.
        pad: frames kept removed beyond a plateau's edge when a span is trimmed to it ...
        trim_edge: a span's end moves in only to an edge at least this sharp (default ``edge``); a
            dissolve's soft end moved in leaves its last faint frame in a clip ...
        exact: ... unless the edge is at least this sharp: then the span ends right at it (a fade's
            faint last frame, or a wipe's first thin strip, changes the picture little, so a soft edge
            may hide one more mixed frame; a very sharp one does not).

    Returns:
        The spans, sorted: each gradual span's end moved in to a sharp plateau edge at most
        :data:`EDGE_REACH` frames inside it (less ``pad``); each span touching a transition-like
        plateau grown over it (spans that then overlap are one); each transition-like plateau that
        no span touches added.
    """
    found = plateaus(change, ratio=ratio)
    trim = edge if trim_edge is None else trim_edge
    whole = [p for p in found if _is_transition(p, edge=edge, flat=flat, min_len=min_len)]
    used: set[int] = set()
    out: list[list] = []  # [first, last, grown]
    for a, b in spans:
        hit = [k for k, p in enumerate(whole) if p.first <= b and p.last >= a]
        used.update(hit)
        if hit:
            a = min([a] + [whole[k].first for k in hit])
            b = max([b] + [whole[k].last for k in hit])
        if b - a > 1:
            for p in found:
                if p.first <= b and p.last >= a:
                    pin = 0 if p.edge_in >= exact else pad
                    pout = 0 if p.edge_out >= exact else pad
                    if p.edge_in >= trim and 0 < p.first - pin - a <= EDGE_REACH:
                        a = p.first - pin
                    if p.edge_out >= trim and 0 < b - p.last - pout <= EDGE_REACH:
                        b = p.last + pout
        if hit and out and out[-1][2] and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
            continue
        out.append([a, b, bool(hit)])
    result = {(a, b) for a, b, _ in out} | {p.span for k, p in enumerate(whole) if k not in used}
    return sorted(result)
