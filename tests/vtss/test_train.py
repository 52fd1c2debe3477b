"""Training: evaluation metrics, the schedule, resume from a checkpoint, save/load of the model predict uses."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from koala.config import VtssConfig
from koala.vtss.train import (NotATsaModel, TsaData, evaluate, linear_rescale, load_model, lr_lambda, plcc_loss,
                              predict_data, save_model, train_tsa)
from tests.vtss.test_tsa import TINY


def test_evaluate_rescales_then_scores():
    labels = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    pred = 10 * labels + 3  # perfectly linear: the rescale maps it onto the labels exactly
    m = evaluate(pred, labels)
    assert m["plcc"] == pytest.approx(1) and m["srcc"] == pytest.approx(1) and m["rmse"] == pytest.approx(0, abs=1e-9)
    noisy = labels + np.array([0.3, -0.5, 0.2, 0.9, -0.4])
    m = evaluate(noisy, labels)
    assert m["plcc"] == pytest.approx(stats.pearsonr(noisy, labels)[0])
    assert m["krcc"] == pytest.approx(stats.kendalltau(noisy, labels)[0])
    r = linear_rescale(noisy, labels)
    assert r.mean() == pytest.approx(labels.mean()) and r.std() == pytest.approx(labels.std())
    assert math.isnan(evaluate(np.ones(5), labels)["plcc"])


def test_plcc_loss_and_schedule():
    t = torch.tensor([1.0, 2.0, 3.0])
    assert float(plcc_loss(t * 2, t)) == pytest.approx(0, abs=1e-6)
    assert float(plcc_loss(-t, t)) == pytest.approx(2, abs=1e-6)
    f = lr_lambda(100, 10)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1) and f(55) == pytest.approx(0.5) and f(100) == pytest.approx(0)


def fake_data(n: int = 12, seed: int = 0) -> TsaData:
    """Clips whose label is carried by brightness of the pixels and by the first sub-metric."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(1, 6, size=n).astype(float)
    side = TINY.grid * TINY.patch
    level = (labels * 40).astype(np.uint8)[:, None, None, None, None, None]
    frags = np.clip(level + rng.integers(0, 20, size=(n, 1, TINY.clip_len, side, side, 3)), 0, 255).astype(np.uint8)
    frames = np.clip(level[:, 0] + rng.integers(0, 20, size=(n, TINY.static_frames, 32, 32, 3)), 0, 255).astype(np.uint8)
    metrics = np.c_[labels + rng.normal(0, 0.1, n), rng.normal(size=(n, 2)), np.full(n, np.nan)]
    return TsaData(frags, frames, metrics, labels)


def test_train_resume_and_save(tmp_path):
    """Training is seeded and resumable: 2 epochs then 2 more equals 4 at once; the saved model predicts the same."""
    import dataclasses

    size = dataclasses.replace(TINY, epochs=4, batch_size=6, warmup_epochs=1, lr=3e-3)
    cfg = VtssConfig()
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, checkpoint_every=2))
    data = fake_data()
    ids = [str(i) for i in range(len(data))]
    dev = torch.device("cpu")
    whole = train_tsa(data, variant="full", size=size, cfg=cfg, device=dev, run_dir=tmp_path / "a", train_ids=ids)
    half = train_tsa(data, variant="full", size=size, cfg=cfg, device=dev, run_dir=tmp_path / "b",
                     train_ids=ids, stop_after=2)
    assert half.resumed_from == 0 and len(half.history) == 2
    rest = train_tsa(data, variant="full", size=size, cfg=cfg, device=dev, run_dir=tmp_path / "b", train_ids=ids)
    assert rest.resumed_from == 2 and len(rest.history) == 4
    p_whole, p_rest = predict_data(whole.model, data, whole.scaler, dev), predict_data(rest.model, data, rest.scaler, dev)
    np.testing.assert_allclose(p_rest, p_whole, atol=1e-5)
    assert np.isfinite(p_whole).all()
    path = save_model(tmp_path / "tsa.pt", whole.model, whole.scaler, size_name="test", variant="full",
                      decode_short_side=360, info={"note": "test"})
    model, scaler, meta = load_model(path)
    np.testing.assert_allclose(predict_data(model, data, scaler, dev), p_whole, atol=1e-6)
    assert meta["variant"] == "full" and meta["decode_short_side"] == 360


def test_a_checkpoint_is_not_resumed_on_other_data(tmp_path):
    """The same clip ids with other sub-metrics (a rebuilt proxy set) train from scratch, not from the old run."""
    import dataclasses

    size = dataclasses.replace(TINY, epochs=2, batch_size=6, warmup_epochs=1)
    data = fake_data()
    ids = [str(i) for i in range(len(data))]
    kw = dict(variant="label_only", size=size, cfg=VtssConfig(), device=torch.device("cpu"), run_dir=tmp_path, train_ids=ids)
    assert train_tsa(data, **kw).resumed_from == 0
    assert train_tsa(data, **kw).resumed_from == 2  # same data: the finished run is reused
    other = dataclasses.replace(data, metrics=data.metrics + 1e-4)
    assert train_tsa(other, **kw).resumed_from == 0


def test_load_model_rejects_other_files(tmp_path):
    bad = tmp_path / "x.pt"
    torch.save({"state_dict": {}}, bad)
    with pytest.raises(NotATsaModel, match="not a koala TSA"):
        load_model(bad)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"nope")
    with pytest.raises(NotATsaModel, match="junk.pt"):
        load_model(junk)
