"""koala/vtss/trees.py: the tree ensemble saved as node arrays predicts exactly as scikit-learn's, and loads as a TSA."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.ensemble import ExtraTreesRegressor

from koala.vtss.train import MetricScaler, TsaData, load_model, predict_data, save_model
from koala.vtss.trees import TREES_CLIP, TreeArrays, fit_trees, severity_to_label
from tests.vtss.test_tsa import TINY


def _metrics(n=60, m=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.lognormal(size=(n, m))
    x[:, 5] = np.nan  # a metric missing everywhere (no aesthetic weights)
    x[rng.random((n, m)) < 0.05] = np.nan
    y = np.clip(5 - 2 * np.log1p(np.nan_to_num(x[:, 0])) + 0.3 * rng.standard_normal(n), 1, 5)
    return x, y


def _saved_and_loaded(tmp_path, model, scaler, variant: str, data, pred):
    """The model saved and loaded back: same variant, same predictions; returns (model, scaler) as loaded."""
    again, scaler2, meta = load_model(save_model(tmp_path / "tsa.pt", model, scaler, size_name="tiny", variant=variant,
                                                 decode_short_side=360, info={}))
    assert meta["variant"] == variant
    np.testing.assert_array_equal(predict_data(again, data, scaler2, torch.device("cpu")), pred)
    return again, scaler2


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
    again, scaler2 = _saved_and_loaded(tmp_path, model, scaler, "label_trees", data, pred)
    assert scaler2.clip == TREES_CLIP


def test_no_training_clip_is_refused():
    with pytest.raises(ValueError, match="no training clip"):
        fit_trees(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0), size=TINY)


def test_multi_output_node_arrays_predict_the_sum_of_the_outputs():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(80, 5)).astype(np.float32), rng.normal(size=(80, 3))
    sk = ExtraTreesRegressor(n_estimators=20, min_samples_leaf=2, random_state=0).fit(x, y)
    test = rng.normal(size=(30, 5)).astype(np.float32)
    np.testing.assert_allclose(TreeArrays.from_sklearn(sk).predict(test), sk.predict(test).sum(1), rtol=0, atol=1e-12)


def test_severity_to_label_reads_the_label_table_linearly_and_flat_beyond():
    table = (5.0, 4.0, 3.0, 2.0, 1.0)
    np.testing.assert_allclose(severity_to_label([0, 0.5, 2, 3.25, 4, 9], table), [5, 4.5, 3, 1.75, 1, 1])
    np.testing.assert_allclose(severity_to_label([1, 1.5], (5.0, 3.5, 2.0)), [3.5, 2.75])


def test_kind_trees_score_the_label_of_the_summed_kind_severities(tmp_path):
    rng = np.random.default_rng(3)
    n = 120
    kinds = np.zeros((n, 2))  # two damage kinds, each moving its own metric
    kinds[:40, 0] = rng.integers(1, 5, 40)
    kinds[40:80, 1] = rng.integers(1, 5, 40)
    x = rng.normal(size=(n, 16))
    x[:, 0] += 2 * kinds[:, 0]
    x[:, 3] -= 2 * kinds[:, 1]
    table = (5.0, 4.0, 3.0, 2.0, 1.0)
    scaler = MetricScaler(*MetricScaler.fit(x).__dict__.values())
    scaler = MetricScaler(scaler.center, scaler.scale, clip=TREES_CLIP)
    model = fit_trees(*scaler.transform(x[::2]), kinds[::2], size=TINY, n_trees=50, severity_labels=table)
    data = TsaData(np.zeros((n // 2, 1, 0, 0, 0, 3), np.uint8), np.zeros((n // 2, 0, 0, 0, 3), np.uint8), x[1::2],
                   severity_to_label(kinds[1::2].sum(1), table))
    pred = predict_data(model, data, scaler, torch.device("cpu"))
    assert pred.min() >= 1.0 and pred.max() <= 5.0
    assert np.corrcoef(pred, data.labels)[0, 1] > 0.8  # both kinds are learned, each from its own metric
    assert pred[kinds[1::2].sum(1) == 0].mean() > pred[kinds[1::2].sum(1) >= 3].mean() + 1.5
    again, _ = _saved_and_loaded(tmp_path, model, scaler, "label_kinds", data, pred)
    assert again.severity_labels == table


def test_kind_severities_and_the_label_table_come_together():
    with pytest.raises(ValueError, match="severity_labels"):
        fit_trees(np.zeros((4, 3)), np.zeros((4, 3)), np.zeros((4, 2)), size=TINY)
    with pytest.raises(ValueError, match="severity_labels"):
        fit_trees(np.zeros((4, 3)), np.zeros((4, 3)), np.zeros(4), size=TINY, severity_labels=(5.0, 1.0))
