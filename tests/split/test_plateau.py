"""Plateaus of picture change: trimming, growing and completing detected transitions."""

from __future__ import annotations

import numpy as np

from koala.split import plateau as Pl

KW = dict(ratio=3.0, edge=3.0, flat=0.75, min_len=8, pad=1)


def _quiet(n=200, seed=0):
    rng = np.random.default_rng(seed)
    return 0.01 + 0.004 * rng.random(n)  # a shot's own small change


def test_a_flat_sharp_plateau_is_found_with_its_exact_steps():
    c = _quiet()
    c[63:87] = 0.18  # a slide: steps 63..86 (mixed frames 64..86)
    (p,) = Pl.plateaus(c, ratio=3.0)
    assert p.span == (63, 87)
    assert p.flatness > 0.95 and p.edge_in > 5 and p.edge_out > 5


def test_a_missed_slide_is_added_and_a_ragged_camera_move_is_not():
    c = _quiet()
    c[63:87] = 0.18
    assert Pl.refine_spans([], c, **KW) == [(63, 87)]
    ragged = _quiet()
    ragged[63:87] = np.linspace(0.05, 0.3, 24)  # a pan speeding up: not flat, soft start
    assert Pl.refine_spans([], ragged, **KW) == []
    short = _quiet()
    short[63:68] = 0.18  # too short to be a transition by itself
    assert Pl.refine_spans([], short, **KW) == []


def test_a_slide_found_as_a_cut_at_one_end_or_in_two_halves_grows_to_the_plateau():
    c = _quiet()
    c[63:87] = 0.18
    assert Pl.refine_spans([(62, 63)], c, **KW) == [(62, 87)]  # the cut one frame before is kept inside
    assert Pl.refine_spans([(64, 72), (78, 86)], c, **KW) == [(63, 87)]  # two halves become one


def test_padded_gradual_ends_move_in_to_sharp_edges_cuts_never():
    c = _quiet()
    c[63:87] = 0.18
    c[150] = 0.6  # a hard cut elsewhere is left alone
    # detected 3 frames early and 3 late: trimmed to one frame beyond each edge
    assert Pl.refine_spans([(60, 90), (150, 151)], c, **KW) == [(62, 88), (150, 151)]
    assert Pl.refine_spans([(60, 90)], c, **{**KW, "pad": 0}) == [(63, 87)]
    # edges this sharp (about 10 times the level beside them) are exact: no frame kept removed beyond
    assert Pl.refine_spans([(60, 90)], c, **{**KW, "exact": 5.0}) == [(63, 87)]
    assert Pl.refine_spans([(60, 90)], c, **{**KW, "exact": 50.0}) == [(62, 88)]
    # an end farther than EDGE_REACH from the edge is not moved (the edge may be another change)
    assert Pl.refine_spans([(50, 100)], c, **KW) == [(50, 100)]


def test_a_soft_edge_is_not_trimmed_to():
    c = _quiet()
    c[63:87] = 0.18
    c[80:96] = np.linspace(0.15, 0.02, 16)  # a fade whose last steps fade out over 16 frames: no sharp end
    ps = Pl.plateaus(c, ratio=3.0)
    assert len(ps) == 1 and ps[0].edge_out < 3.0
    # detected to frame 93: its end is not moved in to the plateau's last step (the fade goes on)
    assert Pl.refine_spans([(62, 93)], c, **{**KW, "flat": 2.0}) == [(62, 93)]
    # the same end next to a sharp edge would have been moved in
    sharp = _quiet()
    sharp[63:90] = 0.18
    assert Pl.refine_spans([(62, 93)], sharp, **{**KW, "flat": 2.0}) == [(62, 91)]


def test_no_change_no_plateau():
    assert Pl.plateaus(np.zeros(100), ratio=3.0) == []
    assert Pl.plateaus(np.zeros(3), ratio=3.0) == []
    assert Pl.refine_spans([(10, 11)], np.zeros(100), **KW) == [(10, 11)]


def test_ends_move_in_only_to_edges_as_sharp_as_trim_edge():
    c = np.full(200, 0.02)
    c[63:87] = 0.15  # edges 0.15 / (0.02 + 0.005) = 6 times the level beside them
    assert Pl.refine_spans([(60, 90)], c, **KW, trim_edge=5.0) == [(62, 88)]
    assert Pl.refine_spans([(60, 90)], c, **KW, trim_edge=7.0) == [(60, 90)]  # not sharp enough to move an end in
    assert Pl.refine_spans([], c, **KW, trim_edge=7.0) == [(63, 87)]  # the plateau itself is still a transition
