"""`koala curate` end to end: release CSV, every column, errors, no-op rerun, resume after a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from koala.cli import main
from koala.filter.release import RELEASE_COLUMNS, parse_timestamp, read_release_csv
from koala.io.tables import read_table


def test_every_good_clip_reaches_koala_csv_and_every_bad_input_the_errors_table(curated):
    out = curated["out"]
    table = read_table(out / "clips.parquet")
    assert sorted(table["video_id"].unique()) == ["a", "b"]
    assert len(table[table["video_id"] == "a"]) == 2  # the hard cut at frame 40 splits it
    release = read_release_csv(out / "koala.csv")
    assert len(release) == len(table) == int(table["kept"].sum())
    # the release's videoID: <source id>_<clip index>, one per clip (two clips of one video never share it)
    assert sorted(release["videoID"]) == sorted(f"{v}_{k}" for v, k in zip(table["video_id"], table["clip_index"]))
    errors = read_table(out / "errors.parquet")
    for kind, (path, words) in curated["bad"].items():
        rows = errors[errors["path"] == str(Path(path).absolute())]
        assert len(rows) == 1, f"{kind}: {path} not in the errors table once"
        assert rows["stage"].iloc[0] == "split"
        assert words in rows["message"].iloc[0], f"{kind}: {rows['message'].iloc[0]!r} lacks {words!r}"
    assert len(errors) == len(curated["bad"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["videos"] == 2 + len(curated["bad"]) and summary["videos_ok"] == 2
    assert summary["clips"] == len(table) and summary["errors"] == len(errors)
    assert summary["kept_share"] == 1.0 and set(summary["seconds"]) >= {"split", "score", "caption", "vtss", "filter", "total"}
    assert summary["too_short"] == int(table["too_short"].sum()) and summary["min_clip_sec"] == 1.0


def test_release_rows_match_the_clips(curated):
    table = read_table(curated["out"] / "clips.parquet")
    release = pd.read_csv(curated["out"] / "koala.csv")
    assert tuple(release.columns) == RELEASE_COLUMNS
    for r in release.itertuples():
        start, end = parse_timestamp(r.timestamp)
        source, index = r.videoID.rsplit("_", 1)
        row = table[(table["video_id"] == source) & (table["clip_index"] == int(index))].iloc[0]
        assert start == pytest.approx(row["start_sec"], abs=5e-4)
        assert end == pytest.approx(row["end_sec"], abs=5e-4)
        assert r.motion_score == pytest.approx(row["motion_score"]) and r.clarity_score == pytest.approx(row["clarity_score"])
        assert r.caption == row["caption"] and len(r.caption) > 20
        assert r.url.startswith("file://") and r.url.endswith(f"{source}.mp4")
    assert release["aesthetic_score"].isna().all()  # no LAION weights offline: empty, never a stand-in


def test_every_column_is_in_the_parquet_and_vtss_is_nan_with_a_reason(curated):
    table = read_table(curated["out"] / "clips.parquet")
    for col in ("clip_id", "start_frame", "end_frame", "motion_score", "clarity_score", "caption", "camera_language",
                "vtss", "vtss_reason", "kept", "reason", "rule", "poster", "export_path", "export_mode"):
        assert col in table.columns, col
    assert table["vtss"].isna().all()
    assert table["vtss_reason"].str.contains("no VTSS model").all()
    assert (table["rule"] == "manual").all()


def test_rerun_is_a_noop_with_the_same_bytes(curated, capsys):
    out = curated["out"]
    before = {n: (out / n).read_bytes() for n in ("koala.csv", "clips.parquet", "errors.parquet")}
    t0 = time.perf_counter()
    assert main(["curate", str(curated["list"]), "--out", str(out), "--params", str(curated["params"]), "--export-clips"]) == 0
    assert time.perf_counter() - t0 < 10
    assert "up to date" in capsys.readouterr().out
    assert {n: (out / n).read_bytes() for n in before} == before


def test_a_changed_parameter_reruns_only_what_it_touches(curated, tmp_path):
    """Another filter rule reuses every cached stage result: only the decision changes."""
    import shutil

    out = tmp_path / "out"
    shutil.copytree(curated["out"], out)
    params = tmp_path / "params.yaml"
    text = curated["params"].read_text().replace("rule: manual", "rule: fixed")
    params.write_text(text)
    assert main(["curate", str(curated["list"]), "--out", str(out), "--params", str(params)]) == 0
    table = read_table(out / "clips.parquet")
    assert not table["kept"].any() and table["reason"].str.startswith("vtss NaN").all()
    assert len(pd.read_csv(out / "koala.csv")) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seconds"]["split"] < 5  # reused, not recomputed


def _cached(out: Path, stage: str) -> int:
    """Items of ``stage`` finished so far (saved rows or a recorded failure)."""
    folder = out / "cache" / stage
    return sum(1 for p in folder.glob("*") if p.name.endswith((".parquet", ".error.json"))) if folder.is_dir() else 0


@pytest.mark.timeout(150)
@pytest.mark.parametrize(("stage", "after"), [("split", 5), ("caption", 2)])
def test_a_killed_run_restarted_gives_a_byte_identical_csv(curated, tmp_path, stage, after):
    """SIGKILL part way through a stage (mid-split among the bad inputs, mid-caption), then run again."""
    out = tmp_path / "out"
    cmd = [sys.executable, "-c", "import sys; from koala.cli import main; sys.exit(main(sys.argv[1:]))",
           "curate", str(curated["list"]), "--out", str(out), "--params", str(curated["params"]), "--export-clips"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 90
        while _cached(out, stage) < after and proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "the run finished before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert not (out / "koala.csv").exists()
    assert subprocess.run(cmd, capture_output=True, timeout=100).returncode == 0
    assert (out / "koala.csv").read_bytes() == (curated["out"] / "koala.csv").read_bytes()
    pd.testing.assert_frame_equal(read_table(out / "errors.parquet"), read_table(curated["out"] / "errors.parquet"))


def test_no_videos_is_a_clear_error(tmp_path, capsys, curate_kit):
    empty = tmp_path / "empty"
    empty.mkdir()
    params = curate_kit.permissive_params(tmp_path)
    assert main(["curate", str(empty), "--out", str(tmp_path / "out"), "--params", str(params)]) == 2
    assert "no video files" in capsys.readouterr().err


def test_a_named_params_file_that_is_missing_is_an_error_not_the_defaults(tmp_path, capsys):
    assert main(["curate", str(tmp_path), "--out", str(tmp_path / "out"), "--params", str(tmp_path / "none.yaml")]) == 2
    assert "none.yaml: no such params file" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_a_deleted_exported_clip_is_made_again(curated, tmp_path):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(curated["out"], out)
    victim = sorted((out / "clips").glob("*.mp4"))[0]
    victim.unlink()
    assert main(["curate", str(curated["list"]), "--out", str(out), "--params", str(curated["params"]), "--export-clips"]) == 0
    assert victim.is_file()


def test_chunking_gives_the_same_tables(curated, tmp_path):
    """Chunks of 3 inputs (good and bad mixed across chunks) give the one-chunk run's koala.csv and clips."""
    import shutil

    out = tmp_path / "out"
    shutil.copytree(curated["out"] / "cache", out / "cache")  # per-item results do not depend on the chunking
    params = tmp_path / "params.yaml"
    params.write_text(curated["params"].read_text().replace("curate:\n", "curate:\n  chunk_videos: 3\n"))
    assert main(["curate", str(curated["list"]), "--out", str(out), "--params", str(params), "--export-clips"]) == 0
    assert len(list((out / "work").glob("chunk-*"))) == -(-(2 + len(curated["bad"])) // 3)
    assert (out / "koala.csv").read_bytes() == (curated["out"] / "koala.csv").read_bytes()
    pd.testing.assert_frame_equal(read_table(out / "clips.parquet"), read_table(curated["out"] / "clips.parquet"))
    pd.testing.assert_frame_equal(read_table(out / "errors.parquet"), read_table(curated["out"] / "errors.parquet"))


def test_fresh_computes_everything_again_with_the_same_bytes(curated, tmp_path, capsys):
    """`--fresh` on a finished run forgets its cache and memo: every stage runs again, to the same koala.csv."""
    import shutil

    out = tmp_path / "out"
    shutil.copytree(curated["out"], out)
    assert main(["curate", str(curated["list"]), "--out", str(out), "--params", str(curated["params"]), "--export-clips", "--fresh"]) == 0
    assert "up to date" not in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert {"split", "score", "caption"} <= set(summary["seconds"])
    assert (out / "koala.csv").read_bytes() == (curated["out"] / "koala.csv").read_bytes()


def test_a_bad_sources_table_stops_the_run_before_any_work(curated, tmp_path, capsys):
    bad = tmp_path / "sources.csv"
    bad.write_text("no,columns,here\n1,2,3\n")
    out = tmp_path / "out"
    assert main(["curate", str(curated["list"]), "--out", str(out), "--params", str(curated["params"]), "--sources", str(bad)]) == 2
    assert "sources.csv" in capsys.readouterr().err and not (out / "cache").exists()
