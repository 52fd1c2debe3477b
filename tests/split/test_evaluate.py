"""Matching, P/R/F1, dirty clips, yield and impure clips, and the paper's clip-level numbers."""

from __future__ import annotations

import math

import pandas as pd

from koala.split import evaluate as E


def _videos(truth):
    return pd.DataFrame({"video_id": ["v"], "truth": [[{"type": t, "first_frame": a, "last_frame": b} for t, a, b in truth]], "num_frames": [300]})


def test_overlap_within_two_frames():
    assert E.overlaps((10, 11), (13, 20), 2)
    assert not E.overlaps((10, 11), (14, 20), 2)
    assert E.overlaps((25, 26), (13, 20), 5) and not E.overlaps((25, 26), (13, 20), 4)


def test_matching_is_one_to_one():
    # One long detection over two transitions matches only one of them.
    assert len(E.match([(10, 40)], [(12, 13), (30, 31)], 2)) == 1
    # Two detections near one cut: one match, the closer one.
    assert E.match([(9, 10), (12, 13)], [(12, 13)], 2) == [(1, 0)]


def test_boundary_metrics_count_misses_and_false_positives():
    v = _videos([("cut", 49, 50), ("dissolve", 100, 120), ("wipe", 200, 210)])
    table = E.boundary_table(v, {"v": [(49, 50), (98, 122), (150, 151)]})
    m = E.boundary_metrics(table)
    assert (m["detected"], m["false_positives"], m["transitions"]) == (2, 1, 3)
    assert math.isclose(m["precision"], 2 / 3) and math.isclose(m["recall"], 2 / 3)
    assert m["recall_by_type"] == {"cut": 1.0, "dissolve": 1.0, "wipe": 0.0}
    assert m["recall_gradual"] == 0.5


def test_nothing_true_and_nothing_found_is_undefined_not_perfect():
    m = E.prf(0, 0, 0)
    assert all(math.isnan(v) for v in m.values())
    assert E.prf(0, 3, 0)["precision"] == 0.0


def test_clip_holds_a_cut_only_with_both_frames():
    assert E.clip_holds_transition((0, 51), [(49, 50)])
    assert not E.clip_holds_transition((0, 50), [(49, 50)])
    assert not E.clip_holds_transition((50, 90), [(49, 50)])


def test_clip_holds_a_gradual_transition_beyond_the_tolerance():
    assert not E.clip_holds_transition((0, 102), [(100, 120)])  # two mixed frames: within tolerance
    assert E.clip_holds_transition((0, 103), [(100, 120)])


def test_dirty_share_and_windows():
    v = _videos([("cut", 49, 50)])
    clips = pd.DataFrame({"video_id": ["v", "v"], "start_frame": [0, 52], "end_frame": [48, 300]})
    assert E.dirty_clip_share(v, clips)["dirty_share"] == 0.0
    w = E.window_table(v, {"v": [(49, 50), (160, 161)]}, window=75)
    assert w["label"].tolist() == [True, False, False, False]
    assert w["pred"].tolist() == [True, False, True, False]
    m = E.paper_metrics(w)
    assert (m["accuracy"], m["recall"], m["precision"]) == (0.75, 1.0, 0.5)


def _clips(runs, vid="v"):
    return pd.DataFrame({"video_id": [vid] * len(runs), "start_frame": [s for s, _ in runs], "end_frame": [e for _, e in runs]})


def test_a_perfect_split_keeps_every_clean_frame_and_no_clip_is_impure():
    # a cut between 49 and 50 costs no frame; the dissolve's mixed frames 100..120 are the only loss
    v = _videos([("cut", 49, 50), ("dissolve", 100, 120)])
    r = E.clip_purity(v, _clips([(0, 50), (50, 100), (121, 300)]))
    assert r["clean_frames"] == 300 - 21 and r["kept_clean_frames"] == 279
    assert r["yield"] == 1.0 and r["impure_share"] == 0.0 and r["impure_clips"] == 0


def test_one_mixed_frame_or_both_sides_of_a_cut_make_a_clip_impure():
    v = _videos([("cut", 49, 50), ("dissolve", 100, 120)])
    r = E.clip_purity(v, _clips([(0, 51), (51, 101), (121, 300)]))  # straddles the cut; holds mixed frame 100
    assert r["impure_clips"] == 2 and math.isclose(r["impure_share"], 2 / 3)
    assert r["kept_clean_frames"] == 179 and math.isclose(r["yield"], 179 / 279)
    # a missed transition: both shots' frames are lost
    assert E.clip_purity(v, _clips([(0, 100), (121, 300)]))["kept_clean_frames"] == 179
    # an over-wide detection loses only its extra frames
    assert E.clip_purity(v, _clips([(0, 50), (50, 95), (125, 300)]))["kept_clean_frames"] == 279 - 5 - 4


def test_purity_over_several_videos_counts_videos_without_clips():
    v = pd.concat([_videos([]), _videos([]).assign(video_id="w", num_frames=100)], ignore_index=True)
    r = E.clip_purity(v, _clips([(0, 300)]))
    assert r["clean_frames"] == 400 and r["kept_clean_frames"] == 300 and r["yield"] == 0.75
    empty = E.clip_purity(v.iloc[:0], _clips([]))
    assert math.isnan(empty["yield"]) and math.isnan(empty["impure_share"])
