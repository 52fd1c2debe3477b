"""koala.csv in the Koala-36M release schema (koala/filter/release.py)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from koala.filter.release import (
    RELEASE_COLUMNS, format_clock, format_timestamp, parse_clock, parse_timestamp, read_release_csv, release_table,
    video_url, write_release_csv,
)


@pytest.mark.parametrize("sec, text", [
    (3723.5, "1:02:03.500"), (0.0, "0:00:00.000"), (59.9996, "0:01:00.000"), (7.8414, "0:00:07.841"),
    (36000.001, "10:00:00.001"), (5.872533, "0:00:05.873"),
])
def test_clock_format(sec, text):
    assert format_clock(sec) == text
    assert parse_clock(text) == pytest.approx(round(sec, 3), abs=1e-9)


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf")])
def test_bad_times_raise(bad):
    with pytest.raises(ValueError):
        format_clock(bad)


def test_timestamp_is_a_two_string_list_and_round_trips():
    text = format_timestamp(1.5, 3723.5)
    assert text == "['0:00:01.500', '1:02:03.500']"
    assert parse_timestamp(text) == (1.5, 3723.5)
    with pytest.raises(ValueError, match="before"):
        format_timestamp(5.0, 4.0)
    for bad in ("[1, 2]", "0:00:01.000", "['0:00:01.000']", "['0:61:00.000', '0:00:02.000']"):
        with pytest.raises(ValueError):
            parse_timestamp(bad)


def _kept() -> pd.DataFrame:
    return pd.DataFrame({
        "video_id": ["-KuN4XkUQBI_1", "abc"], "video": ["data/samples/-KuN4XkUQBI_1.mp4", "/v/abc.mp4"], "clip_index": [0, 3],
        "start_sec": [0.0, 61.25], "end_sec": [5.872533, 70.0],
        "caption": ['A man says "hi", then leaves.\nThe camera is static.', "plain"],
        "clarity_score": [0.41, 0.3], "aesthetic_score": [np.nan, 5.1], "motion_score": [2.3, 0.01],
        "vtss": [3.9, 2.5], "clip_id": ["c0", "c1"], "noise": [0.1, 0.2],
    })


def test_release_table_has_the_release_columns_in_order():
    t = release_table(_kept())
    assert tuple(t.columns) == RELEASE_COLUMNS == (
        "videoID", "url", "timestamp", "caption", "clarity_score", "aesthetic_score", "motion_score",
        "video_training_suitability_score")
    assert t["timestamp"].tolist() == ["['0:00:00.000', '0:00:05.873']", "['0:01:01.250', '0:01:10.000']"]
    # <source id>_<clip index>; a file named like a release clip is that clip, not the YouTube video
    assert t["videoID"].tolist() == ["-KuN4XkUQBI_1_0", "abc_3"]
    assert t["url"].iloc[0] == Path("data/samples/-KuN4XkUQBI_1.mp4").resolve().as_uri()
    assert t["url"].iloc[1] == "file:///v/abc.mp4"
    assert t["video_training_suitability_score"].tolist() == [3.9, 2.5]
    with pytest.raises(ValueError, match="caption"):
        release_table(_kept().drop(columns=["caption"]))


def test_url_prefix():
    assert video_url("/x/y/clip.mp4", "https://mirror.example/v/") == "https://mirror.example/v/clip.mp4"
    assert release_table(_kept(), url_prefix="s3://b/")["url"].tolist() == ["s3://b/-KuN4XkUQBI_1.mp4", "s3://b/abc.mp4"]


def test_csv_round_trip_keeps_quotes_newlines_and_empty_nan(tmp_path):
    path = write_release_csv(release_table(_kept()), tmp_path / "koala.csv")
    raw = path.read_text()
    assert raw.splitlines()[0] == ",".join(RELEASE_COLUMNS)
    back = read_release_csv(path)
    assert back["caption"].iloc[0] == 'A man says "hi", then leaves.\nThe camera is static.'
    assert np.isnan(back["aesthetic_score"].iloc[0])  # written as an empty cell, never a stand-in number
    assert parse_timestamp(back["timestamp"].iloc[1]) == (61.25, 70.0)
    bad = tmp_path / "bad.csv"
    bad.write_text("videoID,url\nx,y\n")
    with pytest.raises(ValueError, match="bad.csv"):
        read_release_csv(bad)


def test_youtube_ids_in_names_sidecars_and_the_sources_table(tmp_path):
    from koala.filter import sources as S

    assert S.youtube_id_from_name("Never Gonna Give You Up [dQw4w9WgXcQ].mp4") == "dQw4w9WgXcQ"
    assert S.youtube_id_from_name("-KuN4XkUQBI.mkv") == "-KuN4XkUQBI"
    assert S.youtube_id_from_name("-KuN4XkUQBI_1.mp4") is None  # a release clip, not the video
    assert S.release_clip_id("-KuN4XkUQBI_1.mp4") == ("-KuN4XkUQBI", 1)
    assert S.youtube_id_from_name("sample_clip.mp4") is None  # 11 characters, but no ID
    for url in ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=3s", "https://youtu.be/dQw4w9WgXcQ",
                "https://www.youtube.com/shorts/dQw4w9WgXcQ", "https://www.youtube.com/embed/dQw4w9WgXcQ?start=1"):
        assert S.youtube_id_from_url(url) == "dQw4w9WgXcQ", url
    assert S.youtube_id_from_url("file:///v/dQw4w9WgXcQ.mp4") is None
    kept = pd.DataFrame({
        "video_id": ["Never Gonna [dQw4w9WgXcQ]", "holiday", "holiday", "talk", "plain"],
        "video": [str(tmp_path / "Never Gonna [dQw4w9WgXcQ].mp4"), str(tmp_path / "holiday.mp4"), str(tmp_path / "holiday.mp4"),
                  str(tmp_path / "talk.mp4"), str(tmp_path / "plain.mp4")],
        "clip_index": [2, 0, 7, 1, 0], "start_sec": [1355.8391, 0.0, 30.0, 1.0, 0.0], "end_sec": [1381.68, 4.0, 33.5, 2.0, 1.0],
        "caption": ["c"] * 5, "clarity_score": [0.9] * 5, "aesthetic_score": [5.0] * 5, "motion_score": [1.0] * 5, "vtss": [3.0] * 5,
    })
    (tmp_path / "talk.info.json").write_text('{"id": "9bZkp7q19f0", "extractor_key": "Youtube", "webpage_url": "https://www.youtube.com/watch?v=9bZkp7q19f0"}')
    table = tmp_path / "sources.csv"
    table.write_text("path,url\nholiday.mp4,https://youtu.be/-KuN4XkUQBI\n")
    t = release_table(kept, sources_table=table)
    assert t["videoID"].tolist() == ["dQw4w9WgXcQ_2", "-KuN4XkUQBI_0", "-KuN4XkUQBI_7", "9bZkp7q19f0_1", "plain_0"]
    assert t["url"].tolist() == ["https://www.youtube.com/watch?v=dQw4w9WgXcQ", "https://youtu.be/-KuN4XkUQBI",
                                 "https://youtu.be/-KuN4XkUQBI", "https://www.youtube.com/watch?v=9bZkp7q19f0",
                                 (tmp_path / "plain.mp4").as_uri()]
    assert t["timestamp"].iloc[0] == "['0:22:35.839', '0:23:01.680']"
    bad = tmp_path / "bad_sources.csv"
    bad.write_text("name,link\nx,y\n")
    with pytest.raises(ValueError, match="bad_sources.csv"):
        release_table(kept, sources_table=bad)


def test_written_rows_are_shaped_like_the_release(tmp_path):
    """Made-up rows in the released shape: the written text matches it byte for byte.

    The expected lines are written out by hand after the released CSV's layout (issue 19): a list
    literal with single quotes and an unpadded hour, full-precision floats, "" inside a quoted caption.
    """
    kept = pd.DataFrame({
        "video_id": ["x"], "video": ["/v/Some title [dQw4w9WgXcQ].mp4"], "clip_index": [14],
        "start_sec": [1355.839], "end_sec": [1381.68],
        "caption": ['The video shows a man saying "hello, world" to the camera, which is stationary.'],
        "clarity_score": [0.9014000000000001], "aesthetic_score": [4.7208000000000006], "motion_score": [22.03],
        "vtss": [np.float32(4.48)],
    })
    path = write_release_csv(release_table(kept), tmp_path / "koala.csv")
    lines = path.read_text().split("\n")
    assert lines[0] == "videoID,url,timestamp,caption,clarity_score,aesthetic_score,motion_score,video_training_suitability_score"
    assert lines[1] == (
        "dQw4w9WgXcQ_14,https://www.youtube.com/watch?v=dQw4w9WgXcQ,\"['0:22:35.839', '0:23:01.680']\","
        "\"The video shows a man saying \"\"hello, world\"\" to the camera, which is stationary.\","
        "0.9014000000000001,4.7208000000000006,22.03," + repr(float(np.float32(4.48))))
    back = read_release_csv(path)
    assert back["aesthetic_score"].iloc[0] == 4.7208000000000006  # bit-exact round trip
    assert parse_timestamp(back["timestamp"].iloc[0]) == (1355.839, 1381.68)
