"""Table 1: the paper's rows plus ours computed from the filter table (koala/filter/dataset.py)."""

import numpy as np
import pandas as pd
import pytest

from koala.filter.dataset import PAPER_TABLE1, caption_words, dataset_row, humanise, resolution_label, table1


def test_paper_rows_are_the_published_table():
    assert len(PAPER_TABLE1) == 13
    koala = PAPER_TABLE1.set_index("dataset").loc["Koala-36M"]
    assert (koala.videos, koala.atl_words, koala.tvl_hours, koala.filtering) == ("36M", 202.1, "172K", "Expert Model")
    assert PAPER_TABLE1.set_index("dataset").loc["Panda-70M", "atl_words"] == 13.2


def test_caption_words_and_humanise():
    assert caption_words(pd.Series(["a b  c", "", None, "one\ntwo"])).tolist()[::3] == [3.0, 2.0]
    assert caption_words(pd.Series(["", None])).isna().all()
    assert [humanise(x) for x in (47, 118_000, 36_000_000, np.nan)] == ["47", "118K", "36M", "–"]
    assert resolution_label(pd.Series([720, 720, 360])) == "720p" and resolution_label(pd.Series([], dtype=float)) == "–"


def test_dataset_row_counts_clips_hours_and_words():
    t = pd.DataFrame({"start_sec": [0.0, 10.0, 0.0], "end_sec": [1800.0, 1810.0, 3600.0],
                      "caption": ["a b c d", "a b", None], "backend": ["measured", "measured", None]})
    row = dataset_row(t, "x", "None", resolution="720p")
    assert row["n_clips"] == 3 and row["videos"] == "3"
    assert row["hours"] == pytest.approx((1800 + 1800 + 3600) / 3600)
    assert row["atl_words"] == 3.0 and row["captioned"] == 2  # the clip without a caption is not a zero
    assert row["text"] == "Measured & Struct"


def test_table1_appends_pool_manual_and_kept_rows(tables):
    t = tables([1.0, 2.0, 3.0, 4.0])
    f = t["clips"].merge(t["captions"], on="clip_id").assign(
        kept=[False, False, True, True], manual_kept=[True, False, True, False], source_height=720)
    out = table1(f, rule_label="Expert Model (VTSS >= 2.50, fixed)")
    ours = out[out["source"] == "ours"].set_index("dataset")
    assert len(out) == 16 and list(ours["n_clips"]) == [4, 2, 2]
    assert ours.iloc[2]["filtering"] == "Expert Model (VTSS >= 2.50, fixed)"
    kept = f[f["kept"]]
    assert ours.iloc[2]["hours"] == pytest.approx((kept["end_sec"] - kept["start_sec"]).sum() / 3600)
    assert ours.iloc[2]["atl_words"] == pytest.approx(caption_words(kept["caption"]).mean())
    assert (ours["resolution"] == "720p").all()


def test_label_check_puts_each_rule_beside_the_human_label():
    from koala.filter.labels import label_check

    filtered = pd.DataFrame({"clip_id": ["a0", "a1", "b0", "c0"], "video_id": ["a", "a", "b", "c"],
                             "vtss": [4.0, np.nan, 1.5, 3.0], "vtss_kept": [True, False, False, True],
                             "manual_kept": [False, True, False, True], "manual_reason": ["moving_area 0.1 < 0.3", "", "x", ""]})
    labels = pd.DataFrame({"video_id": ["a", "b"], "vtss_label": [4.15, 1.0], "label_source": "release"})
    t = label_check(filtered, labels)
    assert t["clip_id"].tolist() == ["a0", "a1", "b0"]  # c has no label
    assert t["label_keep"].tolist() == [True, True, False]
    assert t["vtss_agrees"].tolist() == [True, False, True]
    assert t["manual_agrees"].tolist() == [False, True, True]
