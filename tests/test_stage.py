"""koala/stage.py: every per-clip stage has one signature and passes tables in memory."""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pytest

from koala.config import Params
from koala.io.tables import CAPTIONS, ERRORS
from koala.stage import STAGES, StageResult
from tests.metrics.test_stage import clips_table


@pytest.fixture
def params(tmp_path):
    p = Params()
    return dataclasses.replace(p, engine=dataclasses.replace(p.engine, workers=1, cache_dir=str(tmp_path / "cache")),
                               curate=dataclasses.replace(p.curate, out_dir=str(tmp_path / "out")))


def test_every_stage_has_the_one_signature():
    for name, fn in STAGES.items():
        assert list(inspect.signature(fn).parameters) == ["clips", "params", "engine"], name


def test_score_caption_posters_through_the_seam(make_video, tmp_path, params):
    good = make_video("good.mp4", n=60, width=96, height=64)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all")
    clips = clips_table([
        {"clip_id": "g0", "video_id": "good", "start_frame": 0, "end_frame": 30, "video": str(good)},
        {"clip_id": "g1", "video_id": "good", "start_frame": 30, "end_frame": 60, "video": str(good)},
        {"clip_id": "g2", "video_id": "good", "start_frame": 59, "end_frame": 60, "video": str(good)},  # one frame: no caption
        {"clip_id": "b0", "video_id": "bad", "start_frame": 0, "end_frame": 10, "video": str(bad)},
    ])
    scored = STAGES["score"](clips, params, params.engine)
    assert isinstance(scored, StageResult) and set(scored.table["clip_id"]) == {"g0", "g1", "g2"}
    assert scored.errors["key"].tolist() == ["bad"] and list(scored.errors.columns) == ERRORS.names
    joined = clips.merge(scored.table[["clip_id", "text_area", "border_fraction"]], on="clip_id", how="left")
    cap = STAGES["caption"](joined, params, params.engine)
    assert cap.table["clip_id"].tolist() == ["g0", "g1"] and list(cap.table.columns) == CAPTIONS.names
    assert sorted(cap.errors["key"]) == ["b0", "g2"] and cap.summary["clips"] == 2
    assert "fewer than two frames" in cap.errors.set_index("key").loc["g2", "message"]
    post = STAGES["posters"](clips, params, params.engine)
    got = dict(zip(post.table["clip_id"], post.table["poster"]))
    assert got["g0"] == "posters/g0.jpg" and (tmp_path / "out" / got["g0"]).is_file()
    assert post.errors["key"].tolist() == ["bad"]


def test_vtss_without_a_model_says_so(make_video, params):
    from koala.vtss.predict import NoTrainedModel

    good = make_video("good.mp4", n=20)
    clips = clips_table([{"clip_id": "g0", "video_id": "good", "start_frame": 0, "end_frame": 20, "video": str(good)}])
    p = dataclasses.replace(params, vtss=dataclasses.replace(params.vtss, model_path="/nonexistent/tsa.pt"))
    with pytest.raises(NoTrainedModel, match="no trained TSA"):
        STAGES["vtss"](clips, p, p.engine)
    assert np.all(STAGES["vtss"](clips.iloc[:0], p, p.engine).table.columns == ["clip_id", "video_id", "vtss", "vtss_raw",
                                                                                   "vtss_raw_clips", "frames_sampled", "model"])


def test_read_clips_resolves_videos_and_joins_the_score_columns(make_video, tmp_path, params):
    import json

    import pandas as pd

    from koala.io.tables import CLIPS, read_table, write_table
    from koala.stage import read_clips, run_saved

    make_video("v.mp4", n=30, width=96, height=64)  # tmp_path/videos/v.mp4, named relative to the table
    write_table(clips_table([{"clip_id": "v0", "video_id": "v", "start_frame": 0, "end_frame": 30, "video": "videos/v.mp4"},
                             {"clip_id": "v1", "video_id": "v", "start_frame": 10, "end_frame": 30, "video": "videos/v.mp4"}]),
                tmp_path / "clips.parquet", CLIPS)
    pd.DataFrame({"clip_id": ["v0"], "text_area": [0.25], "border_fraction": [0.0], "motion_score": [3.0]}).to_parquet(tmp_path / "m.parquet")
    clips = read_clips(tmp_path / "clips.parquet", scored=tmp_path / "m.parquet")
    assert clips["video"].tolist() == [str(tmp_path / "videos" / "v.mp4")] * 2
    assert clips["text_area"].iloc[0] == 0.25 and np.isnan(clips["text_area"].iloc[1]) and "motion_score" not in clips
    with pytest.raises(FileNotFoundError, match="none.parquet: no such metrics table"):
        read_clips(tmp_path / "clips.parquet", scored=tmp_path / "none.parquet")
    with pytest.raises(FileNotFoundError, match="koala split"):
        read_clips(tmp_path / "no_clips.parquet")
    res = run_saved("score", read_clips(tmp_path / "clips.parquet"), params, out=tmp_path / "out" / "s.parquet",
                    errors=tmp_path / "out" / "e.parquet", summary=tmp_path / "out" / "s.json")
    assert read_table(tmp_path / "out" / "s.parquet")["clip_id"].tolist() == ["v0", "v1"]
    assert json.loads((tmp_path / "out" / "s.json").read_text())["scored"] == 2 and read_table(tmp_path / "out" / "e.parquet").empty
    assert set(res.timings["clip_id"]) == {"v0", "v1"}  # the score stage's per-step timings travel with its result
