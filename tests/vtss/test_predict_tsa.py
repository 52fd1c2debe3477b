"""`koala vtss predict` without --checkpoint: the trained TSA at vtss.model_path, on tiny videos."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import yaml

from koala.cli import main
from koala.config import ScoreConfig
from koala.io.tables import CLIPS, read_table, write_table
from koala.io.video import read_all
from koala.vtss.inputs import clip_inputs
from koala.vtss.predict import VTSS_TABLE, clip_rng
from koala.vtss.features import FEATURE_NAMES
from koala.vtss.train import MetricScaler, TsaData, predict_data, save_model
from koala.vtss.tsa import build_tsa
from tests.vtss.test_predict import clips_rows
from tests.vtss.test_tsa import TINY


@pytest.fixture
def tsa_workdir(tmp_path, monkeypatch):
    """A project folder whose params name a small TSA model file (random weights, shifted to score about 3)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"engine": {"workers": 1, "cache_dir": "cache"},
                                                          "vtss": {"model_path": "model/tsa.pt"}}))
    torch.manual_seed(0)
    size = dataclasses.replace(TINY, num_clips=2)
    m = len(FEATURE_NAMES)  # the label branch's inputs: the sub-metrics and koala.vtss.features' temporal ones
    model = build_tsa(size, m, "full", dropout=0.0).eval()
    scaler = MetricScaler(center=tuple([0.0] * m), scale=tuple([1.0] * m))
    save_model(tmp_path / "model" / "tsa.pt", model, scaler, size_name="test", variant="full", decode_short_side=64,
               info={"note": "test model"})
    return tmp_path, size


def test_default_model_is_the_trained_tsa(tsa_workdir, make_video):
    workdir, size = tsa_workdir
    v = make_video("v.mp4", n=40, width=96, height=64)
    write_table(clips_rows([
        {"clip_id": "v-0", "video_id": "v", "start_frame": 0, "end_frame": 20, "video": str(v)},
        {"clip_id": "v-1", "video_id": "v", "start_frame": 20, "end_frame": 40, "video": str(v)},
    ]), workdir / "clips.parquet", CLIPS)
    assert main(["vtss", "predict", "clips.parquet", "--out", "vtss.parquet"]) == 0
    table = read_table(workdir / "vtss.parquet", VTSS_TABLE)
    assert list(table["clip_id"]) == ["v-0", "v-1"] and (table["model"] == "tsa:tsa.pt").all()
    assert np.allclose(table["vtss"], np.clip(table["vtss_raw"], 1, 5))
    # The same numbers as the model on the same inputs made directly from the decoded frames.
    from koala.vtss.train import load_model

    model, scaler, _ = load_model(workdir / "model" / "tsa.pt")
    frames = read_all(v)
    for row in table.itertuples():
        start = 0 if row.clip_id == "v-0" else 20
        inp = clip_inputs(frames[start:start + 20], 25.0, size, ScoreConfig(), clip_rng(0, row.clip_id))
        data = TsaData(inp.fragments[None], inp.frames[None], inp.metrics[None], np.full(1, np.nan))
        want = predict_data(model, data, scaler, torch.device("cpu"))[0]
        assert row.vtss_raw == pytest.approx(want, abs=1e-5)
        assert len(row.vtss_raw_clips) == 2


def test_a_wrong_model_file_is_one_clear_line(tsa_workdir, make_video, capsys):
    workdir, _ = tsa_workdir
    torch.save({"state_dict": {}}, workdir / "model" / "tsa.pt")
    v = make_video("v.mp4", n=10)
    write_table(clips_rows([{"clip_id": "v-0", "video_id": "v", "start_frame": 0, "end_frame": 10, "video": str(v)}]),
                workdir / "clips.parquet", CLIPS)
    assert main(["vtss", "predict", "clips.parquet", "--out", "vtss.parquet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "tsa.pt" in err[0] and "not a koala TSA" in err[0]


def test_a_saved_calibration_maps_the_raw_output(tsa_workdir, make_video):
    """The trained default model's isotonic calibration is applied in predict: vtss = clip(calibration(raw), 1, 5)."""
    from koala.vtss.calibrate import Calibration
    from koala.vtss.train import attach_calibration, load_model

    workdir, _ = tsa_workdir
    cal = Calibration(x=(-10.0, 10.0), y=(1.0, 5.0))  # raw 0 -> 3, monotone
    attach_calibration(workdir / "model" / "tsa.pt", cal, {"calibration": "test"})
    _, _, meta = load_model(workdir / "model" / "tsa.pt")
    assert meta["calibration"] == cal and meta["info"]["note"] == "test model"
    v = make_video("v.mp4", n=20, width=96, height=64)
    write_table(clips_rows([{"clip_id": "v-0", "video_id": "v", "start_frame": 0, "end_frame": 20, "video": str(v)}]),
                workdir / "clips.parquet", CLIPS)
    assert main(["vtss", "predict", "clips.parquet", "--out", "vtss.parquet"]) == 0
    table = read_table(workdir / "vtss.parquet", VTSS_TABLE)
    assert table["vtss"].iloc[0] == pytest.approx(float(np.clip(cal(table["vtss_raw"].iloc[0]), 1, 5)))
    assert table["vtss"].iloc[0] != pytest.approx(float(np.clip(table["vtss_raw"].iloc[0], 1, 5)))
