"""Spans -> clips: tight around cuts, a small margin around gradual transitions, long shots split."""

from __future__ import annotations

from koala.io.tables import CLIPS
from koala.split import clips as C


def test_a_cut_splits_between_its_frames():
    assert C.pieces([(49, 50)], 100) == [(0, 50), (50, 100)]


def test_a_gradual_transition_is_left_out():
    # Detected span (59, 80): frames 60..79 mix the shots; 59 and 80 are pure.
    assert C.pieces([(59, 80)], 120) == [(0, 60), (80, 120)]
    assert C.pieces([(59, 80)], 120, margin=2) == [(0, 58), (82, 120)]


def test_the_margin_pads_gradual_spans_never_cuts():
    # a cut removes no frame: clip A ends at the cut, clip B starts right at it
    assert C.pieces([(49, 50), (100, 110)], 200, margin=1) == [(0, 50), (50, 100), (111, 200)]
    assert sum(e - s for s, e in C.pieces([(9, 10), (19, 20), (29, 30)], 40, margin=2)) == 40


def test_overlapping_spans_and_the_ends():
    # single frames at the ends stay pieces here; the minimum duration drops them later
    assert C.pieces([(0, 1), (30, 40), (35, 45), (98, 99)], 100) == [(0, 1), (1, 31), (45, 99), (99, 100)]


def test_short_shots_are_kept_and_long_shots_split_evenly():
    assert C.split_long([(0, 10), (10, 35)], max_frames=1000) == [(0, 10), (10, 35)]  # the filter decides on short ones
    assert C.split_long([(0, 1)], max_frames=30) == [(0, 1)]
    assert C.split_long([(0, 100)], max_frames=30) == [(0, 25), (25, 50), (50, 75), (75, 100)]
    assert all(e - s <= 30 for s, e in C.split_long([(3, 104)], max_frames=30))


def test_clips_table_matches_the_schema():
    df = C.clips_table([(0, 50), (50, 100)], video_id="v", video="/x/v.mp4", fps=25.0, method="learned")
    assert list(df.columns) == CLIPS.names
    assert df["clip_id"].is_unique and df["end_sec"].tolist() == [2.0, 4.0]
