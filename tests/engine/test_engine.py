"""The engine seam: per-item cached results, errors, resume, local processes vs Ray, kill + resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from koala.config import EngineConfig
from koala.engine import item_fingerprint, map_items
from koala.engine.core import collect, result_path
from koala.corpus.videos import video_row
from koala.engine.demo import slow_square
from koala.io.atomic import TMP_PREFIX
from koala.io.tables import ERRORS


@pytest.fixture
def probe_job(tmp_path, make_video):
    """Five probe items in a fixed order: three small videos and two unusable files."""
    text = tmp_path / "notes.txt"
    text.write_text("not a video\n" * 20)
    items = [
        {"key": "v0", "path": str(make_video("v0.mp4", n=5))},
        {"key": "missing", "path": str(tmp_path / "missing.mp4")},
        {"key": "v1", "path": str(make_video("v1.mkv", n=6, codec="ffv1"))},
        {"key": "notes", "path": str(text)},
        {"key": "v2", "path": str(make_video("v2.mp4", n=7, width=32, height=24))},
    ]
    return items


def local(tmp_path: Path, workers: int = 2) -> EngineConfig:
    return EngineConfig(kind="local", workers=workers, cache_dir=str(tmp_path / "cache"))


def check_probe_result(res, items) -> None:
    assert res.table["video_id"].tolist() == ["v0", "v1", "v2"]  # item order, whatever ran first
    assert res.table["num_frames"].tolist() == [5, 6, 7]
    assert res.table["path"].tolist() == [items[0]["path"], items[2]["path"], items[4]["path"]]
    assert res.table["codec"].tolist() == ["h264", "ffv1", "h264"]
    assert list(res.errors.columns) == ERRORS.names
    assert res.errors["key"].tolist() == ["missing", "notes"]
    assert res.errors["path"].tolist() == [items[1]["path"], items[3]["path"]]
    assert set(res.errors["stage"]) == {"probe"}
    assert set(res.errors["error_type"]) == {"VideoError"}
    missing, notes = res.errors["message"].tolist()
    assert items[1]["path"] in missing and "no such file" in missing
    assert items[3]["path"] in notes and "not a video" in notes


def test_local_engine_runs_in_item_order_and_records_errors(tmp_path, probe_job):
    cfg = local(tmp_path, workers=2)
    res = map_items(video_row, probe_job, stage="probe", cfg=cfg)
    check_probe_result(res, probe_job)
    assert (res.n_run, res.n_reused) == (5, 0)
    cache = tmp_path / "cache" / "probe"  # default cache: cfg.cache_dir / stage
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        [result_path(cache, it).name for it in probe_job[0::2]]
        + [result_path(cache, it).name.replace(".parquet", ".error.json") for it in probe_job[1::2]]
    )


def test_rerun_reuses_everything_and_in_process_run_agrees(tmp_path, probe_job):
    first = map_items(video_row, probe_job, stage="probe", cfg=local(tmp_path, workers=1))
    again = map_items(video_row, probe_job, stage="probe", cfg=local(tmp_path, workers=2))
    assert (again.n_run, again.n_reused) == (0, 5)
    pd.testing.assert_frame_equal(again.table, first.table)
    pd.testing.assert_frame_equal(again.errors, first.errors)
    check_probe_result(again, probe_job)


def test_a_changed_item_gets_a_new_fingerprint_and_only_it_reruns(tmp_path, probe_job, make_video):
    cfg = local(tmp_path, workers=1)
    map_items(video_row, probe_job, stage="probe", cfg=cfg)
    changed = [dict(it) for it in probe_job]
    changed[4]["path"] = str(make_video("v2b.mp4", n=9))
    assert item_fingerprint(changed[4]) != item_fingerprint(probe_job[4])
    assert item_fingerprint(dict(changed[4])) == item_fingerprint(changed[4])  # stable
    assert item_fingerprint({"b": 1, "a": 2}) == item_fingerprint({"a": 2, "b": 1})  # key order
    res = map_items(video_row, changed, stage="probe", cfg=cfg)
    assert (res.n_run, res.n_reused) == (1, 4)
    assert res.table["num_frames"].tolist() == [5, 6, 9]


def test_a_missing_declared_output_triggers_a_rerun(tmp_path):
    log = tmp_path / "log.txt"
    outs = [tmp_path / f"out{i}.txt" for i in range(3)]
    for out in outs:
        out.write_text("made")
    items = [{"key": f"k{i}", "x": i, "log": str(log), "outputs": [str(outs[i])]} for i in range(3)]
    cfg = local(tmp_path, workers=1)
    assert map_items(slow_square, items, stage="sq", cfg=cfg).n_run == 3
    assert map_items(slow_square, items, stage="sq", cfg=cfg).n_run == 0
    outs[1].unlink()  # as DVC does to a stage's outs before rerunning it
    res = map_items(slow_square, items, stage="sq", cfg=cfg)
    assert (res.n_run, res.n_reused) == (1, 2)
    assert log.read_text().split() == ["k0", "k1", "k2", "k1"]
    assert res.table["value"].tolist() == [0, 1, 4]


def test_item_functions_may_return_rows_in_several_forms(tmp_path):
    """In-process (workers=1), so local functions need not be importable by a child."""

    def rows(item):
        kind = item["kind"]
        if kind == "dict":
            return {"key": item["key"], "v": 1}
        if kind == "list":
            return [{"key": item["key"], "v": 2}, {"key": item["key"], "v": 3}]
        if kind == "frame":
            return pd.DataFrame({"key": [item["key"]], "v": [4]})
        if kind == "none":
            return []
        if kind == "unsaveable":  # Parquet cannot hold an arbitrary object
            return {"key": item["key"], "v": object()}
        return 42

    kinds = ["dict", "list", "unsaveable", "frame", "none", "bad-type"]
    items = [{"key": k, "kind": k} for k in kinds]
    res = map_items(rows, items, stage="forms", cfg=local(tmp_path, workers=1))
    assert res.table["key"].tolist() == ["dict", "list", "list", "frame"]
    assert res.table["v"].tolist() == [1, 2, 3, 4]
    assert res.errors["key"].tolist() == ["unsaveable", "bad-type"]
    assert res.errors["error_type"].tolist()[1] == "TypeError"
    assert "not int" in res.errors["message"].tolist()[1]
    assert res.n_run == 6


def test_keys_must_be_unique_and_the_kind_known(tmp_path):
    cfg = local(tmp_path, workers=1)
    with pytest.raises(ValueError, match=r"unique; repeated: \['a'\]"):
        map_items(slow_square, [{"key": "a", "x": 1}, {"key": "a", "x": 2}], stage="s", cfg=cfg)
    with pytest.raises(ValueError, match="'local' or 'ray'"):
        map_items(slow_square, [{"key": "a", "x": 1}], stage="s", cfg=replace(cfg, kind="dask"))


def test_collect_reports_items_without_a_result(tmp_path):
    items = [{"key": "a", "x": 1}, {"key": "b", "x": 2}]
    cache = tmp_path / "elsewhere"
    map_items(slow_square, items[:1], stage="sq", cfg=local(tmp_path, workers=1), cache_dir=cache)
    res = collect(items, cache, stage="sq")
    assert res.table["key"].tolist() == ["a"]
    assert res.errors[["stage", "key", "error_type"]].values.tolist() == [["sq", "b", "Missing"]]


# --- Ray ----------------------------------------------------------------------------------------


@pytest.mark.ray
@pytest.mark.timeout(180)
@pytest.mark.parametrize("actors", [0, 2], ids=["tasks", "actor-pool"])
def test_ray_engine_gives_the_same_tables_as_the_local_engine(tmp_path, probe_job, monkeypatch, actors):
    """Tasks, and an actor pool asking for a GPU on a CPU-only cluster (it must run on CPU, not wait)."""
    monkeypatch.delenv("RAY_ADDRESS", raising=False)  # a private local instance
    ray_cfg = EngineConfig(kind="ray", workers=2, ray_num_cpus=0.5, ray_num_gpus=1.0 if actors else 0.0,
                           ray_actors=actors, cache_dir=str(tmp_path / "ray-cache"))
    by_ray = map_items(video_row, probe_job, stage="probe", cfg=ray_cfg)
    by_local = map_items(video_row, probe_job, stage="probe", cfg=local(tmp_path, workers=1))
    assert by_ray.n_run == 5
    pd.testing.assert_frame_equal(by_ray.table, by_local.table)
    pd.testing.assert_frame_equal(by_ray.errors, by_local.errors)
    check_probe_result(by_ray, probe_job)


# --- kill and resume ----------------------------------------------------------------------------

CHILD = """
import json, sys
from koala.config import EngineConfig
from koala.engine import map_items
from koala.engine.demo import slow_square

items, cache = json.loads(sys.argv[1]), sys.argv[2]
map_items(slow_square, items, stage="squares", cfg=EngineConfig(kind="local", workers=1), cache_dir=cache)
"""


def results_in(cache: Path) -> list[Path]:
    return sorted(p for p in cache.glob("*.parquet") if not p.name.startswith(TMP_PREFIX))


def test_a_killed_run_resumes_without_redoing_finished_items(tmp_path):
    cache = tmp_path / "cache"
    log = tmp_path / "computed.txt"
    items = [{"key": f"k{i}", "x": i, "sleep": 0.4, "log": str(log)} for i in range(8)]

    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(items), str(cache)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not cache.exists() or len(results_in(cache)) < 3:
            assert child.poll() is None, "the child finished (or died) before it could be killed"
            assert time.monotonic() < deadline, "the child saved no results in time"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    finished = {p.name for p in results_in(cache)}
    assert 3 <= len(finished) < 8
    # A torn write from a killed run: a stray temporary file must never be read as a result.
    (cache / f"{TMP_PREFIX}k7-stray.parquet").write_bytes(b"half a parquet file")

    resumed = map_items(slow_square, items, stage="squares", cfg=EngineConfig(kind="local", workers=1), cache_dir=cache)
    assert resumed.n_reused == len(finished)
    assert resumed.n_run == 8 - len(finished)
    assert resumed.errors.empty

    reference_items = [{**it, "sleep": 0, "log": ""} for it in items]
    reference = map_items(slow_square, reference_items, stage="squares", cfg=EngineConfig(kind="local", workers=1), cache_dir=tmp_path / "ref")
    pd.testing.assert_frame_equal(resumed.table, reference.table)
    assert resumed.table["value"].tolist() == [i * i for i in range(8)]

    counts = pd.Series(log.read_text().split()).value_counts().to_dict()
    done_before = {it["key"] for it in items if result_path(cache, it).name in finished}
    assert len(done_before) == len(finished)
    assert all(counts[k] == 1 for k in done_before)  # not recomputed
    assert set(counts) == {it["key"] for it in items}
    # At most the one item in progress at the kill ran twice.
    assert sum(c - 1 for c in counts.values()) <= 1
    assert {p.name for p in results_in(cache)} == {result_path(cache, it).name for it in items}


@pytest.mark.timeout(120)
def test_a_worker_that_dies_costs_only_its_own_item(tmp_path):
    """A crash no `except` can catch (os._exit) breaks the pool; the batch still finishes."""
    from koala.engine.demo import crash_or_square

    items = [{"key": f"i{i}", "x": i, "crash": i == 2} for i in range(5)]
    res = map_items(crash_or_square, items, stage="crash", cfg=EngineConfig(workers=2), cache_dir=tmp_path / "c")
    assert sorted(res.table["key"]) == ["i0", "i1", "i3", "i4"]
    assert list(res.table.sort_values("key")["value"]) == [0, 1, 9, 16]
    assert list(res.errors["key"]) == ["i2"] and res.errors["error_type"].iloc[0] == "WorkerDied"


@pytest.mark.timeout(120)
def test_an_item_whose_worker_died_is_retried_by_the_next_run(tmp_path):
    """A killed worker is the machine's failure, not the item's: it is reported, and not cached as done."""
    from koala.engine.demo import crash_times

    # i2 dies twice: in the pool, then in the one-process retry; the next run succeeds.
    items = [{"key": f"i{i}", "x": i, "marker": str(tmp_path / f"m{i}"), "crashes": 2 if i == 2 else 0} for i in range(3)]
    cfg = EngineConfig(workers=2)
    first = map_items(crash_times, items, stage="once", cfg=cfg, cache_dir=tmp_path / "c")
    assert list(first.errors["key"]) == ["i2"] and first.errors["error_type"].iloc[0] == "WorkerDied"
    again = map_items(crash_times, items, stage="once", cfg=cfg, cache_dir=tmp_path / "c")
    assert again.n_run == 1 and again.n_reused == 2 and again.errors.empty
    assert list(again.table.sort_values("key")["value"]) == [0, 1, 4]


def test_an_output_overwritten_since_the_item_finished_triggers_a_rerun(tmp_path):
    """E.g. another configuration's run wrote the same file name: its result must not be reused."""
    out = tmp_path / "video.txt"
    out.write_text("config A")
    item = {"key": "k", "x": 2, "outputs": [str(out)]}
    cfg = local(tmp_path, workers=1)
    assert map_items(slow_square, [item], stage="ow", cfg=cfg).n_run == 1
    assert map_items(slow_square, [item], stage="ow", cfg=cfg).n_run == 0
    out.write_text("config B, longer")
    assert map_items(slow_square, [item], stage="ow", cfg=cfg).n_run == 1



def test_code_version_follows_the_source(tmp_path, monkeypatch):
    """Editing a module changes its code version, so cached results of the old code are not reused."""
    from koala.engine import code_version

    pkg = tmp_path / "demo_pkg_cv"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "metric.py").write_text("def f():\n    return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = code_version("demo_pkg_cv")
    assert len(before) == 12 and code_version("demo_pkg_cv") == before
    (pkg / "metric.py").write_text("def f():\n    return 2\n")
    code_version.cache_clear()
    assert code_version("demo_pkg_cv") != before
    assert code_version("koala.motion") != code_version("koala.motion", "koala.io")
    with pytest.raises(ValueError, match="no module"):
        code_version("koala.no_such_module")
