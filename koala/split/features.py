"""Frame descriptors and frame-pair similarities for the learned detector, over many frame gaps.

The paper compares consecutive frames only; a dissolve changes little from one frame to the
next, so it slips under any per-pair threshold, while a fast pan changes a lot. Comparing frames
``g`` apart for gaps up to about a second separates them: across a transition of any length the
frames on either side belong to different shots, and a pan over one scene keeps its colours.

Per frame (decoded small, e.g. 128x128): a normalised 3x32-bin colour histogram, a 32x32 grey
thumbnail (raw and zero-mean unit-norm) and a 32x32 gradient-magnitude thumbnail (unit-norm).
Per pair: five similarities (:data:`PAIR_FEATURES`). Everything is vectorised over a chunk, and
streaming keeps only the last ``max(GAPS)`` descriptors, so memory is flat in video length:
what grows is ``len(GAPS) x 5`` float32 per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

GAPS = (1, 3, 5, 7, 11, 15, 23, 31)  # odd: pair (t - h, t + h - 1) straddles the boundary at t, h = (g + 1) / 2
PAIR_FEATURES = ("hist_corr", "hist_inter", "grey_ncc", "grey_mad", "edge_ncc")
HIST_BINS = 32
THUMB = 32
_FLAT = 2.0  # grey levels: thumbnails flatter than this (a black frame) have no structure to correlate


@dataclass
class Descriptors:
    """Per-frame descriptors of a run of frames."""

    hist: np.ndarray  # (n, 96) float32, each channel sums to 1/3
    hist_c: np.ndarray  # (n, 96) float32 zero-mean unit-norm histogram (for correlation)
    grey: np.ndarray  # (n, 1024) float32 raw 32x32 grey thumbnail, 0-255
    grey_n: np.ndarray  # (n, 1024) float32 zero-mean unit-norm thumbnail
    edge_n: np.ndarray  # (n, 1024) float32 unit-norm gradient magnitude

    def __len__(self) -> int:
        return len(self.hist)

    def tail(self, k: int) -> "Descriptors":
        return Descriptors(*(a[len(a) - k :] if k else a[:0] for a in self._arrays()))

    def _arrays(self) -> tuple[np.ndarray, ...]:
        return (self.hist, self.hist_c, self.grey, self.grey_n, self.edge_n)

    @staticmethod
    def concat(parts: list["Descriptors"]) -> "Descriptors":
        return Descriptors(*(np.concatenate(cols) for cols in zip(*(p._arrays() for p in parts))))


def _unit(x: np.ndarray, floor: float) -> np.ndarray:
    """Rows centred and scaled to unit norm; rows whose RMS is below ``floor`` become ~0."""
    x = x - x.mean(axis=1, keepdims=True)
    norm = np.sqrt((x * x).sum(axis=1, keepdims=True))
    return x / np.maximum(norm, floor * np.sqrt(x.shape[1]))


def describe(frames: np.ndarray) -> Descriptors:
    """Descriptors of RGB frames.

    Args:
        frames: (n, H, W, 3) uint8 RGB, any size (128x128 is the detector's default).
    """
    n = len(frames)
    hist = np.empty((n, 3 * HIST_BINS), np.float32)
    grey = np.empty((n, THUMB * THUMB), np.float32)
    edge = np.empty((n, THUMB * THUMB), np.float32)
    for k, frame in enumerate(frames):
        for c in range(3):
            hist[k, c * HIST_BINS : (c + 1) * HIST_BINS] = cv2.calcHist([frame], [c], None, [HIST_BINS], [0, 256]).reshape(-1)
        g = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        small = cv2.resize(g, (2 * THUMB, 2 * THUMB), interpolation=cv2.INTER_AREA).astype(np.float32)
        grey[k] = cv2.resize(small, (THUMB, THUMB), interpolation=cv2.INTER_AREA).reshape(-1)
        gx = cv2.Sobel(small, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(small, cv2.CV_32F, 0, 1, ksize=3)
        edge[k] = cv2.resize(cv2.magnitude(gx, gy), (THUMB, THUMB), interpolation=cv2.INTER_AREA).reshape(-1)
    hist /= np.maximum(hist.sum(axis=1, keepdims=True), 1.0)
    return Descriptors(
        hist=hist,
        hist_c=_unit(hist, 1e-6),
        grey=grey,
        grey_n=_unit(grey, _FLAT),
        edge_n=_unit(edge, _FLAT),
    )


def pair_features(d: Descriptors, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Similarities of frame pairs (a[k], b[k]).

    Returns:
        (len(a), 5) float32 in :data:`PAIR_FEATURES` order: histogram correlation, histogram
        intersection (0-1), grey-thumbnail normalised cross-correlation, mean absolute grey
        difference (0-1, 1 = most different), gradient-thumbnail correlation.
    """
    out = np.empty((len(a), len(PAIR_FEATURES)), np.float32)
    out[:, 0] = (d.hist_c[a] * d.hist_c[b]).sum(axis=1)
    out[:, 1] = np.minimum(d.hist[a], d.hist[b]).sum(axis=1)
    out[:, 2] = (d.grey_n[a] * d.grey_n[b]).sum(axis=1)
    out[:, 3] = np.abs(d.grey[a] - d.grey[b]).mean(axis=1) / 255.0
    out[:, 4] = (d.edge_n[a] * d.edge_n[b]).sum(axis=1)
    return out


class GapStream:
    """Pair features at every gap in :data:`GAPS`, fed chunk by chunk.

    ``push`` takes the next frames' descriptors; ``result`` returns, per gap ``g``, an array
    ``(n - g, 5)`` whose row ``i`` compares frames ``i`` and ``i + g`` (empty when n <= g).
    """

    def __init__(self, gaps: tuple[int, ...] = GAPS, *, keep_grey: bool = False):
        self.gaps = gaps
        self.grey: list[np.ndarray] | None = [] if keep_grey else None  # uint8 32x32 thumbnails (koala.split.confirm)
        self.keep = max(gaps)
        self.prev: Descriptors | None = None  # last `keep` frames seen
        self.seen = 0
        self.parts: dict[int, list[np.ndarray]] = {g: [] for g in gaps}

    def push(self, cur: Descriptors) -> None:
        both = cur if self.prev is None else Descriptors.concat([self.prev, cur])
        offset = len(both) - len(cur)  # index in `both` of the chunk's first frame
        for g in self.gaps:
            # pairs whose later frame is in this chunk: later index j in [max(offset, g), len)
            j = np.arange(max(offset, g), len(both))
            if len(j):
                self.parts[g].append(pair_features(both, j - g, j))
        if self.grey is not None:
            self.grey.append(np.clip(np.rint(cur.grey), 0, 255).astype(np.uint8).reshape(-1, THUMB, THUMB))
        self.seen += len(cur)
        self.prev = both.tail(min(self.keep, len(both)))

    def result(self) -> dict[int, np.ndarray]:
        empty = np.zeros((0, len(PAIR_FEATURES)), np.float32)
        return {g: np.concatenate(p) if p else empty for g, p in self.parts.items()}

    def thumbnails(self) -> np.ndarray:
        """(n, 32, 32) uint8 grey thumbnails of every frame pushed (needs ``keep_grey``)."""
        if self.grey is None:
            raise ValueError("GapStream(keep_grey=False) keeps no thumbnails")
        return np.concatenate(self.grey) if self.grey else np.zeros((0, THUMB, THUMB), np.uint8)


def gap_features(frames: np.ndarray, gaps: tuple[int, ...] = GAPS) -> dict[int, np.ndarray]:
    """Pair features of an in-memory frame array (training and tests); same as streaming it."""
    stream = GapStream(gaps)
    stream.push(describe(frames))
    return stream.result()
