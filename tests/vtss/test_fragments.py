"""FAST-VQA fragment sampling: temporal indices, patch geometry, alignment, the streaming collector."""

from __future__ import annotations

import numpy as np
import pytest

from koala.vtss.fragments import (MEAN, STD, FragmentCollector, normalise, patch_corners, plan_fragments,
                                  sample_fragments, temporal_indices, upsampled_size)


def coded_frames(n: int, h: int, w: int) -> np.ndarray:
    """Frames whose pixels say where they are: R = row % 256, G = col % 256, B = frame number."""
    rows = np.arange(h)[None, :, None] % 256
    cols = np.arange(w)[None, None, :] % 256
    out = np.empty((n, h, w, 3), np.uint8)
    out[..., 0] = rows
    out[..., 1] = cols
    out[..., 2] = np.arange(n)[:, None, None] % 256
    return out


def test_four_clips_of_32_frames_at_interval_2_one_per_quarter():
    idx = temporal_indices(1000, rng=np.random.default_rng(0))
    assert idx.shape == (4, 32)
    assert (np.diff(idx, axis=1) == 2).all()
    for k, clip in enumerate(idx):  # each clip starts inside its quarter and fits in it
        assert 250 * k <= clip[0] and clip[-1] < 250 * (k + 1)


def test_short_clips_start_at_the_quarters_and_wrap():
    idx = temporal_indices(100, rng=np.random.default_rng(0))  # quarter of 25 < 64 frames: no random start
    assert idx[:, 0].tolist() == [0, 25, 50, 75]
    assert idx.max() < 100 and idx[3, -1] == (75 + 62) % 100
    assert (temporal_indices(1, rng=np.random.default_rng(0)) == 0).all()
    with pytest.raises(ValueError):
        temporal_indices(0, rng=np.random.default_rng(0))


def test_sampling_is_reproducible_from_the_generator():
    a = plan_fragments(300, 720, 1280, rng=np.random.default_rng(7))
    b = plan_fragments(300, 720, 1280, rng=np.random.default_rng(7))
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.rows, b.rows) and np.array_equal(a.cols, b.cols)


def test_each_patch_lies_inside_its_grid_cell():
    top, left = patch_corners(720, 1280, rng=np.random.default_rng(1))
    assert top.shape == left.shape == (4, 7, 7)
    cell_h, cell_w = 720 // 7, 1280 // 7
    i = np.arange(7)[None, :, None]
    j = np.arange(7)[None, None, :]
    assert (top >= cell_h * i).all() and (top + 32 <= cell_h * (i + 1)).all()
    assert (left >= cell_w * j).all() and (left + 32 <= cell_w * (j + 1)).all()
    assert len(np.unique(top)) > 7  # positions are drawn per patch and per clip, not one per row


def test_mosaic_pixels_are_native_resolution_crops_aligned_over_time():
    frames = coded_frames(200, 240, 256)
    plan = plan_fragments(200, 240, 256, rng=np.random.default_rng(3))
    mosaics = sample_fragments(frames, plan)
    assert mosaics.shape == (4, 32, 224, 224, 3)
    # Every 32x32 block is a contiguous crop: rows and cols step by one pixel inside it.
    block = mosaics[0, 0, 32:64, 64:96].astype(int)
    assert (np.diff(block[..., 0], axis=0) == 1).all() and (np.diff(block[..., 1], axis=1) == 1).all()
    # Temporal alignment: within a clip every frame takes its patches from the same place ...
    assert (mosaics[:, :, :, :, :2] == mosaics[:, :1, :, :, :2]).all()
    # ... the frame channel follows the clip's frame numbers ...
    assert (mosaics[..., 2] == (plan.frames % 256)[:, :, None, None]).all()
    # ... and the clips draw their own positions.
    assert not np.array_equal(plan.rows[0], plan.rows[1])


def test_small_frames_are_upsampled_to_fit_the_mosaic():
    assert upsampled_size(720, 1280) == (720, 1280)
    assert upsampled_size(112, 200) == (224, 400)
    plan = plan_fragments(40, 112, 200, rng=np.random.default_rng(0))
    assert plan.size == (224, 400)
    assert plan.rows.max() < 224 and plan.cols.max() < 400
    assert plan.rows.min() >= 0 and plan.cols.min() >= 0


def test_streaming_collector_matches_in_memory_sampling():
    frames = coded_frames(90, 230, 300)
    plan = plan_fragments(90, 230, 300, rng=np.random.default_rng(5))
    col = FragmentCollector(plan)
    for i in range(90):
        col.add(i, frames[i])
    assert col.complete
    assert np.array_equal(col.mosaics, sample_fragments(frames, plan))


def test_normalise_uses_imagenet_statistics_channels_first():
    mosaics = np.zeros((2, 32, 224, 224, 3), np.uint8)
    mosaics[..., 1] = 255
    x = normalise(mosaics)
    assert x.shape == (2, 3, 32, 224, 224)
    assert np.allclose(x[:, 0].numpy(), -MEAN[0] / STD[0]) and np.allclose(x[:, 1].numpy(), (255 - MEAN[1]) / STD[1])
