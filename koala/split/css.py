"""The paper's Color-Struct SVM (CSS) transition detector, exactly as the released code runs it.

Digest §2.1 (paper §4.1, App. A, the official ``VideoTransitionAnalyzer``):

* per frame: resize to 256x256 (aspect ignored); one 254-bin histogram per colour channel over
  [1, 255) (pure 0 and 255 left out); grey of that frame resized to 128x128, Canny(100, 200),
  and the "Canny luminance" map ``E = max(grey, canny)``;
* per consecutive pair: ``bgr`` = correlation of the stacked 3x254 histograms, ``canny`` =
  SSIM(E_prev, E_cur) (7x7 uniform window, sample covariance, data range 255), and the fitted
  linear score ``svm = 4.61480465 bgr + 3.75211168 canny - 5.485968377115124`` (positive: the
  same shot);
* 3-tap centred mean of ``svm`` (the two ends left as they are); a pair is a cut when
  ``svm < 0``; otherwise, from pair 8 on and when the mean is below 0.75, when the mean falls
  below ``mu - 3 max(0.2, sigma)`` of the previous 8 means after dropping the lowest and highest
  20 %;
* clips are the runs of frames with no cut longer than 8 frames, eroded by 4 frames at each end.

Pair ``i`` compares frames ``i`` and ``i + 1``; the released code marks frame ``i`` when pair
``i`` is a cut and always marks the last frame, so clips never contain it.

The SSIM and the histogram correlation are written here with OpenCV box filters and numpy over
a whole chunk of frames at once (skimage's ``structural_similarity`` costs 1.6 ms a pair, more
than decoding a 720p frame): SSIM from exact integer window sums, which only reorders skimage's
arithmetic; tests pin both to skimage and ``cv2.compareHist``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from koala.config import CssConfig

# The fitted linear SVM of the released code: weights of (bgr, canny) and the intercept.
W_BGR = 4.61480465
W_SSIM = 3.75211168
BIAS = -5.485968377115124

FRAME_SIZE = 256  # colour features: frames resized to 256x256
EDGE_SIZE = 128  # structure features: grey resized to 128x128
HIST_BINS = 254  # per channel, over [1, 255)
CANNY_LO, CANNY_HI = 100, 200
SSIM_WIN = 7  # skimage's default uniform window
_C1 = (0.01 * 255) ** 2
_C2 = (0.03 * 255) ** 2
_PAD = (SSIM_WIN - 1) // 2


@dataclass
class FrameFeatures:
    """CSS features of a run of frames (a chunk)."""

    hist: np.ndarray  # (n, 3 * 254) float64 stacked channel histograms
    edges: np.ndarray  # (n, 128, 128) uint8 Canny-luminance maps


def frame_features(frames: np.ndarray) -> FrameFeatures:
    """Histograms and Canny-luminance maps of RGB frames of any size.

    Args:
        frames: (n, H, W, 3) uint8 RGB. Frames already 256x256 skip the resize.

    Returns:
        :class:`FrameFeatures`. Channel order does not change the correlation (the same
        permutation is applied to both histograms), so RGB input gives the BGR code's numbers.

    The grey conversion and the 128x128 resize run once over the chunk stacked as one tall
    image: the conversion is per pixel, and cv2 halves a 256x256 frame with its 2x2-mean path
    (INTER_LINEAR at an exact factor 2), which never mixes rows of two stacked frames.
    """
    frames = np.asarray(frames)
    n = len(frames)
    if frames.shape[1:3] != (FRAME_SIZE, FRAME_SIZE):
        resized = np.empty((n, FRAME_SIZE, FRAME_SIZE, 3), np.uint8)
        for k, frame in enumerate(frames):
            cv2.resize(frame, (FRAME_SIZE, FRAME_SIZE), dst=resized[k])  # INTER_LINEAR, as released
        frames = resized
    frames = np.ascontiguousarray(frames)
    hist = np.empty((n, 3 * HIST_BINS), np.float64)
    edges = np.empty((n, EDGE_SIZE, EDGE_SIZE), np.uint8)
    if not n:
        return FrameFeatures(hist=hist, edges=edges)
    tall = frames.reshape(n * FRAME_SIZE, FRAME_SIZE, 3)
    grey = cv2.resize(cv2.cvtColor(tall, cv2.COLOR_RGB2GRAY), (EDGE_SIZE, n * EDGE_SIZE)).reshape(n, EDGE_SIZE, EDGE_SIZE)
    for k, frame in enumerate(frames):
        for c in range(3):
            hist[k, c * HIST_BINS : (c + 1) * HIST_BINS] = cv2.calcHist([frame], [c], None, [HIST_BINS], [1, 255]).reshape(-1)
        cv2.Canny(grey[k], CANNY_LO, CANNY_HI, edges=edges[k])
    np.maximum(grey, edges, out=edges)
    return FrameFeatures(hist=hist, edges=edges)


def hist_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of histogram rows (OpenCV's HISTCMP_CORREL), vectorised.

    Args:
        a, b: (n, bins) histograms. Returns (n,); like OpenCV, 1.0 when the product of the
        two variances is not above machine epsilon (e.g. a flat frame with no pixel in [1, 255)).
    """
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    num = (a * b).sum(axis=1)
    den2 = (a * a).sum(axis=1) * (b * b).sum(axis=1)
    ok = np.abs(den2) > np.finfo(np.float64).eps
    return np.where(ok, num / np.sqrt(np.where(ok, den2, 1.0)), 1.0)


# SSIM from integer window sums. With S the 7x7 sums of x, y, x^2, y^2, xy and N = 49, skimage's
#   ((2 ux uy + C1)(2 vxy + C2)) / ((ux^2 + uy^2 + C1)(vx + vy + C2)),  u = S / N,  v = N / (N - 1) (Sxx / N - ux^2)
# is, multiplying through by N^2 and by (N - 1) / N,
#   (2 SxSy + N^2 C1)(2 (N Sxy - SxSy) + N (N - 1) C2) / ((Sx^2 + Sy^2 + N^2 C1)(N Sxx - Sx^2 + N Syy - Sy^2 + N (N - 1) C2)).
# Every sum and product of sums is an integer below 2^53, exact in float64, so the cancellations
# (N Sxy - SxSy, N Sxx - Sx^2) are exact and only the constants and the last three operations
# round: a few ulps per pixel, closer to the exact value than skimage's own arithmetic.
_N = SSIM_WIN**2
_K1 = _C1 * _N * _N
_K2 = _C2 * _N * (_N - 1)
_BLOCK = 4  # pairs per arithmetic block: the block's float64 maps stay in the L2 cache


class _Workspace:
    """Reused scratch arrays, by name: a fresh multi-MB array per operation costs more (page
    faults) than the arithmetic on it. Views are the first ``rows`` rows of a buffer that only grows."""

    def __init__(self) -> None:
        self._bufs: dict[str, np.ndarray] = {}

    def get(self, name: str, rows: int, w: int, dtype=np.float64) -> np.ndarray:
        buf = self._bufs.get(name)
        if buf is None or len(buf) < rows or buf.shape[1] != w or buf.dtype != dtype:
            buf = self._bufs[name] = np.empty((rows, w), dtype)
        return buf[:rows]


class _Sums:
    """Per-image window sums (7x7, unnormalised) of a stack, as float64 tall images.

    ``s`` holds Sx, ``q`` holds Sx^2 + K1 / 2 and ``r`` holds N Sxx - Sx^2 + K2 / 2, so that a
    pair's two denominator factors are one addition each. Rows of neighbouring images bleed into
    each other only within 3 rows of their borders, which SSIM crops away, so filtering the stack
    as one image equals filtering each image.
    """

    def __init__(self, images: np.ndarray, ws: _Workspace, tag: str = ""):
        n, h, w = images.shape
        tall = images.reshape(n * h, w)
        win = (SSIM_WIN, SSIM_WIN)
        self.s = cv2.boxFilter(tall, cv2.CV_64F, win, dst=ws.get("s" + tag, n * h, w), normalize=False, borderType=cv2.BORDER_REFLECT)
        self.r = cv2.sqrBoxFilter(tall, cv2.CV_64F, win, dst=ws.get("r" + tag, n * h, w), normalize=False, borderType=cv2.BORDER_REFLECT)
        self.q = np.multiply(self.s, self.s, out=ws.get("q" + tag, n * h, w))
        self.r *= _N
        self.r -= self.q
        self.r += _K2 / 2
        self.q += _K1 / 2

    def rows(self, lo: int, hi: int | None) -> "_Sums":
        """Rows ``lo:hi`` of each tall image, without copying."""
        part = object.__new__(_Sums)
        part.s, part.q, part.r = self.s[lo:hi], self.q[lo:hi], self.r[lo:hi]
        return part


def _interior_mask(h: int, w: int) -> np.ndarray:
    """Weights that average an (h, w) map over its interior (skimage crops (win - 1) / 2 a side)."""
    m = np.zeros((h, w))
    m[_PAD:-_PAD, _PAD:-_PAD] = 1.0 / ((h - 2 * _PAD) * (w - 2 * _PAD))
    return m.reshape(-1)


def _cross_sums(a: np.ndarray, b: np.ndarray, ws: _Workspace) -> np.ndarray:
    """7x7 sums of ``a * b`` for stacks of uint8 images, as one float64 tall image (exact)."""
    n, h, w = a.shape
    prod = np.multiply(a.reshape(n * h, w), b.reshape(n * h, w), out=ws.get("prod", n * h, w, np.uint16), dtype=np.uint16)
    return cv2.boxFilter(prod, cv2.CV_64F, (SSIM_WIN, SSIM_WIN), dst=ws.get("sxy", n * h, w), normalize=False, borderType=cv2.BORDER_REFLECT)


def _ssim_from_sums(a: _Sums, b: _Sums, sxy: np.ndarray, h: int, w: int, ws: _Workspace) -> np.ndarray:
    """Mean SSIM of pairs whose sums are rows of ``a``/``b`` and whose cross sums are ``sxy``.

    All arguments are tall (pairs * h, w) images; ``sxy`` is overwritten. Works in blocks of
    :data:`_BLOCK` pairs, so the block's maps stay in cache between operations.
    """
    m = len(sxy) // h
    out = np.empty(m)
    if not m:
        return out
    mask = _interior_mask(h, w)
    rows = min(m, _BLOCK) * h
    t, den, den2 = (ws.get(name, rows, w) for name in ("t", "den", "den2"))
    for i in range(0, m, _BLOCK):
        j = min(i + _BLOCK, m)
        lo, hi = i * h, j * h
        k = hi - lo
        ab, num2, d, d2 = t[:k], sxy[lo:hi], den[:k], den2[:k]
        np.multiply(a.s[lo:hi], b.s[lo:hi], out=ab)
        ab *= 2.0  # 2 SxSy
        num2 *= 2.0 * _N
        num2 -= ab
        num2 += _K2  # 2 (N Sxy - SxSy) + N (N - 1) C2
        ab += _K1  # 2 SxSy + N^2 C1
        ab *= num2
        np.add(a.q[lo:hi], b.q[lo:hi], out=d)
        np.add(a.r[lo:hi], b.r[lo:hi], out=d2)
        d *= d2
        ab /= d
        out[i:j] = ab.reshape(j - i, h * w) @ mask
    return out


def _as_images(x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x)
    if x.dtype != np.uint8 or x.ndim != 3:
        raise ValueError(f"SSIM expects (n, H, W) uint8 images, got {x.dtype} {x.shape}")
    return x


def ssim_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean SSIM of image pairs, equal to skimage's ``structural_similarity(data_range=255)``.

    Args:
        a, b: (n, H, W) uint8 images. Returns (n,) float64.
    """
    a, b = _as_images(a), _as_images(b)
    if a.shape != b.shape:
        raise ValueError(f"SSIM pairs need equal shapes, got {a.shape} and {b.shape}")
    n, h, w = a.shape
    ws = _Workspace()
    return _ssim_from_sums(_Sums(a, ws, "a"), _Sums(b, ws, "b"), _cross_sums(a, b, ws), h, w, ws)


def ssim_consecutive(images: np.ndarray, ws: _Workspace | None = None) -> np.ndarray:
    """SSIM of each image with the next, (n - 1,): :func:`ssim_pairs` with shared per-image sums.

    Each image's window sums are filtered once, not once per pair it is in. ``ws``: scratch
    arrays to reuse across calls (a stream of chunks).
    """
    x = _as_images(images)
    n, h, w = x.shape
    if n < 2:
        return np.zeros(0)
    ws = ws or _Workspace()
    sums = _Sums(x, ws)
    return _ssim_from_sums(sums.rows(0, -h), sums.rows(h, None), _cross_sums(x[:-1], x[1:], ws), h, w, ws)


class PairStream:
    """Pair features of a video fed chunk by chunk: the last frame of each chunk is carried over.

    ``push`` must be called in frame order (one thread at a time); memory is one chunk.
    """

    def __init__(self) -> None:
        self._last: FrameFeatures | None = None
        self._next = 0  # the frame the next chunk must start at
        self._ws = _Workspace()

    def push(self, cur: FrameFeatures, first: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(bgr, canny) of the pairs that end in this chunk's frames.

        Args:
            cur: the chunk's features.
            first: its first frame's index, checked against the frames pushed so far.

        Raises:
            RuntimeError: ``first`` is not the frame after the previous chunk (chunks out of order).
        """
        if first is not None and first != self._next:
            raise RuntimeError(f"CSS chunks out of order: expected frame {self._next}, got {first}")
        self._next += len(cur.hist)
        if not len(cur.hist):
            return np.zeros(0), np.zeros(0)
        if self._last is not None:
            cur = FrameFeatures(np.concatenate([self._last.hist, cur.hist]), np.concatenate([self._last.edges, cur.edges]))
        self._last = FrameFeatures(cur.hist[-1:].copy(), cur.edges[-1:].copy())
        return hist_correlation(cur.hist[:-1], cur.hist[1:]), ssim_consecutive(cur.edges, self._ws)


def svm_score(bgr: np.ndarray, ssim: np.ndarray) -> np.ndarray:
    """The released linear SVM: positive means both frames belong to one shot."""
    return W_BGR * bgr + W_SSIM * ssim + BIAS


def smooth3(svm: np.ndarray) -> np.ndarray:
    """3-tap centred mean; the first and last entries stay unsmoothed (as released)."""
    out = np.asarray(svm, np.float64).copy()
    if len(out) >= 3:
        out[1:-1] = np.convolve(out, np.ones(3) / 3.0, mode="valid")
    return out


def trimmed_mu_std(window: np.ndarray, trim: float) -> tuple[float, float]:
    """Mean and (population) std after sorting and keeping ``[int(M trim), int(M (1 - trim)))``."""
    m = len(window)
    kept = np.sort(window)[int(m * trim) : int(m * (1.0 - trim))]
    return float(kept.mean()), float(kept.std())


def cut_mask(svm: np.ndarray, cfg: CssConfig) -> np.ndarray:
    """Which frames the released rule marks as cuts ("invisible").

    Args:
        svm: (n - 1,) pair scores of an n-frame video.
        cfg: the rule's constants (released values by default).

    Returns:
        (n,) bool: frame ``i`` is marked when pair ``i`` is a hard cut or fails the temporal
        test; the last frame is always marked.
    """
    svm = np.asarray(svm, np.float64)
    conv = smooth3(svm)
    cut = np.zeros(len(svm) + 1, bool)
    cut[-1] = True
    for i in range(len(svm)):
        if svm[i] < 0:
            cut[i] = True
        elif i >= cfg.window and conv[i] < cfg.gate:
            mu, sd = trimmed_mu_std(conv[i - cfg.window : i], cfg.trim)
            if conv[i] < mu - cfg.sigmas * max(cfg.sigma_floor, sd):
                cut[i] = True
    return cut


def clips_from_mask(cut: np.ndarray, cfg: CssConfig) -> list[tuple[int, int]]:
    """Runs of unmarked frames longer than ``min_run``, eroded by ``erode`` frames at each end.

    Returns:
        [(start, end)] with ``end`` exclusive, in frames.
    """
    clips, start = [], 0
    for i, marked in enumerate(cut):
        if marked:
            if i - start > cfg.min_run:
                clips.append((start + cfg.erode, i - cfg.erode))
            start = i + 1
    return clips


def spans_from_mask(cut: np.ndarray) -> list[tuple[int, int]]:
    """Detected transitions as frame spans [first, last], in the ground truth's convention.

    A run of marked pairs ``p..q`` becomes ``[p, q + 1]``: a single marked pair ``k - 1`` (a
    hard cut between frames k-1 and k) is ``[k - 1, k]``. The always-marked last frame is the
    end of the video, not a transition.
    """
    marked = np.asarray(cut[:-1], bool)
    spans, i = [], 0
    while i < len(marked):
        if marked[i]:
            j = i
            while j + 1 < len(marked) and marked[j + 1]:
                j += 1
            spans.append((i, j + 1))
            i = j + 1
        else:
            i += 1
    return spans
