"""Label aggregation (paper App. B) and the annotation files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from koala.cli import main
from koala.io.tables import read_table
from koala.vtss.labels import aggregate, read_annotations, record_score


def test_annotator_bias_is_removed():
    """A lenient annotator (+1 on everything) and a harsh one agree after the per-annotator z-score."""
    truth = {"a": 2.0, "b": 3.0, "c": 4.0}
    rows = [{"annotator": "lenient", "clip_id": c, "score": v + 1} for c, v in truth.items()]
    rows += [{"annotator": "harsh", "clip_id": c, "score": v - 1} for c, v in truth.items()]
    out = aggregate(pd.DataFrame(rows)).set_index("clip_id")
    assert out["label_std"].max() == pytest.approx(0, abs=1e-12)  # the two agree exactly once de-biased
    assert out.loc["a", "label"] < out.loc["b", "label"] < out.loc["c", "label"]
    assert out["label"].mean() == pytest.approx(3.0)  # rescaled to the global mean
    assert (out["n_annotators"] == 2).all()


def test_formula_and_clipping():
    df = pd.DataFrame({"annotator": list("xxxyyy"), "clip_id": list("abcabc"), "score": [1, 1, 5, 2, 3, 4]})
    g_mean, g_std = df["score"].mean(), df["score"].std(ddof=0)
    x = df[df.annotator == "x"]["score"]
    want_a = np.mean([g_mean + g_std * (1 - x.mean()) / x.std(ddof=0), g_mean + g_std * (2 - 3) / np.std([2, 3, 4])])
    out = aggregate(df, clip=False).set_index("clip_id")
    assert out.loc["a", "label"] == pytest.approx(want_a)
    with pytest.raises(ValueError, match="outside"):
        aggregate(pd.DataFrame({"annotator": ["x"], "clip_id": ["a"], "score": [6]}))


def test_files_round_trip_and_cli(tmp_path, monkeypatch):
    folder = tmp_path / "ann"
    record_score(folder, "ann", "c1", 2)
    record_score(folder, "ann", "c1", 4, note="changed my mind")
    record_score(folder, "bob", "c1", 3)
    record_score(folder, "bob", "c2", 5)
    got = read_annotations(folder)
    assert len(got) == 3 and got.set_index(["annotator", "clip_id"]).loc[("ann", "c1"), "score"] == 4
    with pytest.raises(ValueError, match="outside"):
        record_score(folder, "ann", "c1", 0)
    with pytest.raises(ValueError, match="plain"):
        record_score(folder, "../x", "c1", 3)
    monkeypatch.chdir(tmp_path)
    assert main(["vtss", "labels", "ann", "--out", "labels.parquet"]) == 0
    assert set(read_table(tmp_path / "labels.parquet")["clip_id"]) == {"c1", "c2"}
    assert main(["vtss", "labels", "nowhere", "--out", "labels.parquet"]) == 2
