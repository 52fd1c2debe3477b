"""Motion-compensated confirmation of detected transitions: a transition changes the content, motion does not.

The learned detector fires on some real shots without any transition: the brightness flicker and
film slips of old film look like hard cuts (the grey level jumps between two frames of one
picture), and a handheld camera or fast subject motion looks like a wipe or a slide. Both leave the
picture ITSELF in place: warp the frame after the candidate onto the frame before it with dense
optical flow (OpenCV's DIS flow over small grey thumbnails) and the two agree. Across a real cut,
or across a gradual transition (compared between the pure frames on either side of it), no warp
makes two different shots agree.

So a candidate is dropped when the flow-warped normalised cross-correlation of the frames across
it reaches a ceiling: ``cut_max`` for a hard cut (k - 1, k), ``gradual_max`` for a gradual span
(first, last), whose frames ``first - o`` and ``last + o`` are compared for o = 0 .. ``reach`` and
the best agreement counts (a detection may sit a frame or two inside the mixed frames). The
thumbnails are the detector's own 32x32 grey descriptors (koala.split.features), kept as uint8
while the video streams: 1 KiB a frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

Span = tuple[int, int]
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


def span_agreement(grey: np.ndarray, span: Span, *, reach: int, agree: FlowAgreement | None = None) -> float:
    """Best flow-warped agreement of the frames on either side of ``span`` (NaN if none lies inside the video).

    A hard cut (k - 1, k) compares its two frames; a gradual span (first, last) compares
    ``first - o`` with ``last + o`` for o = 0 .. ``reach``.

    Args:
        grey: (n, H, W) uint8 grey thumbnails of every frame.
    """
    agree = agree or FlowAgreement()
    a, b = span
    n = len(grey)
    offsets = range(1) if b - a == 1 else range(reach + 1)
    vals = [agree(grey[a - o], grey[b + o]) for o in offsets if 0 <= a - o and b + o < n]
    return max(vals) if vals else float("nan")


def confirm_spans(spans: Sequence[Span], grey: np.ndarray, *, cut_max: float, gradual_max: float, reach: int = 2) -> list[Span]:
    """The spans whose frames across them do NOT agree after motion compensation (the rest are motion, not transitions).

    Args:
        spans: detected transitions (first, last); (k - 1, k) is a hard cut.
        grey: (n, H, W) uint8 grey thumbnails of every frame of the video.
        cut_max: a hard cut whose two frames agree at least this well is dropped (above 1: off).
        gradual_max: a gradual span whose outside frames agree at least this well is dropped (above 1: off).
        reach: frames beyond a gradual span's ends also compared.
    """
    agree = FlowAgreement()
    out = []
    for span in spans:
        ceiling = cut_max if span[1] - span[0] == 1 else gradual_max
        if ceiling > 1.0:
            out.append(span)
            continue
        score = span_agreement(grey, span, reach=reach, agree=agree)
        if not score >= ceiling:  # NaN (no frames to compare) keeps the span
            out.append(span)
    return out
