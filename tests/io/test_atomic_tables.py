"""Atomic writes and the Parquet table layer."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from koala.io.atomic import TMP_PREFIX, atomic_path, sha256_file, write_bytes, write_json, write_text
from koala.io.tables import CLIPS, ERRORS, VIDEOS, conform, empty_frame, read_table, write_table


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(TMP_PREFIX))


# --- atomic_path ------------------------------------------------------------------------------


def test_atomic_path_renames_into_place_on_success(tmp_path):
    path = tmp_path / "deep" / "er" / "table.parquet"  # parents are created
    with atomic_path(path) as tmp:
        assert tmp.parent == path.parent
        assert tmp.name.startswith(TMP_PREFIX) and tmp.suffix == ".parquet"
        tmp.write_bytes(b"payload")
        assert not path.exists()  # nothing visible until the block ends
    assert path.read_bytes() == b"payload"
    assert leftovers(path.parent) == []


def test_atomic_path_leaves_nothing_when_the_block_raises(tmp_path):
    path = tmp_path / "out.txt"
    with pytest.raises(RuntimeError, match="half way"):
        with atomic_path(path) as tmp:
            tmp.write_text("half a file")
            raise RuntimeError("half way")
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_keeps_the_old_file_when_the_block_raises(tmp_path):
    path = write_text(tmp_path / "out.txt", "old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(path) as tmp:
            tmp.write_text("new")
            raise KeyboardInterrupt
    assert path.read_text() == "old"
    assert leftovers(tmp_path) == []


def test_atomic_files_get_the_mode_of_any_new_file(tmp_path):
    """Not the 0600 that mkstemp gives its temporary file."""
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    written = write_text(tmp_path / "atomic.txt", "x")
    assert stat.S_IMODE(written.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)


def test_write_helpers(tmp_path):
    data = os.urandom(3000)
    path = write_bytes(tmp_path / "blob.bin", data)
    assert path.read_bytes() == data
    assert sha256_file(path, chunk_size=1000) == hashlib.sha256(data).hexdigest()

    obj = {"b": np.float64(1.5), "a": [np.int64(2), Path("x/y")]}
    text = write_json(tmp_path / "m.json", obj).read_text()
    assert json.loads(text) == {"a": [2, "x/y"], "b": 1.5}
    assert text.index('"a"') < text.index('"b"') and text.endswith("\n")


def test_write_json_of_something_unserialisable_leaves_nothing(tmp_path):
    with pytest.raises(TypeError, match="not JSON serialisable: object"):
        write_json(tmp_path / "m.json", {"x": object()})
    assert list(tmp_path.iterdir()) == []


# --- tables -----------------------------------------------------------------------------------


def videos_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "video_id": ["bench_000", "sample_a"],
            "path": ["data/bench/bench_000.mp4", "data/samples/a.mp4"],
            "sha256": ["0" * 64, "f" * 64],
            "fps": [25.0, 29.97002997002997],
            "num_frames": [300, 176],
            "width": [640, 1280],
            "height": [360, 720],
            "duration_sec": [12.0, 5.8725],
            "rotation": [0, 90],
            "variable_frame_rate": [False, True],
            "codec": ["h264", "h264"],
            "source": ["bench_transitions", "koala_tsa_sample"],
            "truth": [
                [
                    {"type": "cut", "first_frame": 49, "last_frame": 50},
                    {"type": "dissolve", "first_frame": 120, "last_frame": 139},
                ],
                [],
            ],
        }
    )


def test_videos_table_roundtrip_with_truth_structs(tmp_path):
    df = videos_frame()
    shuffled = df[list(reversed(df.columns))]  # column order follows the schema, not the frame
    path = write_table(shuffled, tmp_path / "videos.parquet", VIDEOS)
    assert pq.read_schema(path).remove_metadata().equals(VIDEOS)
    back = read_table(path, VIDEOS)
    assert list(back.columns) == VIDEOS.names
    pd.testing.assert_frame_equal(back.drop(columns="truth"), df.drop(columns="truth"))
    assert [list(t) for t in back["truth"]] == [list(t) for t in df["truth"]]
    assert back["truth"][0][1] == {"type": "dissolve", "first_frame": 120, "last_frame": 139}
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("change, words", [("drop", "missing ['sha256']"), ("add", "unexpected ['score']")])
def test_write_table_rejects_a_frame_that_does_not_match_the_schema(tmp_path, change, words):
    df = videos_frame()
    df = df.drop(columns="sha256") if change == "drop" else df.assign(score=1.0)
    path = tmp_path / "videos.parquet"
    with pytest.raises(ValueError) as err:
        write_table(df, path, VIDEOS)
    assert words in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_conform_casts_to_the_schema_types():
    df = pd.DataFrame(
        {
            "clip_id": ["v_0000"], "video_id": ["v"], "clip_index": [np.int32(0)], "start_frame": [0],
            "end_frame": [10], "start_sec": [0], "end_sec": [0.4], "fps": [25], "method": ["css"], "video": ["v.mp4"],
        }
    )
    table = conform(df, CLIPS)
    assert table.schema.equals(CLIPS)
    assert table.column("start_sec").to_pylist() == [0.0]


def test_read_table_with_a_schema_names_missing_columns(tmp_path):
    path = write_table(pd.DataFrame({"clip_id": ["a"]}), tmp_path / "partial.parquet")
    with pytest.raises(ValueError, match=r"missing columns \['video_id'"):
        read_table(path, CLIPS)
    assert list(read_table(path).columns) == ["clip_id"]


def test_empty_errors_table_roundtrip(tmp_path):
    empty = empty_frame(ERRORS)
    assert list(empty.columns) == ERRORS.names and len(empty) == 0
    path = write_table(empty, tmp_path / "errors.parquet", ERRORS)
    back = read_table(path, ERRORS)
    assert list(back.columns) == ERRORS.names and len(back) == 0
    assert pq.read_schema(path).remove_metadata().equals(ERRORS)


def test_video_ids_are_file_stems_made_unique_across_calls_that_share_seen():
    from koala.io.tables import video_ids

    assert video_ids(["a/x.mp4", "b/x.mkv", "c/y.mp4"]) == ["x", "x~2", "y"]
    seen: dict[str, int] = {}
    assert video_ids(["a/x.mp4"], seen) + video_ids(["b/x.mp4", "b/z.mp4"], seen) == ["x", "x~2", "z"]
