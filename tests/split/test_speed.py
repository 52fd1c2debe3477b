"""The speed table's plumbing (not its timings: those are benchmarks/split_speed.py's job)."""

from __future__ import annotations

import numpy as np

from koala.config import SplitConfig
from koala.split import speed


def test_speed_tables_time_every_method_at_every_size(one_shot, tmp_path):
    wall, cpu = speed.speed_tables(one_shot, methods=("learned", "content"), cfg=SplitConfig(), labels=("256",), frames=12,
                                   cache_dir=tmp_path / "cache", repeat=2)
    names = ["raw decode (floor)", "content (scenedetect.detect)", "learned", "content"]
    for t in (wall, cpu):
        assert list(t.index) == names and list(t.columns) == ["256"]
        assert np.isfinite(t.to_numpy()).all() and (t.to_numpy() > 0).all()
    assert (tmp_path / "cache" / "one_shot_256_12.mp4").exists()
    r = speed.ratios(wall, baseline="raw decode (floor)")
    assert r.loc["raw decode (floor)", "256"] == 1.0


def test_fast_decode_stays_close_to_the_exact_frames(two_shots):
    """Skipping the deblocking filter (the learned detector's default decode) changes a thumbnail by
    well under a grey level on average; tolerance 2 levels."""
    from koala.io.video import read_all

    path, _ = two_shots
    exact = read_all(path, height=64, width=64).astype(np.int16)
    fast = read_all(path, height=64, width=64, fast=True).astype(np.int16)
    assert exact.shape == fast.shape
    assert np.abs(exact - fast).mean() < 2.0
