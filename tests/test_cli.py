"""The command line: stages listed, bad single files exit 2 with one line, batches go on."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from koala.cli import main
from koala.io.writer import VideoWriter


def _run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "koala.cli", *args], capture_output=True, text=True, cwd=cwd)


def test_help_lists_the_stages(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for stage in ("corpus", "probe", "notebook", "report", "params", "materialize", "audit"):
        assert stage in out


@pytest.mark.parametrize("command", ["corpus", "probe", "notebook", "report", "params", "materialize", "audit"])
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0 and "usage" in capsys.readouterr().out


@pytest.fixture
def good_video(tmp_path):
    p = tmp_path / "good.mp4"
    with VideoWriter(p, fps=25, width=32, height=24) as w:
        w.write(np.zeros((5, 24, 32, 3), np.uint8))
    return p


@pytest.mark.parametrize("content, reason", [(b"", "empty file"), (b"hello, not a video\n" * 20, "not a readable video")])
def test_bad_single_file_exits_2_with_one_line_naming_it(tmp_path, content, reason):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(content)
    res = _run("probe", str(bad))
    assert res.returncode == 2
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and str(bad) in lines[0] and reason in lines[0]


def test_missing_file_exits_2(tmp_path):
    res = _run("probe", str(tmp_path / "nope.mp4"))
    assert res.returncode == 2 and "no such file" in res.stderr


def test_good_single_file_prints_its_info(good_video):
    res = _run("probe", str(good_video))
    assert res.returncode == 0 and '"num_frames": 5' in res.stdout


def test_batch_records_bad_files_and_keeps_the_good(tmp_path, good_video):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 1000)
    out = tmp_path / "videos.parquet"
    (tmp_path / "params.yaml").write_text("engine:\n  workers: 1\n  cache_dir: cache\n")
    res = _run("probe", str(good_video), str(bad), "--out", str(out), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    table = pd.read_parquet(out)
    errors = pd.read_parquet(tmp_path / "videos.errors.parquet")
    assert list(table["path"]) == [str(good_video)] and int(table["num_frames"].iloc[0]) == 5
    assert list(errors["path"]) == [str(bad)] and errors["error_type"].iloc[0] == "VideoError"


def test_params_apply_rejects_unknown_keys_with_exit_2(tmp_path):
    (tmp_path / "params.yaml").write_text("engine:\n  workers: 1\n")
    (tmp_path / "o.yaml").write_text("engine:\n  worker: 3\n")
    res = _run("params", "apply", "o.yaml", cwd=tmp_path)
    assert res.returncode == 2 and "engine.worker" in res.stderr and "engine.workers" in res.stderr


def test_a_named_params_file_that_is_missing_exits_2_with_one_line(tmp_path, good_video):
    res = _run("split", str(good_video), "--out", str(tmp_path / "c.parquet"), "--params", str(tmp_path / "nope.yaml"), cwd=tmp_path)
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert res.returncode == 2 and len(lines) == 1 and "nope.yaml: no such params file" in lines[0]
    assert not (tmp_path / "c.parquet").exists()


def test_params_apply_writes_the_override_file_and_leaves_params_yaml_alone(tmp_path):
    text = "# the committed file, comments and all\nengine:\n  workers: 1  # one\n"
    (tmp_path / "params.yaml").write_text(text)
    (tmp_path / "o.yaml").write_text("engine:\n  workers: 2\n")
    res = _run("params", "apply", "o.yaml", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "params.yaml").read_text() == text
    assert "workers: 2" in _run("params", "show", cwd=tmp_path).stdout
    assert _run("params", "clear", cwd=tmp_path).returncode == 0
    assert "workers: 1" in _run("params", "show", cwd=tmp_path).stdout


def test_curate_names_a_missing_or_bad_sources_table(tmp_path, capsys):
    assert main(["curate", str(tmp_path / "x.mp4"), "--out", str(tmp_path / "o"), "--sources", str(tmp_path / "none.csv")]) == 2
    assert "none.csv: no such sources table" in capsys.readouterr().err
    bad = tmp_path / "sources.csv"
    bad.write_text("name,link\nx,y\n")
    assert main(["curate", str(tmp_path / "x.mp4"), "--out", str(tmp_path / "o"), "--sources", str(bad)]) == 2
    assert "sources.csv: a sources table needs a path" in capsys.readouterr().err
