"""Noise: the estimate follows added Gaussian noise. Blockiness: JPEG-coded copies show the 8-px grid."""

import cv2
import numpy as np
import pytest

from koala.metrics.compression import blockiness, blockiness_of, noise, noise_sigma

from .conftest import pan, texture


def gray_texture(h=360, w=640, seed=0):
    return cv2.cvtColor(texture(h, w, seed, grain=8), cv2.COLOR_RGB2GRAY)


@pytest.mark.parametrize("sigma", [2.0, 5.0, 10.0])
def test_noise_estimate_follows_added_noise(sigma):
    g = gray_texture().astype(np.float32)
    rng = np.random.default_rng(0)
    noisy = np.clip(g + rng.normal(0, sigma, g.shape), 0, 255).astype(np.uint8)
    assert noise_sigma(noisy) == pytest.approx(sigma, rel=0.25)
    assert noise_sigma(g.astype(np.uint8)) < 1.0


def test_noisier_clip_scores_higher(clip_of):
    frames = pan(4, 180, 320, dx=1.0)
    rng = np.random.default_rng(1)
    noisy = np.clip(frames + rng.normal(0, 6, frames.shape), 0, 255).astype(np.uint8)
    a, b = clip_of(frames), clip_of(noisy)
    assert noise(b, b.cfg) > noise(a, a.cfg) + 3


def jpeg(frames, quality):
    out = []
    for f in frames:
        ok, buf = cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, quality])
        out.append(cv2.imdecode(buf, cv2.IMREAD_UNCHANGED))
    return np.stack(out)


def test_jpeg_blocks_raise_blockiness(clip_of):
    frames = pan(4, 360, 640, dx=1.0, seed=4)
    clean = clip_of(frames)
    blocky = clip_of(jpeg(frames, 8))
    assert blockiness(blocky, blocky.cfg) > 3 * blockiness(clean, clean.cfg)
    assert blockiness(clean, clean.cfg) < 0.05


def test_blocks_are_found_after_downscaling():
    """A 720p JPEG-coded frame decoded at 360p: the grid's period is 4 px there."""
    frames = jpeg(pan(2, 720, 1280, dx=1.0, seed=5), 8)
    small = np.stack([cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), (640, 360), interpolation=cv2.INTER_AREA) for f in frames])
    clean = np.stack([cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), (640, 360), interpolation=cv2.INTER_AREA)
                      for f in pan(2, 720, 1280, dx=1.0, seed=5)])
    assert blockiness_of(small, 4.0, 4.0) > 3 * blockiness_of(clean, 4.0, 4.0)


def test_noise_estimate_is_exact_integer_arithmetic():
    """Same pixels, same value to the last bit, on a frame with many tied gradients (a flat picture with steps)."""
    from koala.metrics.compression import noise_sigma

    rng = np.random.default_rng(3)
    gray = np.repeat(np.repeat(rng.integers(60, 200, size=(45, 80)), 8, 0), 8, 1).astype(np.uint8)
    gray = np.clip(gray + rng.normal(0, 4, gray.shape), 0, 255).astype(np.uint8)
    values = {noise_sigma(gray.copy()) for _ in range(5)}
    assert len(values) == 1 and 2.5 < values.pop() < 5.5
