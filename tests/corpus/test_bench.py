"""The transition benchmark: plans are seeded and consistent; rendered truth matches pixels."""

import dataclasses

import numpy as np
import pytest

from koala.config import BenchConfig, TransitionMix
from koala.corpus import bench
from koala.io.video import read_all
from koala.io.writer import VideoWriter

LENGTHS = {"a.mp4": 150, "b.mp4": 229, "c.mp4": 137, "d.mp4": 129}
COLOURS = {"a.mp4": (230, 30, 30), "b.mp4": (30, 230, 30), "c.mp4": (30, 30, 230), "d.mp4": (230, 230, 30)}


def test_plan_truth_is_consistent_with_the_shots():
    cfg = BenchConfig(shots_per_video=10)
    plan = bench.plan_video(3, LENGTHS, cfg)
    shots, truth = plan["shots"], plan["truth"]
    assert len(truth) == len(shots) - 1 == len(plan["transitions"])
    assert plan["num_frames"] == sum(s["pure"] for s in shots) + sum(t["n"] for t in plan["transitions"])
    prev_end = -1
    for t, tdef in zip(truth, plan["transitions"]):
        assert t["type"] == tdef["type"]
        if t["type"] == "cut":
            assert t["last_frame"] == t["first_frame"] + 1
        else:
            n = t["last_frame"] - t["first_frame"] + 1
            assert n == tdef["n"] and cfg.transition_sec_min * cfg.fps - 1 <= n <= cfg.transition_sec_max * cfg.fps + 1
        assert t["first_frame"] > prev_end  # ordered, no overlap
        prev_end = t["last_frame"]
    assert prev_end < plan["num_frames"]
    for s1, s2 in zip(shots, shots[1:]):
        assert s1["source"] != s2["source"]
    for s in shots:  # every shot's span fits inside its source clip
        assert 0 <= s["start"] and s["start"] + s["n_in"] + s["pure"] + s["n_out"] <= LENGTHS[s["source"]]


def test_plans_are_seeded_and_stable_when_more_videos_are_asked_for():
    cfg = BenchConfig()
    assert bench.plan_video(0, LENGTHS, cfg) == bench.plan_video(0, LENGTHS, dataclasses.replace(cfg, n_videos=50))
    assert bench.plan_video(0, LENGTHS, cfg) != bench.plan_video(1, LENGTHS, cfg)
    assert bench.plan_video(0, LENGTHS, cfg) != bench.plan_video(0, LENGTHS, dataclasses.replace(cfg, seed=1))


def test_mix_controls_the_transition_types():
    only_wipes = BenchConfig(mix=TransitionMix(cut=0, dissolve=0, fade_black=0, fade_white=0, wipe=1, slide=0))
    plan = bench.plan_video(0, LENGTHS, only_wipes)
    assert {t["type"] for t in plan["truth"]} == {"wipe"}
    with pytest.raises(ValueError, match="weights"):
        bench.plan_video(0, LENGTHS, BenchConfig(mix=TransitionMix(cut=0, dissolve=0, fade_black=0, fade_white=0, wipe=0, slide=0)))


def test_too_short_sources_fail_with_advice():
    with pytest.raises(ValueError, match="shot_sec_min"):
        bench.plan_video(0, {"a.mp4": 10, "b.mp4": 10}, BenchConfig())


@pytest.fixture(scope="module")
def flat_sources(tmp_path_factory):
    """Four flat-colour source clips: zoom and flip leave them unchanged, so truth is checkable."""
    d = tmp_path_factory.mktemp("sources")
    paths = {}
    for name, rgb in COLOURS.items():
        p = d / name
        with VideoWriter(p, fps=25, width=64, height=48, crf=10) as w:
            w.write(np.broadcast_to(np.array(rgb, np.uint8), (LENGTHS[name], 48, 64, 3)).copy())
        paths[name] = str(p)
    return paths


def _nearest_colour(frame):
    mean = frame.reshape(-1, 3).mean(0)
    dists = {k: np.abs(mean - np.array(c)).max() for k, c in COLOURS.items()}
    name = min(dists, key=dists.get)
    return name, dists[name]


def test_rendered_video_matches_its_truth_frame_by_frame(flat_sources, tmp_path):
    cfg = BenchConfig(n_videos=1, shots_per_video=6, width=64, height=48, crf=10, n_flash=0, n_pan=0, out_dir=str(tmp_path))
    (item,) = bench.bench_items(flat_sources, cfg)
    row = bench.render_item(item)
    frames = read_all(row["path"])
    plan = item["plan"]
    assert row["num_frames"] == len(frames) == plan["num_frames"]
    inside = np.zeros(len(frames), bool)
    for t in row["truth"]:
        if t["type"] != "cut":
            inside[t["first_frame"] : t["last_frame"] + 1] = True
    # Every frame outside a gradual transition is one pure source colour ...
    for i in np.flatnonzero(~inside):
        assert _nearest_colour(frames[i])[1] < 6, f"frame {i} should be a pure shot frame"
    # ... and every frame inside one is not.
    for i in np.flatnonzero(inside):
        assert _nearest_colour(frames[i])[1] > 6, f"frame {i} should mix two shots"
    # Hard cuts: the shot changes exactly between first_frame and last_frame.
    for t in row["truth"]:
        if t["type"] == "cut":
            a, b = _nearest_colour(frames[t["first_frame"]])[0], _nearest_colour(frames[t["last_frame"]])[0]
            assert a != b


def test_negatives_have_no_transition_and_do_what_they_say(tmp_path):
    # A textured source so that the pan is measurable.
    rng = np.random.default_rng(0)
    tex = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8).repeat(6, 0).repeat(6, 1)  # 72x96 blocks
    src = tmp_path / "tex.mp4"
    with VideoWriter(src, fps=25, width=96, height=72, crf=10) as w:
        w.write(np.broadcast_to(tex, (60, 72, 96, 3)).copy())
    cfg = BenchConfig(n_videos=0, n_flash=1, n_pan=1, width=96, height=72, crf=10, negative_sec=1.6,
                      pan_px_per_frame=5.0, out_dir=str(tmp_path / "out"))
    items = bench.bench_items({"tex.mp4": str(src)}, cfg)
    rows = {it["kind"]: bench.render_item(it) for it in items}
    assert all(r["truth"] == [] for r in rows.values())
    flash = read_all(rows["flash"]["path"]).reshape(-1, 72 * 96 * 3).mean(1)
    plan = next(it["plan"] for it in items if it["kind"] == "flash")
    lit = np.zeros(len(flash), bool)
    lit[plan["flash_at"] : plan["flash_at"] + plan["flash_frames"]] = True
    assert flash[lit].min() > flash[~lit].max() + 40
    import cv2

    pan = read_all(rows["pan"]["path"]).astype(np.float32).mean(-1)
    shifts = [cv2.phaseCorrelate(pan[i], pan[i + 1])[0][0] for i in range(0, 10)]
    assert np.median(np.abs(shifts)) == pytest.approx(5.0, abs=0.6)
