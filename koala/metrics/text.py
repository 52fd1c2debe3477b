"""On-screen text area (subtitles, captions, logos with lettering) from an OCR text detector.

rapidocr-onnxruntime ships PaddleOCR's PP-OCRv4 detection model inside its wheel, so this works
offline. Only the detector runs (no recognition): the metric is the share of the frame covered by
detected text boxes, averaged over a few frames at a reduced size. The annotators lower clips
with subtitles and logos (digest §2.4); UltraVideo found many in Koala-36M (digest §7).
"""

from __future__ import annotations

import logging
import os

import cv2
import numpy as np

from koala.metrics.clip import evenly
from koala.metrics.registry import MetricSpec, Unavailable, metric

log = logging.getLogger(__name__)

RAPIDOCR_PIN = "rapidocr-onnxruntime==1.4.4"  # installed --no-deps by `make setup` (see the Makefile)

_DETECTORS: dict[tuple, object] = {}


def detector(max_side: int, box_score: float):
    """The PP-OCRv4 text detector of rapidocr, built once per process and setting.

    Raises:
        Unavailable: rapidocr-onnxruntime is not installed.
    """
    key = (max_side, box_score)
    if key not in _DETECTORS:
        try:
            import rapidocr_onnxruntime
            import yaml
            from rapidocr_onnxruntime.ch_ppocr_det import TextDetector
        except ImportError as exc:
            raise Unavailable(
                f"the OCR text detector is not installed ({exc}); run `make setup`, or "
                f"pip install --no-deps {RAPIDOCR_PIN}"
            ) from None
        pkg = os.path.dirname(rapidocr_onnxruntime.__file__)
        with open(os.path.join(pkg, "config.yaml")) as fh:
            conf = dict(yaml.safe_load(fh)["Det"])
        conf.update(
            model_path=os.path.join(pkg, conf["model_path"]),
            limit_type="max",  # the default ("min", 736) enlarges every frame; text_fraction shrinks instead
            limit_side_len=int(max_side),
            box_thresh=float(box_score),
            intra_op_num_threads=1,  # the engine already runs one process per core
            inter_op_num_threads=1,
        )
        _DETECTORS[key] = TextDetector(conf)
    return _DETECTORS[key]


def text_fraction(rgb: np.ndarray, det, max_side: int = 640) -> float:
    """Share of one RGB frame (H, W, 3) covered by the union of detected text boxes.

    The frame is shrunk to ``max_side`` here: rapidocr's own limit only ever enlarges (to 960).
    """
    scale = max_side / max(rgb.shape[:2])
    if scale < 1:
        rgb = cv2.resize(rgb, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    boxes, _ = det(np.ascontiguousarray(rgb[..., ::-1]))  # PaddleOCR models expect BGR
    if boxes is None or len(boxes) == 0:
        return 0.0
    mask = np.zeros(rgb.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(b).astype(np.int32) for b in boxes], 1)
    return float(mask.mean())


@metric(MetricSpec(
    name="text_area", unit="fraction of frame", lo=0.0, hi=1.0, direction="lower_better", version=1,
    description="area of PP-OCRv4-detected text boxes (rapidocr, detection only) over a few frames",
    reference="digest §2.4 (subtitles and logos lower the score), Fig. 3 OCR",
))
def text_area(clip, cfg) -> float:
    det = detector(cfg.text_max_side, cfg.text_box_score)
    return float(np.mean([text_fraction(clip.frames[i], det, cfg.text_max_side) for i in evenly(clip.n, cfg.text_frames)]))
