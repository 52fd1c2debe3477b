"""Overlay text area (subtitles, captions, logos, tickers), confirmed by reading it.

rapidocr-onnxruntime ships PaddleOCR's PP-OCRv4 detection and recognition models inside its
wheel, so this works offline. A detected box is overlay text only when (1) a box sits at the same
place of the screen in several sampled frames (overlay text stays put; scene text moves with the
scene) and (2) the recogniser reads it as letters or digits above a confidence floor (a texture
that fools the detector reads as noise). The detector alone fires on foliage, grass and gravel
(issue 16: 12 % "text" on a road shot without any). The metric is the share of the frame covered
by confirmed boxes. The annotators lower clips with subtitles and logos (docs/koala36m-paper.md §2.4); UltraVideo
found many in Koala-36M (docs/koala36m-paper.md §7).

Limit: scene text under a still camera on a still object (a shop sign in a locked-off shot) also
stays put and reads well; it is counted as overlay.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import cv2
import numpy as np

from koala.metrics.clip import evenly
from koala.metrics.registry import MetricSpec, Unavailable, metric

log = logging.getLogger(__name__)

RAPIDOCR_PIN = "rapidocr-onnxruntime==1.4.4"  # installed --no-deps by `make setup` (see the Makefile)

_DETECTORS: dict[tuple, object] = {}


def _rapidocr_config(section: str, what: str) -> tuple[str, dict]:
    """rapidocr's package folder and its config.yaml section ``section`` (Det, Rec).

    Raises:
        Unavailable: rapidocr-onnxruntime is not installed (naming ``what`` is missing).
    """
    try:
        import rapidocr_onnxruntime
        import yaml
    except ImportError as exc:
        raise Unavailable(
            f"the OCR text {what} is not installed ({exc}); run `make setup`, or pip install --no-deps {RAPIDOCR_PIN}"
        ) from None
    pkg = os.path.dirname(rapidocr_onnxruntime.__file__)
    with open(os.path.join(pkg, "config.yaml")) as fh:
        return pkg, dict(yaml.safe_load(fh)[section])


def detector(max_side: int, box_score: float):
    """The PP-OCRv4 text detector of rapidocr, built once per process and setting.

    Raises:
        Unavailable: rapidocr-onnxruntime is not installed.
    """
    key = (max_side, box_score)
    if key not in _DETECTORS:
        pkg, conf = _rapidocr_config("Det", "detector")
        from rapidocr_onnxruntime.ch_ppocr_det import TextDetector

        conf.update(
            model_path=os.path.join(pkg, conf["model_path"]),
            limit_type="max",  # the default ("min", 736) enlarges every frame; text_fraction shrinks instead
            limit_side_len=int(max_side),
            box_thresh=float(box_score),
            intra_op_num_threads=1,  # the engine already runs one process per core
            inter_op_num_threads=1,
        )
        _DETECTORS[key] = _with_arena(TextDetector(conf), conf["model_path"])
    return _DETECTORS[key]


def _with_arena(engine, model_path: str):
    """``engine`` (a rapidocr detector or recogniser) with its onnxruntime session rebuilt with the CPU
    memory arena on. rapidocr turns the arena off, so every run allocates and frees its tensors
    afresh and the kernel zeroes new pages each time (about 5 % of a detection's CPU as system time,
    issue 15's profile); with the arena the buffers are reused. Same model, options, threads and
    outputs (a test checks the boxes agree).
    """
    import onnxruntime as ort

    ort_session = engine.infer if hasattr(engine, "infer") else engine.session  # rapidocr's OrtInferSession
    old = ort_session.session
    opts = ort.SessionOptions()
    opts.log_severity_level = 4
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = 1  # the engine already runs one process per core
    opts.inter_op_num_threads = 1
    opts.enable_cpu_mem_arena = True
    ort_session.session = ort.InferenceSession(model_path, sess_options=opts, providers=old.get_providers())
    return engine


_RECOGNISERS: dict[str, object] = {}


def recogniser():
    """The PP-OCRv4 text recogniser of rapidocr (CTC, Chinese + Latin alphabet), built once per process.

    Raises:
        Unavailable: rapidocr-onnxruntime is not installed.
    """
    if "rec" not in _RECOGNISERS:
        pkg, conf = _rapidocr_config("Rec", "recogniser")
        from rapidocr_onnxruntime.ch_ppocr_rec import TextRecognizer

        conf.update(model_path=os.path.join(pkg, conf["model_path"]), intra_op_num_threads=1, inter_op_num_threads=1)
        _RECOGNISERS["rec"] = _with_arena(TextRecognizer(conf), conf["model_path"])
    return _RECOGNISERS["rec"]


def shrink(rgb: np.ndarray, max_side: int) -> np.ndarray:
    """``rgb`` shrunk (never enlarged) so its long side is at most ``max_side``."""
    scale = max_side / max(rgb.shape[:2])
    if scale >= 1:
        return rgb
    return cv2.resize(rgb, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)), interpolation=cv2.INTER_AREA)


def detect_boxes(rgb: np.ndarray, det) -> list[np.ndarray]:
    """Text boxes of one RGB frame (H, W, 3): quadrilaterals (4, 2) float32 in the frame's px."""
    boxes, _ = det(np.ascontiguousarray(rgb[..., ::-1]))  # PaddleOCR models expect BGR
    if boxes is None or len(boxes) == 0:
        return []
    return [np.asarray(b, np.float32).reshape(4, 2) for b in boxes]


def _rect(q: np.ndarray) -> tuple[float, float, float, float]:
    return float(q[:, 0].min()), float(q[:, 1].min()), float(q[:, 0].max()), float(q[:, 1].max())


def same_place(a: np.ndarray, b: np.ndarray) -> bool:
    """Two text boxes on one line at one place of the screen: rows overlap and columns overlap.

    A subtitle line keeps its row while its words change, so the test is on the row (heights
    within 35 %, vertical overlap >= 60 % of the smaller) and on some horizontal overlap (>= 30 %
    of the narrower box), not on the exact box.
    """
    ax0, ay0, ax1, ay1 = _rect(a)
    bx0, by0, bx1, by1 = _rect(b)
    ha, hb = ay1 - ay0, by1 - by0
    if min(ha, hb) <= 0 or max(ha, hb) > 1.35 * min(ha, hb):
        return False
    vy = min(ay1, by1) - max(ay0, by0)
    vx = min(ax1, bx1) - max(ax0, bx0)
    return vy >= 0.6 * min(ha, hb) and vx >= 0.3 * min(ax1 - ax0, bx1 - bx0)


def persistent_groups(boxes: list[list[np.ndarray]], min_frames: int) -> list[list[tuple[int, np.ndarray]]]:
    """Boxes grouped by place across frames; groups found in at least ``min_frames`` frames.

    Overlay text (subtitles, captions, logos, tickers) stays at its place of the screen; scene
    text moves with the scene whenever the camera or the object moves, and falls apart here.
    """
    groups: list[list[tuple[int, np.ndarray]]] = []
    for i, frame_boxes in enumerate(boxes):
        for q in frame_boxes:
            for g in groups:
                if g[-1][0] != i and same_place(g[-1][1], q):
                    g.append((i, q))
                    break
            else:
                groups.append([(i, q)])
    return [g for g in groups if len({i for i, _ in g}) >= min_frames]


def crop_line(rgb: np.ndarray, q: np.ndarray) -> np.ndarray:
    """The text line inside box ``q`` rectified to an upright strip (as rapidocr crops for its recogniser)."""
    w = int(max(np.linalg.norm(q[0] - q[1]), np.linalg.norm(q[2] - q[3])))
    h = int(max(np.linalg.norm(q[0] - q[3]), np.linalg.norm(q[1] - q[2])))
    dst = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    m = cv2.getPerspectiveTransform(q.astype(np.float32), dst)
    return cv2.warpPerspective(rgb, m, (max(1, w), max(1, h)), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC)


def readable(text: str, score: float, min_score: float, min_chars: int = 2) -> bool:
    """A recognised line counts as text: confident, with at least ``min_chars`` letters or digits.

    Textures (foliage, gravel, fabric) make the detector fire, but the recogniser reads them as
    a character or two at low confidence.
    """
    return score >= min_score and sum(ch.isalnum() for ch in text) >= min_chars


@dataclass(frozen=True)
class OverlayText:
    """Text confirmed as overlay on a clip's sampled frames."""

    area: float  # mean share of the frame covered by confirmed overlay text boxes
    lines: tuple[str, ...]  # what the recogniser read, one entry per confirmed line (place)
    candidates: int  # persistent box groups looked at by the recogniser
    detected: int  # text boxes the detector found in all frames (scene text and textures included)


def overlay_text(frames: np.ndarray, *, det, rec, max_side: int, min_frames: int, min_score: float,
                 times: np.ndarray | None = None, min_span: float = 0.0) -> OverlayText:
    """Overlay text on frames (K, H, W, 3) RGB: detected, persistent at one place, and read with confidence.

    ``times`` (seconds of each frame) and ``min_span``: a box must recur over at least that long
    (a two-frame title card photographed on a table cannot show that it stays put; overlay text
    lasts). Detection runs on the frames (shrunk to ``max_side``), stopping early when no box has been found
    and too few frames are left for one to recur in; recognition only on the persistent candidates
    (one crop per candidate and frame, at most three frames), so it costs little.
    """
    small = [shrink(f, max_side) for f in frames]
    need = min(min_frames, len(frames))
    boxes: list[list[np.ndarray]] = [[] for _ in small]
    for done, i in enumerate(_detect_order(len(small)), start=1):
        boxes[i] = detect_boxes(small[i], det)
        if not any(boxes) and len(small) - done < need:
            break  # no box so far and too few frames left to recur in: the rest cannot change the answer
    groups = persistent_groups(boxes, need)
    if times is not None and min_span > 0:
        groups = [g for g in groups if np.ptp([times[i] for i, _ in g]) >= min_span]
    confirmed, lines = [], []
    for g in groups:
        picks = [g[k] for k in np.unique(np.linspace(0, len(g) - 1, min(3, len(g))).round().astype(int))]
        reads, _ = rec([crop_line(small[i], q) for i, q in picks])
        ok = [readable(t, s, min_score) for t, s in reads]
        if sum(ok) * 2 > len(ok):  # most reads of the line are confident text
            confirmed.append(g)
            lines.append(max(reads, key=lambda r: r[1])[0])
    area = 0.0
    for i, f in enumerate(small):
        mine = [q for g in confirmed for j, q in g if j == i]
        if mine:
            mask = np.zeros(f.shape[:2], np.uint8)
            cv2.fillPoly(mask, [np.round(q).astype(np.int32) for q in mine], 1)
            area += float(mask.mean())
    return OverlayText(area / len(small), tuple(lines), len(groups), sum(len(b) for b in boxes))


def _detect_order(n: int) -> list[int]:
    """First, last, then the frames between: two far-apart frames settle most clips without text."""
    return list(dict.fromkeys([0, n - 1] + list(range(1, n - 1)))) if n > 1 else list(range(n))


@metric(MetricSpec(
    name="text_area", unit="fraction of frame", lo=0.0, hi=1.0, direction="lower_better", version=2,
    description="area of overlay text (subtitles, captions, logos): PP-OCRv4 boxes at one place in several frames, read by the PP-OCRv4 recogniser",
    reference="docs/koala36m-paper.md §2.4 (subtitles and logos lower the score), Fig. 3 OCR",
))
def text_area(clip, cfg) -> float:
    det = detector(cfg.text_max_side, cfg.text_box_score)
    pick = evenly(clip.n, cfg.text_frames)
    found = overlay_text(clip.frames[pick], det=det, rec=recogniser(), max_side=cfg.text_max_side,
                         min_frames=cfg.text_min_frames, min_score=cfg.text_min_score,
                         times=clip.index[pick] / clip.fps, min_span=cfg.text_min_span_sec)
    return found.area
