"""VTSS inside curate: the released architecture scores every clip, the filter keeps by it (slow: a CPU Swin-T)."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from koala.cli import main
from koala.io.tables import read_table
from koala.vtss.released import ReleasedVTSS


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_released_checkpoint_scores_every_clip_and_the_threshold_keeps_by_it(tmp_path, curate_kit):
    torch.manual_seed(0)
    ckpt = tmp_path / "random_infer.pth"  # the released architecture with random weights: real compute, meaningless scores
    torch.save({"state_dict": ReleasedVTSS().state_dict()}, ckpt)
    video = curate_kit.synth_video(tmp_path / "v.mp4", n=50)
    params = curate_kit.permissive_params(tmp_path, filter={"rule": "fixed", "fixed_threshold": 1.0})
    assert main(["curate", str(video), "--out", str(tmp_path / "out"), "--params", str(params), "--checkpoint", str(ckpt)]) == 0
    table = read_table(tmp_path / "out" / "clips.parquet")
    assert table["vtss"].between(1, 5).all() and (table["vtss_model"] == "released:random_infer.pth").all()
    assert table["kept"].all() and (table["threshold"] == 1.0).all()
    release = pd.read_csv(tmp_path / "out" / "koala.csv")
    assert list(release["video_training_suitability_score"]) == pytest.approx(list(table["vtss"]))


@pytest.mark.timeout(180)
def test_the_trained_tsa_scores_every_good_clip_into_koala_csv(curated, tmp_path, curate_kit):
    """vtss.model_path names a TSA: every clip gets a VTSS, the threshold keeps by it, bad inputs stay errors."""
    import shutil

    out = tmp_path / "out"
    shutil.copytree(curated["out"], out)  # split, score and caption results are reused from the cache
    model = curate_kit.tiny_tsa(tmp_path / "tsa.pt")
    text = curated["params"].read_text().replace(str(curated["params"].parent / "no-tsa.pt"), str(model))
    text = text.replace("rule: manual", "rule: fixed\n  fixed_threshold: 1.0")
    params = tmp_path / "params.yaml"
    params.write_text(text)
    assert main(["curate", str(curated["list"]), "--out", str(out), "--params", str(params)]) == 0
    table = read_table(out / "clips.parquet")
    assert table["vtss"].between(1, 5).all() and (table["vtss_model"] == "tsa:tsa.pt").all()
    assert table["kept"].all() and (table["rule"] == "fixed").all()
    release = pd.read_csv(out / "koala.csv")
    assert sorted(release["videoID"]) == sorted(f"{v}_{k}" for v, k in zip(table["video_id"], table["clip_index"]))
    assert sorted(release["video_training_suitability_score"]) == pytest.approx(sorted(table["vtss"]))
    errors = read_table(out / "errors.parquet")
    assert len(errors) == len(curated["bad"]) and (errors["stage"] == "split").all()
