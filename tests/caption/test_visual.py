"""Visual language measures: exposure, palette and letterbox bars from one luma conversion."""

import cv2
import numpy as np

from koala.caption.visual import border_bars, visual_stats
from koala.config import MeasuredCaptionConfig


def test_visual_stats_bars_and_exposure_match_their_own_measures():
    rng = np.random.default_rng(5)
    frames = rng.integers(60, 220, (6, 90, 160, 3)).astype(np.uint8)
    frames[:, :12] = 4  # letterbox bars, top and bottom
    frames[:, -12:] = 4
    cfg = MeasuredCaptionConfig()
    v = visual_stats(frames, cfg, text_area=float("nan"))
    assert v.bars == border_bars(frames, cfg.border_level)
    assert v.bars[0] > 0.1 and v.bars[1] > 0.1 and v.bars[2] == v.bars[3] == 0
    inner = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames])[:, 12:-12].astype(np.float32)
    assert v.luma == float(inner.mean()) and v.contrast == float(inner.std())
