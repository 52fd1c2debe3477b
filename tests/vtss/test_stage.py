"""The training stage's tables: pooling folds, Table 5 beside the paper's rows."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from koala.vtss.stage import PAPER_TABLE5, pooled, table5


def results(rows):
    return pd.DataFrame([{"fold": f, "variant": v, "n": 10, "plcc": p, "srcc": p, "krcc": p / 2, "rmse": 1 - p}
                         for f, v, p in rows])


def test_pooled_averages_folds_and_reports_their_spread():
    r = pooled(results([("fold0", "full", 0.6), ("fold1", "full", 0.8), ("fold0", "label", 0.5), ("fold1", "label", 0.5)]))
    assert r["full"]["plcc"] == pytest.approx(0.7) and r["full"]["n"] == 20 and r["full"]["folds"] == 2
    assert r["full"]["plcc_sd"] == pytest.approx(pd.Series([0.6, 0.8]).std())
    assert r["label"]["plcc_sd"] == 0.0
    one = pooled(results([("holdout", "full", 0.6)]))
    assert one["full"]["plcc"] == 0.6 and math.isnan(one["full"]["plcc_sd"])


def test_table5_rows_sit_beside_the_paper_in_its_order():
    t = table5(results([("holdout", "full", 0.7), ("holdout", "dynamic", 0.1)]))
    assert t["variant"].tolist() == ["dynamic", "full"]  # the paper's row order, only rows that ran
    assert t.loc[1, "plcc_paper"] == PAPER_TABLE5["full"][1] and t.loc[1, "plcc_proxy"] == 0.7
    assert {"plcc_proxy_sd", "rmse_paper", "rmse_proxy"} <= set(t.columns)


def test_unknown_variants_are_refused_before_any_work():
    import dataclasses

    from koala.config import Params
    from koala.vtss.stage import run_training

    p = Params()
    for bad in ("label_only_ssl", "wide", "trees"):
        train = dataclasses.replace(p.vtss.train, variants=(bad,), final=bad)
        with pytest.raises(ValueError, match="unknown variant"):
            run_training(dataclasses.replace(p, vtss=dataclasses.replace(p.vtss, train=train)))


def _predictions(rows, variant: str) -> pd.DataFrame:
    """Held-out predictions of two sources (a: fold0, b: fold1) from (source, degradations, severity, vtss) rows."""
    return pd.DataFrame([{"fold": "fold0" if s == "a" else "fold1", "variant": variant, "proxy_id": f"{s}-{d}",
                          "source": s, "degradations": d, "severity": sev, "label_proxy": 5.0 - sev, "pred": v,
                          "pred_cal": v} for s, d, sev, v in rows])


def test_keep_reject_lists_what_escapes_per_kind_and_severity():
    from koala.vtss.stage import keep_reject_by_variant, rejected_by_kind_severity

    rows = [("a", "clean", 0, 4.0), ("b", "clean", 0, 2.0), ("a", "blur2", 2, 1.5), ("b", "blur2", 2, 3.0),
            ("a", "text4", 4, 1.0), ("a", "noise1", 1, 4.5), ("b", "blur1+noise1", 2, 2.0)]
    p = _predictions(rows, "label_trees")
    t = rejected_by_kind_severity(p)
    assert t["blur"]["2"] == {"rejected": 0.5, "n": 2} and t["text"]["4"] == {"rejected": 1.0, "n": 1}
    assert t["noise"]["1"] == {"rejected": 0.0, "n": 1} and t["pair"]["2"] == {"rejected": 1.0, "n": 1}
    assert "clean" not in t
    kr = keep_reject_by_variant(p)["label_trees"]
    assert kr["clean_rejected"] == [{"source": "b", "vtss": 2.0, "vtss_raw": 2.0}]
    assert kr["rejected_by_kind"] == {"blur": 0.5, "text": 1.0}  # single flaws at severity >= 2 only
    assert kr["separation"]["auc"] == pytest.approx(6.5 / 8) and kr["separation"]["damaged_n"] == 4
    assert "calibrated_label_below" not in kr


def test_keep_reject_reports_damage_under_the_threshold_beside_severity_two():
    from koala.vtss.stage import keep_reject_by_variant, table5

    rows = [("a", "clean", 0, 4.0), ("b", "clean", 0, 3.5), ("a", "blur2", 2, 3.0), ("b", "noise2", 2, 2.0),
            ("a", "text3", 3, 2.0), ("b", "blur4", 4, 1.0), ("a", "frozen3", 3, 2.7)]
    p = _predictions(rows, "label_kinds")
    kr = keep_reject_by_variant(p, below=3)["label_kinds"]
    assert kr["calibrated"]["damaged_n"] == 5 and kr["calibrated"]["damaged_rejected"] == pytest.approx(3 / 5)
    below = kr["calibrated_label_below"]
    assert below["damaged_severity"] == 3 and below["damaged_n"] == 3 and below["damaged_rejected"] == pytest.approx(2 / 3)
    assert below["clean_kept"] == kr["calibrated"]["clean_kept"] == 1.0
    assert kr["separation_label_below"]["damaged_n"] == 3 and kr["separation_label_below"]["auc"] == 1.0
    results = pd.DataFrame([{"fold": f, "variant": "label_kinds", "plcc": 0.5, "srcc": 0.5, "krcc": 0.4, "rmse": 1.0, "n": 3}
                            for f in ("fold0", "fold1")])
    from koala.vtss.stage import table6

    row = table6(results, p, below=3).iloc[0]
    assert row["damaged_rejected"] == pytest.approx(3 / 5) and row["damaged_rejected_below"] == pytest.approx(2 / 3)
    assert "damaged_rejected_below" not in table5(results, p).columns  # no label_kinds row in Table 5, none asked
