"""koala/vtss/trees.py: the tree ensemble saved as node arrays predicts exactly as scikit-learn's, and loads as a TSA."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.ensemble import ExtraTreesRegressor

from koala.vtss.train import MetricScaler, TsaData, load_model, predict_data, save_model
from koala.vtss.trees import TREES_CLIP, TreeArrays, fit_trees
from tests.vtss.test_tsa import TINY


def _metrics(n=60, m=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.lognormal(size=(n, m))
    x[:, 5] = np.nan  # a metric missing everywhere (no aesthetic weights)
    x[rng.random((n, m)) < 0.05] = np.nan
    y = np.clip(5 - 2 * np.log1p(np.nan_to_num(x[:, 0])) + 0.3 * rng.standard_normal(n), 1, 5)
    return x, y


def test_node_arrays_predict_as_scikit_learn():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(80, 5)).astype(np.float32), rng.normal(size=80)
    sk = ExtraTreesRegressor(n_estimators=20, min_samples_leaf=2, random_state=0).fit(x, y)
    test = rng.normal(size=(30, 5)).astype(np.float32)
    np.testing.assert_allclose(TreeArrays.from_sklearn(sk).predict(test), sk.predict(test), rtol=0, atol=1e-12)


def test_trees_learn_fit_and_round_trip_through_the_model_file(tmp_path):
    x, y = _metrics()
    scaler = MetricScaler.fit(x[:40])
    scaler = MetricScaler(scaler.center, scaler.scale, clip=TREES_CLIP)
    model = fit_trees(*scaler.transform(x[:40]), y[:40], size=TINY, n_trees=50)
    assert model.spec.branches == ("label",)
    data = TsaData(np.zeros((20, 1, 0, 0, 0, 3), np.uint8), np.zeros((20, 0, 0, 0, 3), np.uint8), x[40:], y[40:])
    pred = predict_data(model, data, scaler, torch.device("cpu"))
    assert np.corrcoef(pred, y[40:])[0, 1] > 0.5  # the trend on metric 0 is learned
    path = save_model(tmp_path / "tsa.pt", model, scaler, size_name="tiny", variant="label_trees", decode_short_side=360, info={})
    again, scaler2, meta = load_model(path)
    assert meta["variant"] == "label_trees" and scaler2.clip == TREES_CLIP
    np.testing.assert_array_equal(predict_data(again, data, scaler2, torch.device("cpu")), pred)


def test_no_training_clip_is_refused():
    with pytest.raises(ValueError, match="no training clip"):
        fit_trees(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0), size=TINY)
