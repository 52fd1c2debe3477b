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
        "video_id": ["-KuN4XkUQBI_1", "abc"], "video": ["data/samples/-KuN4XkUQBI_1.mp4", "/v/abc.mp4"],
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
