"""`koala vtss predict`: the released checkpoint end to end on tiny videos, and its errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from koala.cli import main
from koala.io.tables import CLIPS, read_table, write_table
from koala.vtss.predict import VTSS_TABLE, resolve_precision, score_fragments, to_label_scale


def clips_rows(rows: list[dict]) -> pd.DataFrame:
    full = [{"clip_index": 0, "start_sec": 0.0, "end_sec": 1.0, "fps": 25.0, "method": "test", **r} for r in rows]
    return pd.DataFrame(full)


@pytest.fixture
def workdir(tmp_path, monkeypatch, rule_checkpoint):
    """A project folder: params with one in-process worker and one fragment clip per clip (fast), infer.pth.

    float32, so the command's output can be compared with the model's exactly.
    """
    monkeypatch.chdir(tmp_path)
    params = {"engine": {"workers": 1, "cache_dir": "cache"}, "vtss": {"fragments": {"num_clips": 1}, "precision": "float32"}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    (tmp_path / "infer.pth").symlink_to(rule_checkpoint)  # not a copy: 120 MB per test
    return tmp_path


def test_label_scale():
    assert np.allclose(to_label_scale([-0.5, 0.0, 0.25, 1.0, 3.0]), [1.0, 1.0, 2.0, 5.0, 5.0])
    assert to_label_scale(0.3, "none") == pytest.approx(0.3)
    with pytest.raises(ValueError, match="vtss.scale"):
        to_label_scale(0.3, "sigmoid")


@pytest.mark.slow  # two full Swin-T forwards on CPU (20-90 s on 2 shared cores); run with -m slow
def test_predict_scores_each_clip_and_records_bad_videos(workdir, make_video, capsys):
    v = make_video("v.mp4", n=48, width=96, height=64)
    bad = workdir / "bad.mp4"
    bad.write_bytes(b"\x00" * 1000)
    write_table(clips_rows([
        {"clip_id": "v-0", "video_id": "v", "start_frame": 0, "end_frame": 24, "video": str(v)},
        {"clip_id": "v-1", "video_id": "v", "start_frame": 24, "end_frame": 48, "video": str(v)},
        {"clip_id": "b-0", "video_id": "b", "start_frame": 0, "end_frame": 10, "video": str(bad)},
    ]), workdir / "clips.parquet", CLIPS)
    assert main(["vtss", "predict", "clips.parquet", "--out", "vtss.parquet", "--checkpoint", "infer.pth"]) == 0
    table = read_table(workdir / "vtss.parquet", VTSS_TABLE)
    assert list(table["clip_id"]) == ["v-0", "v-1"]
    assert table["vtss"].between(1, 5).all() and (table["model"] == "released:infer.pth").all()
    for row in table.itertuples():
        assert row.vtss == pytest.approx(float(to_label_scale(row.vtss_raw)))
        assert row.vtss_raw == pytest.approx(float(np.mean(row.vtss_raw_clips)))
    assert table["vtss_raw"].nunique() == 2  # different frames, different scores
    errors = read_table(workdir / "vtss.errors.parquet")
    assert list(errors["key"]) == ["b"] and str(bad) in errors["path"].iloc[0]
    assert str(bad) in capsys.readouterr().err
    # A second run reuses the cached results and gives the same numbers.
    assert main(["vtss", "predict", "clips.parquet", "--out", "again.parquet", "--checkpoint", "infer.pth"]) == 0
    again = read_table(workdir / "again.parquet")
    assert np.array_equal(again["vtss_raw"].to_numpy(), table["vtss_raw"].to_numpy())


@pytest.mark.slow  # two full Swin-T forwards on CPU (20-90 s on 2 shared cores); run with -m slow
def test_predict_matches_the_model_on_the_same_fragments(workdir, make_video):
    """The command's raw output is the mean score map of the sampled, normalised fragments."""
    from koala.io.video import read_all
    from koala.vtss import load_released
    from koala.vtss.fragments import normalise, plan_fragments, sample_fragments
    from koala.vtss.predict import clip_rng

    v = make_video("v.mp4", n=30, width=240, height=232)
    write_table(clips_rows([{"clip_id": "v-0", "video_id": "v", "start_frame": 5, "end_frame": 30, "video": str(v)}]),
                workdir / "clips.parquet", CLIPS)
    assert main(["vtss", "predict", "clips.parquet", "--out", "vtss.parquet", "--checkpoint", "infer.pth"]) == 0
    got = read_table(workdir / "vtss.parquet")["vtss_raw"].iloc[0]
    frames = read_all(v)[5:30]
    plan = plan_fragments(25, 232, 240, num_clips=1, rng=clip_rng(0, "v-0"))
    with torch.no_grad():
        want = load_released(workdir / "infer.pth")(normalise(sample_fragments(frames, plan))).mean().item()
    assert got == pytest.approx(want, abs=1e-5)


def test_precision_names_and_bfloat16_error_bound(rule_checkpoint):
    """bfloat16 autocast (what ``auto`` picks on CPUs with native bf16) moves the raw score by < 2e-3."""
    from koala.vtss import load_released

    cpu = torch.device("cpu")
    assert resolve_precision("float32", cpu) == torch.float32
    assert resolve_precision("bfloat16", cpu) == torch.bfloat16
    assert resolve_precision("auto", cpu) in (torch.float32, torch.bfloat16)
    with pytest.raises(ValueError, match="vtss.precision"):
        resolve_precision("fp8", cpu)
    model = load_released(rule_checkpoint)
    x = torch.randn((2, 3, 32, 224, 224), generator=torch.Generator().manual_seed(7))
    full = score_fragments(model, x, batch=2)
    half = score_fragments(model, x, batch=2, dtype=torch.bfloat16)
    assert full.shape == half.shape == (2,)
    assert np.abs(full - half).max() < 2e-3, np.abs(full - half).max()


def test_without_a_checkpoint_it_says_what_to_do(workdir, make_video, capsys):
    v = make_video("v.mp4", n=10)
    write_table(clips_rows([{"clip_id": "v-0", "video_id": "v", "start_frame": 0, "end_frame": 10, "video": str(v)}]),
                workdir / "clips.parquet", CLIPS)
    assert main(["vtss", "predict", "clips.parquet", "--out", "vtss.parquet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--checkpoint" in err[0] and "training" in err[0]
    assert not (workdir / "vtss.parquet").exists()


@pytest.mark.parametrize("case", ["missing", "renamed", "no_clips"])
def test_bad_arguments_are_one_line_and_exit_2(workdir, make_video, capsys, case):
    v = make_video("v.mp4", n=10)
    write_table(clips_rows([{"clip_id": "v-0", "video_id": "v", "start_frame": 0, "end_frame": 10, "video": str(v)}]),
                workdir / "clips.parquet", CLIPS)
    ckpt, clips = "infer.pth", "clips.parquet"
    if case == "missing":
        ckpt = "nowhere/infer.pth"
    elif case == "renamed":
        state = torch.load(workdir / "infer.pth", weights_only=True)["state_dict"]
        state["extra.weight"] = torch.zeros(1)
        torch.save({"state_dict": state}, workdir / "other.pth")
        ckpt = "other.pth"
    else:
        clips = "none.parquet"
    assert main(["vtss", "predict", clips, "--out", "vtss.parquet", "--checkpoint", ckpt]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("koala: error:")
    assert (clips if case == "no_clips" else ckpt) in err[0]
