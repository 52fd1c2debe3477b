"""`koala materialize`: release CSV shards read in chunks, clips cut from local videos, missing videos listed."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from koala.cli import main
from koala.curate import materialize as M
from koala.filter.release import RELEASE_COLUMNS, format_timestamp
from koala.io.video import read_all

ID_A, ID_B, ID_GONE = "dQw4w9WgXcQ", "-KuN4XkUQBI", "zzzzzzzzzz9"


def release_rows(rows: list[tuple[str, float, float]]) -> pd.DataFrame:
    """Rows in the release schema (scores made up for the test; materialize reads only videoID and timestamp)."""
    return pd.DataFrame([{"videoID": v, "url": f"https://www.youtube.com/watch?v={v}", "timestamp": format_timestamp(s, e),
                          "caption": "A test clip, with a comma and \"quotes\".", "clarity_score": 0.9, "aesthetic_score": 5.0,
                          "motion_score": 3.0, "video_training_suitability_score": 4.2} for v, s, e in rows],
                        columns=list(RELEASE_COLUMNS))


@pytest.fixture
def shards(make_gop_video, tmp_path):
    videos = tmp_path / "videos"
    (videos / "nested").mkdir(parents=True)
    shutil.move(make_gop_video("a.mp4", n=60, gop=10), videos / f"{ID_A}.mp4")
    shutil.move(make_gop_video("b.mp4", n=30, gop=10), videos / "nested" / f"{ID_B}.mp4")
    s1 = tmp_path / "Koala_36M_1.csv"
    release_rows([(ID_A, 0.4, 0.8), (ID_A, 0.5, 1.3), (ID_GONE, 0.0, 1.0), (ID_GONE, 2.0, 3.0), (ID_B, 0.0, 1.2)]).to_csv(s1, index=False)
    s2 = tmp_path / "Koala_36M_2.csv"
    release_rows([(ID_A, 2.0, 2.4), (ID_B, 5.0, 6.0)]).to_csv(s2, index=False)
    return {"videos": videos, "csv": [s1, s2], "out": tmp_path / "out"}


def test_clips_are_cut_at_the_published_timestamps(shards, frame_number):
    res = M.materialize(shards["csv"], videos_dir=shards["videos"], out_dir=shards["out"], chunk_rows=2)
    assert (res.rows, res.written, res.missing_clips, res.missing_videos, res.failed) == (7, 4, 2, 1, 1)
    assert res.modes == {"copy": 3, "reencode": 1}
    table = pd.read_csv(shards["out"] / "materialized.csv", keep_default_na=False)
    assert list(table["status"]) == ["cut", "cut", "cut", "cut", "failed"]
    assert list(table["mode"][:4]) == ["copy", "reencode", "copy", "copy"]  # whole GOPs (0.4 s = frame 10) are copied
    assert "holds no frames" in table["message"].iloc[4]  # 5-6 s is past the end of a 1.2 s video
    expect = {0: range(10, 20), 1: range(12, 32), 2: range(0, 30), 3: range(50, 60)}
    for k, frames in expect.items():
        clip = read_all(shards["out"] / table["clip_path"].iloc[k])
        assert [frame_number(f) for f in clip] == list(frames), table.iloc[k].to_dict()
    missing = pd.read_csv(shards["out"] / "missing_videos.csv")
    assert list(missing["videoID"]) == [ID_GONE]
    assert len(pd.read_csv(shards["out"] / "missing_clips.csv")) == 2


def test_a_second_run_reuses_the_clips(shards):
    M.materialize(shards["csv"], videos_dir=shards["videos"], out_dir=shards["out"])
    res = M.materialize(shards["csv"], videos_dir=shards["videos"], out_dir=shards["out"])
    assert res.written == 0 and res.reused == 4


def test_shards_are_read_in_chunks(shards, monkeypatch):
    """Memory stays flat: pandas hands over at most chunk_rows rows at a time, never a whole shard."""
    seen = []
    real = pd.read_csv

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        if kwargs.get("chunksize"):
            def chunks():
                for c in out:
                    seen.append(len(c))
                    yield c
            return chunks()
        return out

    monkeypatch.setattr(M.pd, "read_csv", spy)
    M.materialize(shards["csv"], videos_dir=shards["videos"], out_dir=shards["out"], chunk_rows=2)
    assert seen == [2, 2, 1, 2]


def test_cli_and_bad_shards(shards, tmp_path, capsys):
    assert main(["materialize", *map(str, shards["csv"]), "--videos", str(shards["videos"]), "--out", str(shards["out"])]) == 0
    assert "1 videos missing" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    assert main(["materialize", str(bad), "--videos", str(shards["videos"]), "--out", str(shards["out"])]) == 2
    assert "not a Koala release CSV" in capsys.readouterr().err
    assert main(["materialize", str(shards["csv"][0]), "--videos", str(tmp_path / "none"), "--out", str(shards["out"])]) == 2
    assert "no such folder" in capsys.readouterr().err
