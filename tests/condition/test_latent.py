"""The per-frame PCA latent: round trip, whitening, and that it keeps the motion order the sweep measures."""

import numpy as np
import torch
from scipy.stats import spearmanr

from koala.condition.data import measure
from koala.condition.latent import FrameCodec
from koala.config import ScoreConfig


def _pans(n=24, t=6, size=24, seed=0):
    """``n`` windows of one texture panning 0..2.3 px per frame (the first is still)."""
    import cv2

    rng = np.random.default_rng(seed)
    big = cv2.resize(rng.random((20, 60, 3)).astype(np.float32), (6 * size, 2 * size), interpolation=cv2.INTER_CUBIC)
    big = np.clip(big * 255, 0, 255).astype(np.uint8)
    speeds = np.linspace(0, 2.3, n)
    clips = np.stack([np.stack([cv2.warpAffine(big, np.float32([[1, 0, -v * i - 4 - 3 * j], [0, 1, -4]]), (size, size))
                                for i in range(t)]) for j, v in enumerate(speeds)])
    return clips, speeds


def test_round_trip_is_close_and_latents_are_whitened():
    clips, _ = _pans()
    codec = FrameCodec.fit(clips, 40, seed=0)
    z = codec.encode(clips)
    assert z.shape == (24, 6, 40) and z.dtype == np.float32
    np.testing.assert_allclose(z.reshape(-1, 40).std(axis=0), 1.0, atol=0.05)
    back = codec.decode(z)
    assert back.shape == clips.shape and back.dtype == np.uint8
    assert np.abs(back.astype(int) - clips.astype(int)).mean() < 6
    torch_back = codec.decode(torch.from_numpy(z))
    np.testing.assert_array_equal(torch_back, back)


def test_component_count_is_capped_by_the_frames():
    clips, _ = _pans(n=2, t=3)
    assert FrameCodec.fit(clips, 50, seed=0).k == 5
    assert FrameCodec.fit(_pans()[0], 50, seed=0, max_frames=30).k == 29  # a seeded subset of the frames


def test_reconstructions_keep_the_motion_order():
    clips, speeds = _pans()
    codec = FrameCodec.fit(clips, 40, seed=0)
    back = codec.decode(codec.encode(clips))
    cfg = ScoreConfig()
    motion = [measure(c, ("motion_score",), fps=8.0, score_cfg=cfg)["motion_score"] for c in back]
    assert spearmanr(speeds, motion).statistic > 0.9
    assert motion[0] < 0.1 * motion[-1]


def test_state_round_trip():
    clips, _ = _pans(n=6)
    codec = FrameCodec.fit(clips, 10, seed=0)
    again = FrameCodec.from_state(codec.state())
    np.testing.assert_array_equal(again.encode(clips), codec.encode(clips))
    assert again.shape == codec.shape
