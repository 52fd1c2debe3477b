"""Long edited videos from real shots: plans are exact, rendering puts every source frame where planned."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from koala.config import LongConfig, TransitionMix
from koala.corpus import long
from koala.io.video import probe, read_all


def _pool(paths: dict[str, tuple[str, int, int, float]]) -> pd.DataFrame:
    rows = [{"shot_id": f"{src}_{s:04d}", "source": src, "path": p, "start_frame": s, "end_frame": e,
             "num_frames": e - s, "fps": fps, "kind": "shot"} for src, (p, s, e, fps) in paths.items()]
    return pd.DataFrame(rows)


SYNTH = {"a": ("a.mp4", 0, 400, 25.0), "b": ("b.mp4", 10, 300, 30.0), "c": ("c.mp4", 0, 40, 10.0), "d": ("d.mp4", 5, 800, 50.0)}


def test_plan_reaches_the_length_and_its_truth_matches_the_pieces():
    cfg = LongConfig(minutes=(2.0,))
    plan = long.plan_long(0, 2.0, _pool(SYNTH), cfg)
    pieces, truth = plan["pieces"], plan["truth"]
    assert abs(plan["num_frames"] - 2 * 60 * 25) <= 30 * 25
    assert len(truth) == len(pieces) - 1
    assert plan["num_frames"] == sum(p["pure"] for p in pieces) + sum(t["n"] for t in plan["transitions"])
    for (s0, e0), (s1, _), t in zip(plan["spans"], plan["spans"][1:], truth):
        if t["type"] == "cut":
            assert (t["first_frame"], t["last_frame"]) == (e0 - 1, e0) and s1 == e0
        else:
            assert t["first_frame"] == e0 and t["last_frame"] == s1 - 1
    for p in pieces:  # a piece never leaves its hand-checked shot
        need = p["offset"] + p["n_in"] + p["pure"] + p["n_out"]
        assert need <= long.out_frames(p["src_end"] - p["src_start"], p["src_fps"], cfg.fps)
        assert p["pure"] >= round(cfg.shot_sec_min * cfg.fps)
    assert all(a["source"] != b["source"] for a, b in zip(pieces, pieces[1:]))


def test_every_plan_ends_on_a_piece_never_inside_a_transition():
    """A plan whose length was reached inside the transition out of its last piece planned frames nobody renders."""
    pool = _pool(SYNTH)
    for seed in range(40):
        for minutes in (0.5, 1.0, 2.0):
            plan = long.plan_long(0, minutes, pool, LongConfig(minutes=(minutes,), seed=seed))
            assert len(plan["transitions"]) == len(plan["pieces"]) - 1 and plan["pieces"][-1]["n_out"] == 0, (seed, minutes)
            assert plan["num_frames"] == sum(p["pure"] for p in plan["pieces"]) + sum(t["n"] for t in plan["transitions"])


def test_plans_are_seeded_and_durations_spread_from_short_to_long():
    cfg = LongConfig(minutes=(10.0,), shot_sec_max=30.0)
    pool = _pool({**SYNTH, "e": ("e.mp4", 0, 2000, 25.0)})
    a, b = long.plan_long(0, 10.0, pool, cfg), long.plan_long(0, 10.0, pool, cfg)
    assert a == b
    pure = np.array([p["pure"] for p in a["pieces"]]) / cfg.fps
    assert pure.min() < 1.0 and pure.max() > 15.0


def test_rendered_pixels_follow_the_plan(make_video, tmp_path):
    paths = {name: str(make_video(name, n=n, fps=fps, width=64, height=48))
             for name, n, fps in [("a.mp4", 120, 25.0), ("b.mp4", 100, 30.0), ("c.mp4", 60, 12.5)]}
    pool = _pool({"a": (paths["a.mp4"], 0, 120, 25.0), "b": (paths["b.mp4"], 20, 100, 30.0), "c": (paths["c.mp4"], 0, 60, 12.5)})
    cfg = LongConfig(minutes=(0.3,), width=96, height=48, shot_sec_min=0.4, shot_sec_max=2.0, crf=12,
                     mix=TransitionMix(cut=0.5, dissolve=0.5, fade_black=0, fade_white=0, wipe=0, slide=0),
                     out_dir=str(tmp_path / "long"))
    (item,) = long.long_items(pool, cfg)
    row = long.render_long(item)
    assert row["num_frames"] == item["plan"]["num_frames"] and row["truth"] == item["plan"]["truth"]
    assert (row["width"], row["height"], row["fps"]) == (96, 48, 25.0)
    frames = read_all(item["out"])
    for p, (s, e) in zip(item["plan"]["pieces"], item["plan"]["spans"]):
        j = np.arange(p["offset"] + p["n_in"], p["offset"] + p["n_in"] + p["pure"])
        want = np.minimum(p["src_start"] + np.floor(j * p["src_fps"] / cfg.fps + 1e-9).astype(int), p["src_end"] - 1)
        got = [make_video.index_of(f) for f in frames[s:e]]
        assert got == list(want), p["shot_id"]
    table = long.pieces_table([item])
    assert list(table["start_frame"]) == [s for s, _ in item["plan"]["spans"]]


def test_no_shot_long_enough_is_a_clear_error():
    cfg = LongConfig(minutes=(1.0,), shot_sec_min=5.0)
    with pytest.raises(ValueError, match="no real shot lasts 5.0 s"):
        long.plan_long(0, 1.0, _pool({"c": ("c.mp4", 0, 40, 10.0)}), cfg)


def test_a_multiple_of_the_first_length_repeats_its_edit_by_stream_copy(make_video, tmp_path):
    paths = {name: str(make_video(name, n=n, fps=25.0, width=64, height=48)) for name, n in [("a.mp4", 80), ("b.mp4", 90)]}
    pool = _pool({"a": (paths["a.mp4"], 0, 80, 25.0), "b": (paths["b.mp4"], 0, 90, 25.0)})
    cfg = LongConfig(minutes=(0.1, 0.3), width=64, height=48, shot_sec_min=0.4, shot_sec_max=1.0, crf=12,
                     mix=TransitionMix(cut=0.5, dissolve=0.5, fade_black=0, fade_white=0, wipe=0, slide=0),
                     out_dir=str(tmp_path / "long"))
    first, third = long.long_items(pool, cfg)
    assert third["src"] == first["out"] and third["times"] == 3
    long.render_long(first)
    row = long.render_repeat(third)
    n = first["plan"]["num_frames"]
    assert row["num_frames"] == 3 * n and row["truth"] == third["plan"]["truth"]
    # every round's truth is the first's shifted, with a hard cut at each join
    joins = [t for t in row["truth"] if t["first_frame"] in (n - 1, 2 * n - 1) and t["type"] == "cut"]
    assert len(row["truth"]) == 3 * len(first["plan"]["truth"]) + 2 and len(joins) == 2
    a, b = read_all(first["out"]), read_all(third["out"])
    for k in range(3):
        assert np.array_equal(b[k * n:(k + 1) * n], a)
    assert len(long.pieces_table([first, third]).query("video_id == @third['key']")) == 3 * len(first["plan"]["pieces"])
    # off: every video is rendered from its own plan
    assert all("src" not in it for it in long.long_items(pool, dataclasses.replace(cfg, repeat_first=False)))
