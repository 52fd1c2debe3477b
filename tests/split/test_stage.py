"""The split stage: clips over a videos table, every method scored on its truth, Table 3 rows."""

from __future__ import annotations

import dataclasses
import json

import pytest

from koala.config import Params
from koala.corpus.videos import video_row
from koala.io.tables import CLIPS, VIDEOS, read_table, write_table
from koala.split import stage


@pytest.fixture
def params(tmp_path, two_shots, one_shot):
    """Params whose videos table holds the two-shot video (one true cut) and a one-shot negative."""
    import pandas as pd

    path, k = two_shots
    rows = [
        video_row({"path": str(path), "source": "bench_transitions", "truth": [{"type": "cut", "first_frame": k - 1, "last_frame": k}]}),
        video_row({"path": str(one_shot), "source": "bench_negative_flash"}),
    ]
    videos = tmp_path / "videos.parquet"
    write_table(pd.DataFrame(rows)[VIDEOS.names], videos, VIDEOS)
    p = Params()
    split = dataclasses.replace(p.split, videos_table=str(videos), clips_table=str(tmp_path / "clips.parquet"),
                                errors_table=str(tmp_path / "errors.parquet"), eval_clip_sec=1.0,
                                heldout=dataclasses.replace(p.split.heldout, shots_table=str(tmp_path / "no_shots.parquet")))
    return dataclasses.replace(p, split=split, engine=dataclasses.replace(p.engine, workers=1, cache_dir=str(tmp_path / "cache")))


def test_run_split_writes_clips_and_scores_each_method(params, tmp_path, monkeypatch):
    import koala.split.transnet as tn

    monkeypatch.setattr(tn, "missing", lambda: "not installed here")
    res = stage.run_split(params, metrics_path=tmp_path / "split.json", methods=("css", "content", "transnetv2"))
    clips = read_table(params.split.clips_table, CLIPS)
    assert set(clips["method"]) == {"auto"} and set(clips["video_id"]) == {"two_shots", "one_shot"}
    m = json.loads((tmp_path / "split.json").read_text())
    assert m["detector"] == "learned" and set(m["methods"]) == {"learned", "css", "content"}
    assert m["missing_methods"] == {"transnetv2": "not installed here"}
    assert "no_shots.parquet" in m["heldout"]["missing"]  # no real corpus here: the held-out entry says why
    ours = m["methods"]["learned"]
    assert ours["transitions"] == 1 and ours["f1"] == 1.0 and ours["dirty_share"] == 0.0 and ours["negative_detections"] == 0
    # the cut costs no frame: every frame of both videos is in a clean clip
    assert ours["yield"] == 1.0 and ours["impure_share"] == 0.0 and m["yield"] == 1.0
    auto = clips[clips["video_id"] == "two_shots"]
    assert auto["start_frame"].tolist()[1] == auto["end_frame"].tolist()[0]
    summary = stage.summary_table(res.metrics["methods"])
    assert list(summary.index) == ["learned", "css", "content"] and {"f1", "yield", "impure_share"} <= set(summary.columns)
    t3 = stage.table3(res.metrics)
    assert list(t3["method"]) == ["learned", "css", "content", "transnetv2"]
    assert t3.set_index("method").loc["css", "paper_recall"] == 0.9395  # the paper's row beside ours
    assert "not run" in t3.set_index("method").loc["transnetv2", "paper_name"]
    assert set(stage.recall_by_type(res.metrics).index) == {"cut"}
    assert {"yield", "impure_share"} <= set(t3.columns)


def test_evaluate_videos_scores_any_table_and_names_missing_methods(params, monkeypatch):
    import koala.split.transnet as tn

    monkeypatch.setattr(tn, "missing", lambda: "not installed here")
    videos = read_table(params.split.videos_table, VIDEOS)
    out = stage.evaluate_videos(videos, ["content", "transnetv2"], cfg=params.split, params=params)
    assert out["transnetv2"] == {"missing": "not installed here"}
    assert out["content"]["transitions"] == 1 and 0.0 <= out["content"]["yield"] <= 1.0
