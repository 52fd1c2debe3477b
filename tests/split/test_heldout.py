"""The held-out split by source: training never sees the held-out sources' shots; the edit holds only theirs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from koala.config import LongConfig, SplitConfig, SplitHeldoutConfig, SplitTrainConfig
from koala.split import heldout as H
from koala.split import train as T


def _shots(tmp_path, synth) -> pd.DataFrame:
    rows = []
    for i, (src, kind) in enumerate([("a", "shot"), ("a", "card"), ("b", "shot"), ("c", "shot"), ("c", "shot")]):
        path = synth.write(tmp_path / f"{src}{i}.mp4", synth.textured_shot(i, 40, width=64, height=48))
        rows.append({"shot_id": f"{src}_{i:04d}", "source": src, "path": str(path), "start_frame": 0, "end_frame": 40,
                     "num_frames": 40, "fps": 25.0, "kind": kind})
    return pd.DataFrame(rows)


def test_split_by_source_is_disjoint(tmp_path, synth):
    shots = _shots(tmp_path, synth)
    held, train = H.heldout_shots(shots, ("c",)), H.training_shots(shots, ("c",))
    assert set(held["source"]) == {"c"} and set(train["source"]) == {"a", "b"}
    assert "card" not in set(held["kind"]) | set(train["kind"])


def test_training_reads_only_the_training_sources(tmp_path, synth):
    shots = _shots(tmp_path, synth)
    table = tmp_path / "shots.parquet"
    shots.to_parquet(table)
    cfg = SplitConfig(train=SplitTrainConfig(real_shots=str(table)), heldout=SplitHeldoutConfig(sources=("c",)))
    got = T.real_shots(cfg, size=32)
    assert sorted(got) == ["a_0000", "b_0002"]
    assert got["a_0000"].shape == (40, 32, 32, 3)
    assert T.real_shots(dataclasses.replace(cfg, train=SplitTrainConfig(real_shots="")), size=32) == {}


def test_sources_weigh_alike_however_many_shots():
    names = ["music_video_0000", "music_video_0001", "music_video_0002", "cockatoo_0000", "-KuN4XkUQBI_1.mp4"]
    assert [T.source_of(n) for n in names] == ["music_video"] * 3 + ["cockatoo", "-KuN4XkUQBI_1.mp4"]
    w = T.video_weights(names)
    np.testing.assert_allclose([w[:3].sum(), w[3], w[4]], [1 / 3] * 3)


def test_heldout_edit_is_built_once_from_held_out_shots(tmp_path, synth):
    shots = _shots(tmp_path, synth)
    table = tmp_path / "shots.parquet"
    shots.to_parquet(table)
    cfg = SplitConfig(heldout=SplitHeldoutConfig(sources=("b", "c"), shots_table=str(table), minutes=0.1, seed=1, out_dir=str(tmp_path / "h")))
    long_cfg = LongConfig(width=64, height=48, shot_sec_min=0.4, shot_sec_max=1.0, transition_sec_min=0.12, transition_sec_max=0.2)
    videos = H.heldout_videos(cfg, long_cfg)
    assert len(videos) == 1 and videos["source"].iloc[0] == "split_heldout"
    assert len(videos["truth"].iloc[0]) >= 1
    mtime = (tmp_path / "h" / "videos.parquet").stat().st_mtime_ns
    again = H.heldout_videos(cfg, long_cfg)  # reused, not rendered again
    assert (tmp_path / "h" / "videos.parquet").stat().st_mtime_ns == mtime
    assert again["video_id"].tolist() == videos["video_id"].tolist()
