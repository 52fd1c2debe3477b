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
        pairs = css.PairStream()
        # Features and pair scores of a chunk run on overlapped()'s single worker thread, in
        # chunk order, while the next chunk decodes; PairStream carries the last frame across.
        parts = list(overlapped(read_frames(path, info=info, **size), lambda b: pairs.push(css.frame_features(b.frames), int(b.index[0]))))
        bgr_a = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0)
        canny_a = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0)
        return {"bgr": bgr_a, "canny": canny_a, "svm": css.svm_score(bgr_a, canny_a)}

    def detect(self, feats: dict[str, np.ndarray], *, num_frames: int, fps: float) -> Detection:
        mask = css.cut_mask(feats["svm"], self.cfg.css)
        return Detection(
            spans=css.spans_from_mask(mask),
            num_frames=num_frames,
            clips=css.clips_from_mask(mask, self.cfg.css),
            scores={"svm": feats["svm"], "conv_svm": css.smooth3(feats["svm"])},
        )
