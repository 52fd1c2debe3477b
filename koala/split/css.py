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
than decoding a 720p frame); tests pin both to skimage and ``cv2.compareHist``.
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
    """
    n = len(frames)
    hist = np.empty((n, 3 * HIST_BINS), np.float64)
    edges = np.empty((n, EDGE_SIZE, EDGE_SIZE), np.uint8)
    for k, frame in enumerate(frames):
        if frame.shape[:2] != (FRAME_SIZE, FRAME_SIZE):
            frame = cv2.resize(frame, (FRAME_SIZE, FRAME_SIZE))  # INTER_LINEAR, as released
        for c in range(3):
            hist[k, c * HIST_BINS : (c + 1) * HIST_BINS] = cv2.calcHist([frame], [c], None, [HIST_BINS], [1, 255]).reshape(-1)
        grey = cv2.resize(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), (EDGE_SIZE, EDGE_SIZE))
        edges[k] = np.maximum(grey, cv2.Canny(grey, CANNY_LO, CANNY_HI))
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


def _box_stack(x: np.ndarray) -> np.ndarray:
    """7x7 means of a stack of images, as one tall image (exact on the cropped interior).

    Rows of neighbouring images bleed into each other only within 3 rows of their borders,
    which SSIM crops away, so filtering the stack as one image equals filtering each image.
    """
    n, h, w = x.shape
    return cv2.boxFilter(x.reshape(n * h, w), -1, (SSIM_WIN, SSIM_WIN), borderType=cv2.BORDER_REFLECT).reshape(n, h, w)


def _ssim_map(ux, uy, uxx, uyy, uxy) -> np.ndarray:
    """Mean of the SSIM map over the interior (skimage crops (win - 1) / 2 pixels per side)."""
    c = (slice(None), slice(_PAD, -_PAD), slice(_PAD, -_PAD))
    ux, uy, uxx, uyy, uxy = ux[c], uy[c], uxx[c], uyy[c], uxy[c]
    cov = SSIM_WIN**2 / (SSIM_WIN**2 - 1)  # sample covariance, as skimage
    uxuy = ux * uy
    ux2, uy2 = ux * ux, uy * uy
    num = (2 * uxuy + _C1) * (2 * cov * (uxy - uxuy) + _C2)
    den = (ux2 + uy2 + _C1) * (cov * (uxx - ux2 + uyy - uy2) + _C2)
    return (num / den).mean(axis=(1, 2))


def ssim_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean SSIM of image pairs, equal to skimage's ``structural_similarity(data_range=255)``.

    Args:
        a, b: (n, H, W) uint8 images. Returns (n,) float64.
    """
    x = a.astype(np.float64)
    y = b.astype(np.float64)
    return _ssim_map(_box_stack(x), _box_stack(y), _box_stack(x * x), _box_stack(y * y), _box_stack(x * y))


def ssim_consecutive(images: np.ndarray) -> np.ndarray:
    """SSIM of each image with the next, (n - 1,): :func:`ssim_pairs` with shared per-image sums.

    Each image's local means and squares are filtered once, not once per pair it is in.
    """
    x = images.astype(np.float64)
    if len(x) < 2:
        return np.zeros(0)
    u, uu = _box_stack(x), _box_stack(x * x)
    uxy = _box_stack(x[:-1] * x[1:])
    return _ssim_map(u[:-1], u[1:], uu[:-1], uu[1:], uxy)


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
