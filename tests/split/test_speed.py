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
