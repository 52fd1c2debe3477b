"""PySceneDetect's detectors as registry entries (the paper's Table 3 baselines and more).

Each is the scenedetect 0.7 detector with its library defaults, fed frames from our reader at
the size scenedetect's own SceneManager would use (width 256, aspect kept), so every method
counts frames the same way and sees the same bad-input handling. The end-to-end
``scenedetect.detect()`` speed, with its own decoder, is timed separately in
benchmarks/split_speed.py.

``content`` is ContentDetector with its default hue/saturation/luma weights (the paper's
"PySceneDetect (HSL)"); ``content_edges`` adds the edge component (the paper's "HSL + edge").
"""

from __future__ import annotations

import os

import numpy as np
from scenedetect import AdaptiveDetector, ContentDetector, FrameTimecode, HashDetector, HistogramDetector

from koala.io.video import VideoInfo, read_frames
from koala.split.registry import Detection, Detector, register

SCENEDETECT_WIDTH = 256  # scenedetect.scene_manager.DEFAULT_MIN_WIDTH: its auto-downscale target


def decode_width(width: int) -> int:
    """The width scenedetect's auto-downscale gives a frame ``width`` pixels wide."""
    return width if width < SCENEDETECT_WIDTH else max(2, int(round(width / (width / SCENEDETECT_WIDTH))))


class _SceneDetect(Detector):
    """Runs one scenedetect detector over the video; its cuts become (k - 1, k) spans."""

    decode = "width 256"

    def make(self):
        raise NotImplementedError

    def features(self, path: str | os.PathLike, info: VideoInfo) -> dict[str, np.ndarray]:
        det = self.make()
        cuts: list[int] = []
        n = 0
        for batch in read_frames(path, info=info, width=decode_width(info.width)):
            for i, frame in zip(batch.index, batch.frames):
                bgr = np.ascontiguousarray(frame[..., ::-1])
                cuts += [tc.frame_num for tc in det.process_frame(FrameTimecode(int(i), fps=info.fps), bgr)]
                n = int(i) + 1
        if n:
            cuts += [tc.frame_num for tc in det.post_process(FrameTimecode(n - 1, fps=info.fps))]
        return {"cuts": np.asarray(sorted(set(c for c in cuts if 0 < c < n)), np.int64), "num_frames": np.asarray([n])}

    def detect(self, feats: dict[str, np.ndarray], *, num_frames: int, fps: float) -> Detection:
        return Detection(spans=[(int(c) - 1, int(c)) for c in feats["cuts"]], num_frames=int(feats["num_frames"][0]))


@register("content")
class Content(_SceneDetect):
    """ContentDetector, default weights: hue, saturation, luma (the paper's "HSL")."""

    def make(self):
        return ContentDetector()


@register("content_edges")
class ContentEdges(_SceneDetect):
    """ContentDetector with the edge component added (the paper's "HSL + edge")."""

    def make(self):
        return ContentDetector(weights=ContentDetector.Components(delta_hue=1.0, delta_sat=1.0, delta_lum=1.0, delta_edges=1.0))


@register("adaptive")
class Adaptive(_SceneDetect):
    def make(self):
        return AdaptiveDetector()


@register("hash")
class Hash(_SceneDetect):
    def make(self):
        return HashDetector()


@register("histogram")
class Histogram(_SceneDetect):
    def make(self):
        return HistogramDetector()
