"""The paper's CSS detector as a registry entry: streamed features, then the released rule."""

from __future__ import annotations

import os

import numpy as np

from koala.io.video import VideoInfo, read_frames
from koala.split import css
from koala.split.registry import Detection, Detector, overlapped, register


@register("css")
class CssDetector(Detector):
    """Color-Struct SVM + temporal 3-sigma test (paper §4.1, released code), unchanged."""

    decode = "256x256"

    def features(self, path: str | os.PathLike, info: VideoInfo) -> dict[str, np.ndarray]:
        """Pair scores ``bgr``, ``canny`` and ``svm``, each (n - 1,), from one decode.

        Frames are decoded straight to 256x256 (swscale area filter) unless
        ``css.exact_resize``, which decodes full frames and resizes them with cv2 as released.
        """
        size = {} if self.cfg.css.exact_resize else {"height": css.FRAME_SIZE, "width": css.FRAME_SIZE}
        bgr, canny = [], []
        prev: css.FrameFeatures | None = None
        for cur in overlapped(read_frames(path, info=info, **size), lambda b: css.frame_features(b.frames)):
            if prev is not None:  # carry the last frame across chunks
                cur = css.FrameFeatures(np.concatenate([prev.hist[-1:], cur.hist]), np.concatenate([prev.edges[-1:], cur.edges]))
            if len(cur.hist) > 1:
                bgr.append(css.hist_correlation(cur.hist[:-1], cur.hist[1:]))
                canny.append(css.ssim_consecutive(cur.edges))
            prev = css.FrameFeatures(cur.hist[-1:], cur.edges[-1:])
        bgr_a = np.concatenate(bgr) if bgr else np.zeros(0)
        canny_a = np.concatenate(canny) if canny else np.zeros(0)
        return {"bgr": bgr_a, "canny": canny_a, "svm": css.svm_score(bgr_a, canny_a)}

    def detect(self, feats: dict[str, np.ndarray], *, num_frames: int, fps: float) -> Detection:
        mask = css.cut_mask(feats["svm"], self.cfg.css)
        return Detection(
            spans=css.spans_from_mask(mask),
            num_frames=num_frames,
            clips=css.clips_from_mask(mask, self.cfg.css),
            scores={"svm": feats["svm"], "conv_svm": css.smooth3(feats["svm"])},
        )
