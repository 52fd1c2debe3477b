"""Motion-compensated confirmation of detected transitions: a transition changes the content, motion does not.

The learned detector fires on some real shots without any transition: the brightness flicker and
film slips of old film look like hard cuts (the grey level jumps between two frames of one
picture), and a handheld camera or fast subject motion looks like a wipe or a slide. Both leave the
picture ITSELF in place: warp the frame after the candidate onto the frame before it with dense
optical flow (OpenCV's DIS flow over small grey thumbnails) and the two agree. Across a real cut,
or across a gradual transition (compared between the pure frames on either side of it), no warp
makes two different shots agree.

So a candidate is dropped when the flow-warped normalised cross-correlation of the frames across
it reaches a ceiling: ``cut_max`` for a hard cut (k - 1, k), whose two frames are compared through
one flow, and ``gradual_max`` for a gradual span (first, last), whose outside frames ``first - 1``
and ``last + 1`` are compared through the flows of every step between (a shaking camera moves too
far over a second for one flow to follow). The thumbnails are the detector's own 32x32 grey descriptors (koala.split.features), kept as uint8
while the video streams: 1 KiB a frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

Span = tuple[int, int]
FADE_CONTRAST = 0.1  # a gradual span whose frames lose all but this share of the outside frames' contrast is a fade (not tracked)
_FLAT = 2.0  # grey levels: a thumbnail flatter than this (black, white) has no structure to agree on


def _ncc(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    if a.std() < _FLAT or b.std() < _FLAT:  # a blank frame agrees with nothing: never confirms "same shot"
        return -1.0
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


class FlowAgreement:
    """How well frame j, warped onto frame i by dense DIS optical flow, matches frame i (NCC, -1..1)."""

    def __init__(self) -> None:
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self._grid: tuple[np.ndarray, np.ndarray] | None = None

    def __call__(self, a: np.ndarray, b: np.ndarray) -> float:
        """``a``, ``b``: (H, W) uint8 grey thumbnails of the same size."""
        a = np.ascontiguousarray(a, np.uint8)
        b = np.ascontiguousarray(b, np.uint8)
        h, w = a.shape
        if self._grid is None or self._grid[0].shape != (h, w):
            self._grid = tuple(np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)))
        flow = self._dis.calc(a, b, None)
        gx, gy = self._grid
        warped = cv2.remap(b.astype(np.float32), gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return _ncc(a.astype(np.float32), warped)


    def tracked(self, grey: np.ndarray, a: int, b: int, *, min_valid: float = 0.3) -> float:
        """Frame ``a``'s pixels tracked to frame ``b`` through the flow of every step between (NCC, -1..1; NaN: lost).

        One flow across many frames of a fast pan or a shaking camera moves too far for the flow
        to find; the steps between neighbours are small, so their flows, chained, follow the
        picture. The NCC is taken where the tracked pixels are still inside frame ``b`` (NaN when
        under ``min_valid`` of them are).
        """
        h, w = grey[a].shape
        if self._grid is None or self._grid[0].shape != (h, w):
            self._grid = tuple(np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)))
        mx, my = (g.copy() for g in self._grid)
        for k in range(a, b):
            flow = self._dis.calc(np.ascontiguousarray(grey[k], np.uint8), np.ascontiguousarray(grey[k + 1], np.uint8), None)
            fx = cv2.remap(flow[..., 0], mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            fy = cv2.remap(flow[..., 1], mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            mx, my = mx + fx, my + fy
        inside = (mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)
        if inside.mean() < min_valid:
            return float("nan")
        warped = cv2.remap(grey[b].astype(np.float32), mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return _ncc(grey[a].astype(np.float32)[inside], warped[inside])


def span_agreement(grey: np.ndarray, span: Span, *, agree: FlowAgreement | None = None) -> float:
    """How well the pure frames on either side of ``span`` agree once motion is taken out (NaN: cannot tell).

    A hard cut (k - 1, k) warps frame k onto frame k - 1 with one flow. A gradual span (first,
    last) tracks frame ``first - 1`` to frame ``last + 1`` through every frame between
    (:meth:`FlowAgreement.tracked`): a camera that moved far over the span is followed step by
    step, while across a dissolve, fade, wipe or slide the tracked picture of the first shot does
    not turn into the second. (One direct flow across a gradual span is not used: on small, dark
    pictures, such as a 160x90 music video, it warps two different shots into agreement.)

    Args:
        grey: (n, H, W) uint8 grey thumbnails of every frame.
    """
    agree = agree or FlowAgreement()
    a, b = span
    n = len(grey)
    if not (0 <= a and b < n):
        return float("nan")
    if b - a == 1:
        return agree(grey[a], grey[b])
    first, last = max(0, a - 1), min(n - 1, b + 1)
    ends = min(float(grey[first].std()), float(grey[last].std()))
    inner = min(float(grey[k].std()) for k in range(first + 1, last))
    if inner < FADE_CONTRAST * ends:  # the picture faded out between: nothing to track through, and no camera does that
        return float("nan")
    return agree.tracked(grey, first, last)


def confirm_spans(spans: Sequence[Span], grey: np.ndarray, *, cut_max: float, gradual_max: float) -> list[Span]:
    """The spans whose frames across them do NOT agree after motion compensation (the rest are motion, not transitions).

    Args:
        spans: detected transitions (first, last); (k - 1, k) is a hard cut.
        grey: (n, H, W) uint8 grey thumbnails of every frame of the video.
        cut_max: a hard cut whose two frames agree at least this well is dropped (above 1: off).
        gradual_max: a gradual span whose outside frames, tracked through it, agree at least this well is dropped (above 1: off).
    """
    agree = FlowAgreement()
    out = []
    for span in spans:
        ceiling = cut_max if span[1] - span[0] == 1 else gradual_max
        if ceiling > 1.0:
            out.append(span)
            continue
        score = span_agreement(grey, span, agree=agree)
        if not score >= ceiling:  # NaN (no frames to compare) keeps the span
            out.append(span)
    return out
