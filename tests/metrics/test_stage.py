"""The score stage and `koala score`: one row per clip, bad videos in the errors table, resume."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from koala.cli import main
from koala.config import Params
from koala.io.tables import CLIPS, read_table, write_table
from koala.metrics.registry import METRIC_NAMES
from koala.metrics.stage import METRICS_TABLE, _wanted, clips_from_truth, score_clips
from koala.stage import read_clips, run_saved


def clips_table(rows):
    df = pd.DataFrame(rows)
    df["clip_index"] = range(len(df))
    df["start_sec"] = df["start_frame"] / 25.0
    df["end_sec"] = df["end_frame"] / 25.0
    df["fps"] = 25.0
    df["method"] = "test"
    return df[CLIPS.names]


@pytest.fixture
def params(tmp_path):
    import dataclasses

    p = Params()
    return dataclasses.replace(p, engine=dataclasses.replace(p.engine, workers=1, cache_dir=str(tmp_path / "cache")))


def test_two_clips_of_one_video_and_a_bad_video(make_video, tmp_path, params):
    good = make_video("good.mp4", n=60, width=96, height=64)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all")
    clips = clips_table([
        {"clip_id": "g-0", "video_id": "g", "start_frame": 0, "end_frame": 30, "video": str(good)},
        {"clip_id": "g-1", "video_id": "g", "start_frame": 30, "end_frame": 60, "video": str(good)},
        {"clip_id": "b-0", "video_id": "b", "start_frame": 0, "end_frame": 10, "video": str(bad)},
    ])
    res = score_clips(clips, params.score, params)
    assert list(res.table["clip_id"]) == ["g-0", "g-1"]
    assert list(res.table.columns) == METRICS_TABLE.names
    assert list(res.errors["path"]) == [str(bad)] and "bad.mp4" in res.errors["message"].iloc[0]
    # frames change colour every frame in make_video: nothing is frozen, and there is no text
    assert (res.table["frozen_fraction"] == 0).all() and (res.table["text_area"] < 0.05).all()
    assert res.table["aesthetic_score"].isna().all() and res.table["nan_reasons"].str.contains("aesthetic_score").all()
    assert (res.table["frames_scored"] >= 8).all()
    assert set(res.timings.columns) >= {"clip_id", "flow", *METRIC_NAMES}


def test_clip_scores_match_a_clip_scored_alone(make_video, params):
    """Routing frames of one decode to several clips gives the same numbers as one clip per table."""
    v = make_video("v.mp4", n=80, width=96, height=64)
    both = clips_table([{"clip_id": "a", "video_id": "v", "start_frame": 3, "end_frame": 40, "video": str(v)},
                        {"clip_id": "b", "video_id": "v", "start_frame": 40, "end_frame": 80, "video": str(v)}])
    alone = clips_table([{"clip_id": "b", "video_id": "v", "start_frame": 40, "end_frame": 80, "video": str(v)}])
    t1 = score_clips(both, params.score, params).table.set_index("clip_id")
    t2 = score_clips(alone, params.score, params).table.set_index("clip_id")
    cols = [c for c in METRIC_NAMES if c != "aesthetic_score"]
    assert np.allclose(t1.loc["b", cols].astype(float), t2.loc["b", cols].astype(float), equal_nan=True)


def test_sampling_grid():
    assert list(_wanted(0, 30, 0, 3, 64)) == list(range(0, 30, 3))
    assert list(_wanted(31, 40, 0, 3, 64)) == [33, 36, 39]
    assert len(_wanted(0, 3000, 0, 3, 64)) == 64
    assert list(_wanted(5, 6, 0, 3, 64)) == [5]


def test_cli_writes_tables_and_resumes(make_video, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    v = make_video("v.mp4", n=40, width=96, height=64)
    write_table(clips_table([{"clip_id": "v-0", "video_id": "v", "start_frame": 0, "end_frame": 40, "video": str(v)}]),
                tmp_path / "clips.parquet", CLIPS)
    assert main(["score", "clips.parquet", "--out", "m.parquet", "--metrics", "m.json"]) == 0
    table = read_table(tmp_path / "m.parquet", METRICS_TABLE)
    assert list(table["clip_id"]) == ["v-0"]
    assert json.loads((tmp_path / "m.json").read_text())["scored"] == 1
    assert read_table(tmp_path / "m.errors.parquet").empty
    res = run_saved("score", read_clips(tmp_path / "clips.parquet"), Params(), out=tmp_path / "m2.parquet", errors=tmp_path / "e2.parquet")
    assert res.summary["scored"] == 1  # the second run reuses the cached item
    assert (tmp_path / "data" / "cache" / "score").is_dir()


def test_cli_missing_or_broken_clips_table_exits_2(tmp_path, capsys):
    assert main(["score", str(tmp_path / "none.parquet"), "--out", str(tmp_path / "m.parquet")]) == 2
    assert "none.parquet" in capsys.readouterr().err
    junk = tmp_path / "junk.parquet"
    junk.write_text("nope")
    assert main(["score", str(junk), "--out", str(tmp_path / "m.parquet")]) == 2
    assert "junk.parquet" in capsys.readouterr().err
    write_table(pd.DataFrame({"clip_id": ["x"]}), tmp_path / "thin.parquet")
    assert main(["score", str(tmp_path / "thin.parquet"), "--out", str(tmp_path / "m.parquet")]) == 2
    assert "lacks columns" in capsys.readouterr().err


def test_clips_from_truth_cuts_at_transitions():
    videos = pd.DataFrame([{"video_id": "x", "path": "x.mp4", "num_frames": 100, "fps": 25.0,
                            "truth": [{"type": "cut", "first_frame": 29, "last_frame": 30},
                                      {"type": "dissolve", "first_frame": 60, "last_frame": 69}]}])
    clips = clips_from_truth(videos)
    assert list(zip(clips["start_frame"], clips["end_frame"])) == [(0, 30), (30, 60), (70, 100)]


def test_help_lists_the_score_stage():
    out = subprocess.run([sys.executable, "-m", "koala.cli", "score", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--out" in out.stdout


def test_very_short_clips_are_scored_not_dropped(make_video, params):
    v = make_video("v.mp4", n=30, width=96, height=64)
    clips = clips_table([{"clip_id": "one", "video_id": "v", "start_frame": 4, "end_frame": 5, "video": str(v)},
                         {"clip_id": "two", "video_id": "v", "start_frame": 10, "end_frame": 12, "video": str(v)},
                         {"clip_id": "long", "video_id": "v", "start_frame": 12, "end_frame": 30, "video": str(v)}])
    res = score_clips(clips, params.score, params)
    t = res.table.set_index("clip_id")
    assert list(t.index) == ["one", "two", "long"] and res.errors.empty
    assert np.isnan(t.loc["one", "motion_score"]) and "motion_score" in t.loc["one", "nan_reasons"]
    assert t.loc["two", "frames_scored"] == 2 and np.isfinite(t.loc["two", "motion_score"])


def test_items_carry_the_metric_code_version(make_video, params):
    from koala.engine import code_version
    from koala.metrics.stage import video_items

    v = make_video("v.mp4", n=10, width=96, height=64)
    items = video_items(clips_table([{"clip_id": "a", "video_id": "v", "start_frame": 0, "end_frame": 10, "video": str(v)}]), params.score)
    assert items[0]["code"] == code_version("koala.metrics", "koala.motion", "koala.camera_path", "koala.io")


def test_configured_paths_are_the_dvc_stage_deps_and_outs():
    """dvc.yaml cannot read paths from the config, so the two are checked against each other."""
    from pathlib import Path

    import yaml

    from koala.config import load_params

    root = Path(__file__).resolve().parents[2]
    cfg = load_params(root / "params.yaml").score
    stage = yaml.safe_load((root / "dvc.yaml").read_text())["stages"]["score"]
    outs = {next(iter(o)) if isinstance(o, dict) else o for o in stage["outs"]}
    assert {cfg.metrics_table, cfg.errors_table} <= outs
    assert cfg.clips_table in stage["deps"] and "score" in stage["params"]


def test_rotated_and_tiny_videos_score(make_video, params):
    """A rotated phone video is scored upright; a video smaller than every analysis size is never enlarged."""
    rot = make_video("rot.mp4", n=30, width=96, height=64, rotation=90, marker=True)
    tiny = make_video("tiny.mp4", n=30, width=34, height=18)
    clips = clips_table([{"clip_id": "r", "video_id": "r", "start_frame": 0, "end_frame": 30, "video": str(rot)},
                         {"clip_id": "t", "video_id": "t", "start_frame": 0, "end_frame": 30, "video": str(tiny)}])
    res = score_clips(clips, params.score, params)
    assert res.errors.empty and list(res.table["clip_id"]) == ["r", "t"]
    assert res.table.drop(columns=["aesthetic_score", "camera_motion", "camera_shake"]).select_dtypes("number").notna().all().all()


def test_relative_video_paths_resolve_from_the_cwd_or_the_table(make_video, tmp_path, monkeypatch):
    v = make_video("v.mp4", n=20, width=96, height=64)  # tmp_path/videos/v.mp4
    write_table(clips_table([{"clip_id": "v-0", "video_id": "v", "start_frame": 0, "end_frame": 20, "video": "videos/v.mp4"}]),
                tmp_path / "clips.parquet", CLIPS)
    elsewhere = tmp_path / "run"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    res = run_saved("score", read_clips(tmp_path / "clips.parquet"), Params(), out=elsewhere / "m.parquet", errors=elsewhere / "e.parquet")
    assert res.errors.empty and list(res.table["clip_id"]) == ["v-0"]
    assert v.exists()


def test_a_long_video_cut_into_items_keeps_its_video_id(make_video, tmp_path):
    """A long video's clips are scored as several engine items (``score.item_sec``); each row still names its video."""
    import dataclasses

    v = make_video("long.mp4", n=100, width=96, height=64)
    clips = clips_table([{"clip_id": f"long-{k}", "video_id": "long", "start_frame": 20 * k, "end_frame": 20 * k + 20,
                          "video": str(v)} for k in range(5)])
    p = Params()
    p = dataclasses.replace(p, engine=dataclasses.replace(p.engine, workers=1, cache_dir=str(tmp_path / "cache")),
                            score=dataclasses.replace(p.score, item_sec=1.5))
    from koala.metrics.stage import video_items

    assert len(video_items(clips, p.score)) > 1
    res = score_clips(clips, p.score, p)
    assert res.table["video_id"].tolist() == ["long"] * 5
