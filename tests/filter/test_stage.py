"""The filter stage: join, decide, write koala.csv / filtered.parquet / filter.json (koala/filter/stage.py, CLI)."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
import yaml

from koala.cli import main
from koala.config import FilterConfig, Params, load_params
from koala.filter.figures import fig7
from koala.filter.release import RELEASE_COLUMNS, read_release_csv
from koala.filter.stage import filter_clips, join_tables, run_filter


def _joined(t, **kw):
    return join_tables(t["clips"], t["metrics"], t["captions"], t["vtss"], **kw)


def test_join_keeps_every_clip_and_notes_missing_vtss(tables):
    t = tables([3.0, 4.0, 1.5])
    t["vtss"] = t["vtss"].iloc[:2]  # the last clip was never scored
    t["vtss"].loc[1, "vtss"] = np.nan  # the second one was, but gave NaN
    j = _joined(t, vtss_missing="not in the VTSS table")
    assert len(j) == 3 and j["clip_id"].tolist() == t["clips"]["clip_id"].tolist()
    assert j["vtss_note"].tolist() == ["", "the vtss stage gave NaN", "not in the VTSS table"]
    assert {"metric_nan_reasons", "caption_model", "vtss_model", "vtss_frames_sampled", "motion_score", "caption"} <= set(j.columns)


def test_join_rejects_duplicates_and_missing_columns(tables):
    t = tables([3.0, 4.0])
    with pytest.raises(ValueError, match="metrics table repeats clip_id"):
        join_tables(t["clips"], pd.concat([t["metrics"]] * 2), t["captions"], t["vtss"])
    with pytest.raises(ValueError, match="start_sec"):
        join_tables(t["clips"].drop(columns=["start_sec"]), t["metrics"], t["captions"], t["vtss"])
    with pytest.raises(ValueError, match="no vtss column"):
        join_tables(t["clips"], t["metrics"], t["captions"], t["vtss"].drop(columns=["vtss"]))


def test_bimodal_clips_are_cut_at_the_valley_and_nan_or_uncaptioned_clips_are_dropped(tables, bimodal):
    t = tables(list(bimodal) + [np.nan, 4.5])
    t["captions"].loc[len(bimodal) + 1, "caption"] = ""  # a high-VTSS clip without a caption
    res = filter_clips(_joined(t, vtss_missing="x"), FilterConfig())
    th, out = res.threshold, res.table
    assert th.method == "valley" and 2.3 < th.value < 2.65
    finite = out.iloc[: len(bimodal)]
    assert (finite["kept"] == (finite["vtss"] >= th.value)).all()
    low = finite[~finite["kept"]].iloc[0]
    assert low["reason"] == f"vtss {low['vtss']:.2f} < {th.value:.2f}"
    nan_clip, no_caption = out.iloc[-2], out.iloc[-1]
    assert not nan_clip["kept"] and nan_clip["reason"] == "vtss NaN (the vtss stage gave NaN)"
    assert not no_caption["kept"] and no_caption["reason"] == "no caption" and no_caption["vtss_kept"]
    assert len(res.release) == int(out["kept"].sum()) and tuple(res.release.columns) == RELEASE_COLUMNS
    assert res.metrics["kept"] == int(out["kept"].sum()) and res.metrics["vtss_nan"] == 1
    json.dumps(res.metrics)
    fig = fig7(out["vtss"], th)
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) >= 4  # two components, the mixture, the threshold


def test_manual_rule_decides_when_asked(tables):
    t = tables([1.0, 4.0, 4.5, 1.2])
    t["metrics"].loc[2, "text_area"] = 0.4  # fails text_area <= 0.05
    res = filter_clips(_joined(t), FilterConfig(rule="manual"))
    out = res.table
    assert out["kept"].tolist() == [True, True, False, True] == out["manual_kept"].tolist()
    assert out["reason"].iloc[2] == "text_area 0.4 > 0.05"
    assert out["vtss_kept"].tolist() == [False, True, True, False]  # reported at the fixed 2.5 beside it
    assert res.metrics["agreement"] == {"both_kept": 1, "vtss_only": 1, "manual_only": 2, "neither": 0}


def test_clips_shorter_than_the_minimum_are_not_kept_and_say_why(tables):
    t = tables([4.0, 4.5, 4.2, 1.0])
    t["clips"].loc[0, "end_sec"] = t["clips"].loc[0, "start_sec"] + 0.6  # a 0.6 s shot the split kept
    t["clips"].loc[3, "end_sec"] = t["clips"].loc[3, "start_sec"] + 0.5  # short and a low VTSS: both reasons
    t["clips"].loc[1, "end_sec"] = t["clips"].loc[1, "start_sec"] + 1.0  # exactly the minimum: kept
    res = filter_clips(_joined(t), FilterConfig(rule="fixed"))
    out = res.table
    assert out["too_short"].tolist() == [True, False, False, True]
    assert out["kept"].tolist() == [False, True, True, False]
    assert out["reason"].iloc[0] == "shorter than 1.0 s" and out["vtss_kept"].iloc[0]
    assert out["reason"].iloc[3] == "shorter than 1.0 s; vtss 1.00 < 2.50"
    assert res.metrics["too_short"] == 2
    off = filter_clips(_joined(t), FilterConfig(rule="fixed", min_clip_sec=0.0)).table
    assert off["kept"].tolist() == [True, True, True, False] and not off["too_short"].any()
    assert filter_clips(_joined(t), FilterConfig(rule="fixed", min_clip_sec=0.55)).table["reason"].iloc[3].startswith("shorter than 0.55 s")


def _write_inputs(tmp_path, t, *, vtss=True) -> Params:
    paths = {}
    for name in ("clips", "metrics", "captions", "vtss"):
        if name == "vtss" and not vtss:
            paths["vtss_table"] = str(tmp_path / "vtss.parquet")
            continue
        p = tmp_path / f"{name}.parquet"
        t[name].to_parquet(p)
        paths[f"{name}_table"] = str(p)
    cfg = dataclasses.replace(FilterConfig(), videos_table=str(tmp_path / "none.parquet"),
                              release_csv=str(tmp_path / "out" / "koala.csv"),
                              filtered_table=str(tmp_path / "out" / "filtered.parquet"), **paths)
    return dataclasses.replace(Params(), filter=cfg)


def test_run_filter_writes_the_release_csv_the_full_table_and_metrics(tables, tmp_path):
    t = tables([1.2, 1.4, 3.9, 4.1, np.nan])
    params = _write_inputs(tmp_path, t)
    res = run_filter(params, metrics_path=tmp_path / "filter.json")
    assert res.threshold.method == "fixed_fallback"  # 4 finite values: too few to fit, said so
    csv = read_release_csv(params.filter.release_csv)
    assert csv["video_training_suitability_score"].tolist() == [3.9, 4.1]
    full = pd.read_parquet(params.filter.filtered_table)
    assert len(full) == 5 and {"kept", "reason", "manual_kept", "manual_reason", "motion_score", "caption"} <= set(full.columns)
    assert full["reason"].iloc[4].startswith("vtss NaN")
    m = json.loads((tmp_path / "filter.json").read_text())
    assert m["kept"] == 2 and m["threshold"]["value"] == 2.5 and "only 4 clips" in m["threshold"]["reason"]
    assert [r["n_shifted"] for r in m["table8"]] == [1, 2, 3]


def test_missing_vtss_table_fails_or_goes_on_with_nan(tables, tmp_path):
    params = _write_inputs(tmp_path, tables([3.0, 4.0]), vtss=False)
    with pytest.raises(FileNotFoundError, match="vtss.parquet"):
        run_filter(params)
    res = run_filter(params, missing_vtss_ok=True)
    assert not res.table["kept"].any() and res.table["reason"].str.contains("no VTSS table").all()


def test_cli_filter(tables, tmp_path, capsys):
    params = _write_inputs(tmp_path, tables([1.0, 4.0, 4.2]))
    pfile = tmp_path / "params.yaml"
    pfile.write_text(yaml.safe_dump({"filter": {k: v for k, v in dataclasses.asdict(params.filter).items()
                                                if k.endswith(("_table", "_csv"))}}))
    assert load_params(pfile).filter.release_csv == params.filter.release_csv
    assert main(["filter", "--params", str(pfile), "--metrics", str(tmp_path / "m.json")]) == 0
    assert "kept 2 of 3 clips" in capsys.readouterr().out
    (tmp_path / "clips.parquet").unlink()
    assert main(["filter", "--params", str(pfile)]) == 2
    assert "clips.parquet: no clips table; run the split stage" in capsys.readouterr().err


def test_metrics_count_manual_failures_with_the_configured_nan_policy(tables):
    t = tables([3.0, 4.0, 1.0])
    t["metrics"]["aesthetic_score"] = np.nan  # no LAION weights
    skip = filter_clips(_joined(t), FilterConfig()).metrics["manual_failed"]
    reject = filter_clips(_joined(t), FilterConfig(manual_missing="reject")).metrics["manual_failed"]
    assert skip["aesthetic_score >= 4.5"] == 0 and reject["aesthetic_score >= 4.5"] == 3


def test_clashing_columns_get_their_tables_prefix(tables):
    t = tables([3.0])
    t["vtss"]["caption"] = "from the vtss table"
    j = _joined(t)
    assert j["caption"].iloc[0].startswith("word") and j["vtss_caption"].iloc[0] == "from the vtss table"


def test_smoke_inputs_use_existing_tables_and_never_overwrite_the_stage_outputs(tables, tmp_path):
    from koala.filter.smoke import smoke_inputs

    params = _write_inputs(tmp_path, tables([3.0, 4.0]))
    got = smoke_inputs(params, out_dir=tmp_path / "smoke").filter
    assert (got.clips_table, got.metrics_table, got.vtss_table) == (
        params.filter.clips_table, params.filter.metrics_table, params.filter.vtss_table)
    assert got.release_csv == str(tmp_path / "smoke" / "koala.csv")
    bare = dataclasses.replace(params, filter=dataclasses.replace(params.filter, clips_table=str(tmp_path / "none.parquet")),
                               corpus=dataclasses.replace(params.corpus, samples=dataclasses.replace(
                                   params.corpus.samples, table=str(tmp_path / "no_samples.parquet"))))
    with pytest.raises(FileNotFoundError, match="run the corpus stage"):
        smoke_inputs(bare, out_dir=tmp_path / "smoke")
