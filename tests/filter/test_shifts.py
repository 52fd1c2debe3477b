"""Table 8: clips mis-filtered when one, two, three manual thresholds shift by 10 % (koala/filter/shifts.py)."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from koala.config import FilterConfig, ManualThresholdsConfig
from koala.filter.shifts import PAPER_TABLE8, shift_rules, table8
from koala.filter.threshold import manual_rules

# Three thresholds only: clarity >= 0.5, aesthetic >= 5.0, motion >= 1.0 (10 % shifts: 0.55/0.45, 5.5/4.5, 1.1/0.9).
CFG = FilterConfig(manual=ManualThresholdsConfig(
    motion_score_min=1.0, moving_area_min=None, clarity_score_min=0.5, aesthetic_score_min=5.0, text_area_max=None,
    border_fraction_max=None, frozen_fraction_max=None))

# Each clip is built to flip (or not) under a known set of shifts; the comment says which.
CLIPS = pd.DataFrame([
    ("A", 0.52, 6.0, 5.0),      # kept; tighter clarity (0.55) drops it
    ("B", 0.47, 6.0, 5.0),      # dropped by clarity; looser clarity (0.45) keeps it
    ("C", 0.60, 5.2, 5.0),      # kept; tighter aesthetic (5.5) drops it
    ("D", 0.60, 6.0, 1.05),     # kept; tighter motion (1.1) drops it
    ("E", 0.52, 5.2, 5.0),      # kept; tighter clarity or aesthetic drops it (counted once)
    ("F", 0.30, 5.2, 5.0),      # dropped by clarity, even at 0.45: never flips
    ("G", 0.47, 6.0, 0.95),     # dropped by clarity and motion: flips only when both loosen (row 3)
    ("H", 0.60, np.nan, 5.0),   # aesthetic unknown: that threshold is skipped, nothing flips
], columns=["clip_id", "clarity_score", "aesthetic_score", "motion_score"])


def test_hand_made_table_counts_each_flip_once():
    t = table8(CLIPS, CFG).set_index("shifted")
    got = {k: (r.tighter, r.looser, r.either) for k, r in t.iterrows()}
    assert got == {
        "clarity": (2, 1, 3),                    # A, E | B
        "clarity, aesthetic": (3, 1, 4),         # A, C, E | B
        "clarity, motion, aesthetic": (4, 2, 6),  # A, C, D, E | B, G
    }
    assert t["clips"].eq(8).all()
    assert t.loc["clarity", "either_share"] == pytest.approx(3 / 8)
    assert t.loc["clarity", "paper_misfiltered"] == 250_000
    assert t.loc["clarity, motion, aesthetic", "paper_share"] == pytest.approx(340_000 / 48_000_000)


def test_rows_follow_the_paper_and_all_nan_metrics_are_named():
    assert [tuple(s) for s in FilterConfig().shift_sets] == list(PAPER_TABLE8)
    no_aes = CLIPS.assign(aesthetic_score=np.nan)
    t = table8(no_aes, CFG)
    assert t["all_nan"].tolist() == ["", "aesthetic", "aesthetic"]
    # Without aesthetic values its shift can flip nothing: rows 1 and 2 count the same clips.
    assert t["either"].iloc[0] == t["either"].iloc[1]


def test_shifting_a_metric_without_a_threshold_is_an_error():
    cfg = FilterConfig(manual=ManualThresholdsConfig(clarity_score_min=None))
    with pytest.raises(ValueError, match="clarity_score"):
        shift_rules(manual_rules(cfg), ("clarity_score",), 0.1, tighter=True)


def test_a_row_without_a_threshold_is_nan_not_a_crash():
    cfg = dataclasses.replace(CFG, manual=dataclasses.replace(CFG.manual, aesthetic_score_min=None))
    t = table8(CLIPS, cfg)
    assert t["no_threshold"].tolist() == ["", "aesthetic", "aesthetic"]
    assert t["tighter"].isna().tolist() == [False, True, True] and np.isnan(t["either"].iloc[2])
