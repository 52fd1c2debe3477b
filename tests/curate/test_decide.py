"""The keep decision in curate: the filter stage's rule at the run-wide threshold, and failed stages."""

from __future__ import annotations

import numpy as np
import pandas as pd

from koala.config import FilterConfig, Params
from koala.curate import decide
from koala.filter.threshold import Threshold
from koala.io.tables import ERRORS


def joined(vtss: list[float]) -> pd.DataFrame:
    n = len(vtss)
    return pd.DataFrame({
        "clip_id": [f"v{i // 2}-{i % 2}" for i in range(n)], "video_id": [f"v{i // 2}" for i in range(n)],
        "clip_index": [i % 2 for i in range(n)], "video": [f"/x/v{i // 2}.mp4" for i in range(n)], "start_sec": 0.0, "end_sec": 2.0, "caption": "A clip.",
        "clarity_score": 0.9, "aesthetic_score": np.nan, "motion_score": 3.0, "moving_area": 0.5, "text_area": 0.0,
        "border_fraction": 0.0, "frozen_fraction": 0.0, "vtss": vtss, "vtss_note": "",
    })


def errors(rows: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame([{"stage": s, "key": k, "path": "", "error_type": "VideoError", "message": f"{s} broke"} for s, k in rows],
                        columns=ERRORS.names)


def test_the_run_threshold_decides_each_chunk_not_the_chunk_alone():
    """A chunk whose own VTSS would give another valley is cut at the run's threshold."""
    table = decide.stage_failures(joined([2.0, 2.9, 3.1, 4.0]), errors([]))
    rule = Threshold(value=3.0, method="valley", rule="valley", n=400)
    out = decide.apply(table, rule, Params())
    assert list(out["kept"]) == [False, False, True, True]
    assert out["reason"].iloc[0] == "vtss 2.00 < 3.00" and (out["threshold"] == 3.0).all()


def test_a_failed_scoring_stage_rejects_its_clips_but_a_poster_does_not():
    table = decide.stage_failures(joined([4.0, 4.0, 4.0, 4.0]), errors([("score", "v0"), ("poster", "v1")]))
    out = decide.apply(table, Threshold(value=2.5, method="fixed", rule="fixed", n=4), Params())
    assert list(out["kept"]) == [False, False, True, True]
    assert out["reason"].iloc[0] == "score: score broke"


def test_the_manual_rule_needs_no_vtss():
    import dataclasses

    table = decide.stage_failures(joined([np.nan] * 4), errors([]))
    params = dataclasses.replace(Params(), filter=dataclasses.replace(FilterConfig(), rule="manual"))
    th = decide.choose([table["vtss"].to_numpy()], params)
    out = decide.apply(table, th, params)
    assert th.method == "manual" and out["kept"].all()  # every metric passes the baseline; aesthetic NaN skips its threshold
    rows = decide.release_rows(out, params)
    assert len(rows) == 4 and rows["video_training_suitability_score"].isna().all()


def test_an_empty_chunk():
    out = decide.apply(decide.stage_failures(joined([]), errors([])), Threshold(value=2.5, method="fixed", rule="fixed", n=0), Params())
    assert len(out) == 0 and len(decide.release_rows(out, Params())) == 0


def test_a_warning_row_does_not_reject_its_clips():
    """A video cut off mid-stream was scored over the frames that are there: its warning is no failure."""
    warned = errors([("score", "v0"), ("split", "v0")]).assign(error_type="PartialVideo", severity="warning")
    table = decide.stage_failures(joined([4.0, 4.0, 4.0, 4.0]), warned)
    out = decide.apply(table, Threshold(value=2.5, method="fixed", rule="fixed", n=4), Params())
    assert out["kept"].all() and (table["failed"] == "").all()
