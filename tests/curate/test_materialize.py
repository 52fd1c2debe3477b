"""`koala materialize`: Koala-36M and Panda-70M CSVs read in chunks, sources found by YouTube ID, frame-exact cuts."""

from __future__ import annotations

import shutil
import tracemalloc
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from koala.cli import main
from koala.curate import materialize as M
from koala.filter.release import RELEASE_COLUMNS, format_clock, format_timestamp
from koala.io.video import read_all
from koala.io.writer import VideoWriter

ID_A, ID_B, ID_GONE = "dQw4w9WgXcQ", "-KuN4XkUQBI", "zzzz_zzzz-8"
PANDA_COLUMNS = ["videoID", "url", "timestamp", "caption", "matching_score", "desirable_filtering", "shot_boundary_detection"]


def koala_rows(rows: list[tuple[str, int, float, float]]) -> pd.DataFrame:
    """Rows shaped like the Koala-36M release (scores made up; materialize reads videoID, url, timestamp)."""
    return pd.DataFrame([{"videoID": f"{v}_{k}", "url": f"https://www.youtube.com/watch?v={v}", "timestamp": format_timestamp(s, e),
                          "caption": "A test clip, with a comma and \"quotes\".", "clarity_score": 0.9, "aesthetic_score": 4.7208000000000006,
                          "motion_score": 3.0, "video_training_suitability_score": 4.2} for v, k, s, e in rows],
                        columns=list(RELEASE_COLUMNS))


def panda_rows(videos: dict[str, list[tuple[float, float]]]) -> pd.DataFrame:
    """Rows shaped like Panda-70M: one per video, lists of spans, captions and scores."""
    return pd.DataFrame([{"videoID": v, "url": f"https://www.youtube.com/watch?v={v}",
                          "timestamp": str([[format_clock(s), format_clock(e)] for s, e in spans]),
                          "caption": str([f"clip {k}, a caption" for k in range(len(spans))]),
                          "matching_score": str([0.4] * len(spans)), "desirable_filtering": str(["desirable"] * len(spans)),
                          "shot_boundary_detection": str([[s, e] for s, e in spans])} for v, spans in videos.items()],
                        columns=PANDA_COLUMNS)


@pytest.fixture
def shards(make_gop_video, tmp_path):
    videos = tmp_path / "videos"
    (videos / "nested").mkdir(parents=True)
    shutil.move(make_gop_video("a.mp4", n=60, gop=10), videos / f"Some title [{ID_A}].mp4")  # yt-dlp's default name
    shutil.move(make_gop_video("b.mp4", n=30, gop=10), videos / "nested" / f"{ID_B}.mp4")
    s1 = tmp_path / "Koala_36M_1.csv"
    koala_rows([(ID_A, 0, 0.4, 0.8), (ID_A, 1, 0.5, 1.3), (ID_GONE, 0, 0.0, 1.0), (ID_GONE, 1, 2.0, 3.0), (ID_B, 0, 0.0, 1.2)]).to_csv(s1, index=False)
    s2 = tmp_path / "Koala_36M_2.csv"
    koala_rows([(ID_A, 5, 2.0, 2.4), (ID_B, 1, 5.0, 6.0)]).to_csv(s2, index=False)
    return {"videos": videos, "csv": [s1, s2], "out": tmp_path / "out"}


def test_koala_clips_are_found_by_youtube_id_and_cut_at_their_timestamps(shards, frame_number):
    res = M.materialize(shards["csv"], videos_dir=shards["videos"], out_dir=shards["out"], chunk_rows=2)
    assert (res.rows, res.written, res.missing_clips, res.missing_videos, res.failed) == (7, 4, 2, 1, 1)
    assert res.modes == {"copy": 3, "reencode": 1}
    table = pd.read_csv(shards["out"] / "materialized.csv", keep_default_na=False)
    assert list(table["status"]) == ["cut", "cut", "cut", "cut", "failed"]
    assert list(table["videoID"][:4]) == [f"{ID_A}_0", f"{ID_A}_1", f"{ID_B}_0", f"{ID_A}_5"]
    assert table["clip_path"].iloc[0] == f"clips/{ID_A}/{ID_A}_0.mp4"
    assert list(table["mode"][:4]) == ["copy", "reencode", "copy", "copy"]  # whole GOPs (0.4 s = frame 10) are copied
    assert "holds no frames" in table["message"].iloc[4]  # 5-6 s is past the end of a 1.2 s video
    expect = {0: range(10, 20), 1: range(12, 32), 2: range(0, 30), 3: range(50, 60)}  # 12.5 and 32.5 frames: ties go earlier
    for k, frames in expect.items():
        clip = read_all(shards["out"] / table["clip_path"].iloc[k])
        assert [frame_number(f) for f in clip] == list(frames), table.iloc[k].to_dict()
    missing = pd.read_csv(shards["out"] / "missing_videos.csv", keep_default_na=False)
    assert list(missing["source_id"]) == [ID_GONE]  # the YouTube ID (it holds '_' and '-'), not the videoID
    assert len(pd.read_csv(shards["out"] / "missing_clips.csv")) == 2


def test_lookup_keys_follow_url_then_videoid():
    assert M.source_keys(f"{ID_B}_12", f"https://youtu.be/{ID_B}", M.KOALA).split("\n") == [ID_B, f"{ID_B}_12"]
    assert M.source_keys("my_video_3", "file:///data/my_video.mp4", M.KOALA).split("\n") == ["/data/my_video.mp4", "my_video", "my_video_3"]
    assert M.source_keys(ID_B, "", M.PANDA) == ID_B  # Panda's videoID is the bare ID, '_' and all


def test_a_second_run_reuses_the_clips(shards):
    M.materialize(shards["csv"], videos_dir=shards["videos"], out_dir=shards["out"])
    res = M.materialize(shards["csv"], videos_dir=shards["videos"], out_dir=shards["out"])
    assert res.written == 0 and res.reused == 4


def test_panda_rows_are_told_apart_by_header_and_expanded(shards, tmp_path, frame_number):
    panda = tmp_path / "panda70m_training_2m.csv"
    panda_rows({ID_B: [(0.0, 0.4), (0.6, 1.0)], ID_GONE: [(0.0, 1.0)]}).to_csv(panda, index=False)
    assert M.csv_layout(panda) == M.PANDA and M.csv_layout(shards["csv"][0]) == M.KOALA
    old = tmp_path / "panda_old.csv"  # an older Panda file without the marker columns: told by its nested timestamps
    panda_rows({ID_B: [(0.0, 0.4)]})[["videoID", "url", "timestamp", "caption"]].to_csv(old, index=False)
    assert M.csv_layout(old) == M.PANDA
    clips = pd.concat(list(M.iter_clips(panda, chunk_rows=1, with_caption=True)), ignore_index=True)
    assert list(clips["videoID"]) == [f"{ID_B}_0", f"{ID_B}_1", f"{ID_GONE}_0"]
    assert list(clips["caption"]) == ["clip 0, a caption", "clip 1, a caption", "clip 0, a caption"]
    res = M.materialize([panda], videos_dir=shards["videos"], out_dir=tmp_path / "p")
    assert (res.rows, res.written, res.missing_videos) == (3, 2, 1)
    table = pd.read_csv(tmp_path / "p" / "materialized.csv", keep_default_na=False)
    got = [[frame_number(f) for f in read_all(tmp_path / "p" / c)] for c in table["clip_path"]]
    assert got == [list(range(0, 10)), list(range(15, 25))]


def _coded(i: int, w: int = 64, h: int = 48) -> np.ndarray:
    """Frame ``i`` (< 1728) carrying its own number: base-12 digits in red, green and blue (VideoFactory's scheme, 3 digits)."""
    arr = np.empty((h, w, 3), np.uint8)
    arr[..., 0], arr[..., 1], arr[..., 2] = 16 + 20 * (i % 12), 16 + 20 * (i // 12 % 12), 16 + 20 * (i // 144)
    return arr


def _decoded(frame: np.ndarray) -> int:
    h, w = frame.shape[:2]
    c = frame[h // 2 - 2 : h // 2 + 2, w // 2 - 2 : w // 2 + 2].reshape(-1, 3).mean(0)
    d = [int(round((c[j] - 16) / 20)) for j in range(3)]
    return d[2] * 144 + d[1] * 12 + d[0]


def test_cuts_are_frame_exact_on_a_long_source_in_both_layouts(tmp_path):
    """A 50 s, 29.97 fps source whose frames carry their index; spans at arbitrary milliseconds.

    Targets (issue 19): the first frame within 1 of the published start, the length within 2 frames.
    """
    fps = Fraction(30000, 1001)
    n = 1500
    videos = tmp_path / "videos"
    videos.mkdir()
    with VideoWriter(videos / f"{ID_A}.mp4", fps=fps, width=64, height=48, crf=10) as w:
        for i in range(n):
            w.write(_coded(i))
    rng = np.random.default_rng(0)
    starts = np.sort(rng.uniform(0, 45, 6))
    spans = [(round(float(s), 3), round(float(s + rng.uniform(0.5, 4.0)), 3)) for s in starts]
    kcsv, pcsv = tmp_path / "koala.csv", tmp_path / "panda.csv"
    koala_rows([(ID_A, k, s, e) for k, (s, e) in enumerate(spans)]).to_csv(kcsv, index=False)
    panda_rows({ID_A: spans}).to_csv(pcsv, index=False)
    for csv_path, out in ((kcsv, tmp_path / "k"), (pcsv, tmp_path / "p")):
        res = M.materialize([csv_path], videos_dir=videos, out_dir=out)
        assert res.written == len(spans), res.describe()
        table = pd.read_csv(out / "materialized.csv", keep_default_na=False)
        for (s, e), rel in zip(spans, table["clip_path"]):
            got = [_decoded(f) for f in read_all(out / rel)]
            assert got == list(range(got[0], got[0] + len(got))), rel  # consecutive source frames
            assert abs(got[0] - s * float(fps)) <= 1.0, (rel, s, got[0])
            assert abs(len(got) - (e - s) * float(fps)) <= 2.0, (rel, e - s, len(got))


def _synthetic_shard(path, rows: int) -> int:
    """A release-shaped CSV of ``rows`` clips (~600-byte captions) whose sources are absent; returns its size."""
    cap = '"' + ("The camera pans slowly across a ""quiet"" street, with trees, cars and people, " * 8) + '"'
    with open(path, "w") as fh:
        fh.write(",".join(RELEASE_COLUMNS) + "\n")
        for i in range(rows):
            vid = f"Ab{i:08d}Q"
            fh.write(f"{vid}_{i % 7},https://www.youtube.com/watch?v={vid},\"['0:00:0{i % 10}.000', '0:00:1{i % 10}.500']\","
                     f"{cap},0.9014000000000001,4.7208000000000006,22.03,4.48\n")
    return path.stat().st_size


def test_memory_stays_flat_in_the_csv_size(tmp_path):
    """Peak traced memory for a 4x larger CSV stays within 1.5x (plus 1 MB) and far below the file's size
    (measured: about 1.2 MB for both a 1.5 MB and a 5.9 MB shard, 500-row chunks)."""
    (tmp_path / "none").mkdir()
    peaks, sizes = [], []
    for rows in (2_000, 8_000):
        path = tmp_path / f"shard_{rows}.csv"
        sizes.append(_synthetic_shard(path, rows))
        tracemalloc.start()
        res = M.materialize([path], videos_dir=tmp_path / "none", out_dir=tmp_path / f"out{rows}", chunk_rows=500)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert res.missing_clips == rows and res.missing_videos == rows
    assert peaks[1] < 1.5 * peaks[0] + 1_000_000, (peaks, sizes)
    assert peaks[1] < sizes[1] / 3, (peaks, sizes)


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
    err = capsys.readouterr().err
    assert "bad.csv" in err and "not a Koala-36M or Panda-70M CSV" in err
    assert main(["materialize", str(shards["csv"][0]), "--videos", str(tmp_path / "none"), "--out", str(shards["out"])]) == 2
    assert "no such folder" in capsys.readouterr().err
