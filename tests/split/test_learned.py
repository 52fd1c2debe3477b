"""Our detector: streamed features, window features, span extraction, the model file, training."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from koala.config import SplitConfig, SplitTrainConfig
from koala.split import features as F
from koala.split import learned as L


def test_pair_features_of_identical_frames(synth):
    frames = synth.textured_shot(0, 2)
    d = F.describe(np.stack([frames[0], frames[0]]))
    x = F.pair_features(d, np.array([0]), np.array([1]))[0]
    np.testing.assert_allclose(x, [1.0, 1.0, 1.0, 0.0, 1.0], atol=1e-5)


def test_different_shots_are_less_similar_than_one_shot(synth):
    a, b = synth.textured_shot(0, 3), synth.textured_shot(7, 3)
    d = F.describe(np.concatenate([a, b]))
    same = F.pair_features(d, np.array([0]), np.array([1]))[0]
    diff = F.pair_features(d, np.array([2]), np.array([3]))[0]
    assert same[2] > diff[2] and same[3] < diff[3]


def test_streaming_in_chunks_equals_one_pass(synth):
    frames = np.concatenate([synth.textured_shot(0, 45), synth.textured_shot(1, 30)])
    whole = F.gap_features(frames)
    stream = F.GapStream()
    for s in range(0, len(frames), 7):
        stream.push(F.describe(frames[s : s + 7]))
    parts = stream.result()
    for g in F.GAPS:
        assert parts[g].shape == (len(frames) - g, len(F.PAIR_FEATURES))
        np.testing.assert_allclose(parts[g], whole[g], atol=1e-6)


def test_a_short_span_with_one_shot_change_step_snaps_to_that_cut():
    adjacent = np.full(60, -2.0)
    adjacent[12] = 3.0  # frames 12 -> 13 change shots
    adjacent[40:46] = 0.5  # a short fade: every step changes
    spans = [(9, 15), (39, 46), (50, 51)]
    assert L.snap_cuts(spans, adjacent, longest=12) == [(12, 13), (39, 46), (50, 51)]
    assert L.snap_cuts(spans, adjacent, longest=4) == spans  # too long to snap
    assert L.snap_cuts([(20, 27)], adjacent, longest=12) == [(20, 27)]  # no step looks like a cut: kept


def test_gradual_spans_grow_while_the_picture_still_changes_cuts_never():
    change = np.full(80, 0.01)
    change[27:45] = 0.2  # a wipe: steps 27..44 change the picture (mixed frames 28..44)
    # detected late at the start (30) and early at the end (42): both ends grow back to the changes
    assert L.extend_ends([(30, 42)], change, ratio=2.0, reach=6) == [(27, 45)]
    assert L.extend_ends([(30, 42)], change, ratio=2.0, reach=2) == [(28, 44)]  # at most `reach` per side
    change[60] = 0.5
    assert L.extend_ends([(60, 61)], change, ratio=2.0, reach=6) == [(60, 61)]  # a hard cut is not grown
    assert L.picture_change(np.array([[0.9, 0.8, 0.9, 0.1, 0.9]])).tolist() == pytest.approx([0.3])


def test_window_features_have_no_gaps_at_the_ends():
    scores = {g: np.random.default_rng(g).normal(size=40 - g) for g in F.GAPS}
    raw = {g: np.random.default_rng(g).random((40 - g, 5)) for g in F.GAPS}
    x = L.window_features(scores, raw, 40, F.GAPS)
    assert x.shape == (39, len(L.window_feature_names(F.GAPS)))
    assert np.isfinite(x).all()


def test_spans_from_scores():
    s = np.zeros(30)
    s[9] = 0.99  # boundary 10: a hard cut (9, 10)
    s[19:24] = [0.6, 0.7, 0.2, 0.8, 0.6]  # a low run: never reaches the peak
    assert L.spans_from_scores(s, threshold=0.5, peak=0.95, merge_gap=4) == [(9, 10)]
    s[21] = 0.97
    # boundaries 20..24 merge across the dip at 22 into one transition: frames 19..24
    assert L.spans_from_scores(s, threshold=0.5, peak=0.95, merge_gap=4) == [(9, 10), (19, 24)]


def test_model_round_trips_and_a_missing_one_says_how_to_make_it(tmp_path):
    m = L.load_model()
    assert L.LearnedModel.from_json(m.to_json()) == m
    assert len(m.window.mean) == len(L.window_feature_names(m.gaps))
    with pytest.raises(FileNotFoundError, match="koala split-train"):
        L.load_model(tmp_path / "nope.json")
    bad = tmp_path / "old.json"
    bad.write_text(json.dumps({**json.loads(m.to_json()), "version": 0}))
    with pytest.raises(ValueError, match="retrain"):
        L.load_model(bad)


def test_shipped_model_finds_a_cut_and_nothing_in_one_shot(two_shots, one_shot):
    from koala.io.video import probe

    det = L.LearnedDetector(SplitConfig())
    path, k = two_shots
    spans = det.run(path, probe(path)).spans
    assert len(spans) == 1 and spans[0][0] <= k <= spans[0][1] + 1
    assert det.run(one_shot, probe(one_shot)).spans == []


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # 20 sequences, 4 units: a smoke run
def test_training_writes_a_loadable_model(tmp_path, synth):
    """Tiny run of the real training code on three synthetic single-shot videos."""
    from koala.split.train import train

    folder = tmp_path / "vids"
    folder.mkdir()
    for i in range(3):
        synth.write(folder / f"v{i}.mp4", synth.textured_shot(10 + i, 60, width=128, height=96, speed=1 + i))
    (folder / "broken.mp4").write_bytes(b"not a video")  # skipped with a warning
    cfg = SplitConfig(train=SplitTrainConfig(pairs_per_video=40, sequences=20, hidden=4, real_shots=""))
    cfg = dataclasses.replace(cfg, learned=dataclasses.replace(cfg.learned, size=64))
    out = tmp_path / "m.json"
    model = train(cfg, videos_dir=str(folder), out=str(out))
    assert L.load_model(out) == model
    assert model.trained_on["videos"] == ["v0.mp4", "v1.mp4", "v2.mp4"]
    assert model.size == 64


def test_training_needs_two_videos(tmp_path, synth):
    from koala.split.train import train

    folder = tmp_path / "vids"
    folder.mkdir()
    synth.write(folder / "only.mp4", synth.textured_shot(1, 30))
    with pytest.raises(ValueError, match="at least two"):
        train(SplitConfig(), videos_dir=str(folder), out=str(tmp_path / "m.json"))


def test_relative_cut_needs_the_wider_pairs_to_rise_too():
    gaps = F.GAPS
    k = len(gaps)
    x = np.zeros((50, len(L.window_feature_names(gaps))))
    excess = lambda g: 2 * k + gaps.index(g)  # noqa: E731
    x[20, excess(1)] = 3.5
    x[20, excess(5)] = x[20, excess(7)] = 2.0  # a cut: pairs across it differ at every gap
    x[35, excess(1)] = 3.5  # a flash: pairs 5 and 7 frames apart span it and stay alike
    assert L.relative_cuts(x, gaps, rise=2.75, confirm=1.5) == [(20, 21)]


def test_overlapped_keeps_order():
    from koala.split.registry import overlapped

    assert list(overlapped(iter(range(10)), lambda v: v * v)) == [v * v for v in range(10)]


def _adjacent(change: np.ndarray) -> np.ndarray:
    """Raw consecutive-pair features whose jump-test change (2 mad + (1 - inter) / 2) is ``change``."""
    x = np.ones((len(change), len(F.PAIR_FEATURES)), np.float32)
    x[:, 3] = change / 2.0  # grey_mad; histograms identical
    return x


def test_jump_cut_is_an_isolated_jump_not_a_flash_or_fast_motion():
    change = np.full(80, 0.02)
    change[20] = 0.3  # a cut between frames 20 and 21 (same palette, so only the picture jumps)
    change[40] = change[42] = 0.3  # a flash: into it and out of it two frames later
    change[60:70] = 0.25  # fast motion: every frame changes a lot
    change[75] = 0.11  # a jump below the floor
    cuts = L.jump_cuts(_adjacent(change), ratio=3.0, floor=0.12, isolation=0.5)
    assert cuts == [(20, 21)]
    assert L.jump_cuts(_adjacent(change[:2]), ratio=3.0, floor=0.12, isolation=0.5) == []


def test_detector_finds_a_cut_between_two_framings_of_one_scene(synth, tmp_path):
    """A cut to a reframed copy of the same texture: same palette, similar layout."""
    from koala.io.video import probe

    shot = synth.textured_shot(5, 80, speed=1)
    frames = np.concatenate([shot[:40], shot[40:, :, ::-1]])  # the second shot mirrored
    path = synth.write(tmp_path / "reframed.mp4", frames)
    spans = L.LearnedDetector(SplitConfig()).run(path, probe(path)).spans
    assert len(spans) == 1 and spans[0][0] - 2 <= 40 <= spans[0][1] + 2, spans


def test_cut_shots_gives_the_shots_between_cuts_less_a_margin(synth, tmp_path):
    from koala.split.train import SHOT_MARGIN, cut_shots

    frames = np.concatenate([synth.textured_shot(1, 60, tint=(1.0, 0.7, 0.3)), synth.textured_shot(2, 50, tint=(0.3, 0.6, 1.0)),
                             synth.textured_shot(3, 30, tint=(0.5, 1.0, 0.5))])  # cuts at 60 and 110; the last shot is too short
    path = synth.write(tmp_path / "edit.mp4", frames)
    shots = cut_shots(path, SplitConfig(), size=32)
    assert list(shots) == ["edit_shot_00", "edit_shot_01"]
    # the union of css and content: one of them may place a cut a frame early, never late
    for got, want in zip([len(s) for s in shots.values()], [60 - 2 * SHOT_MARGIN, 50 - 2 * SHOT_MARGIN]):
        assert want - 2 <= got <= want
    assert shots["edit_shot_00"].shape[1:] == (32, 32, 3)
    assert list(cut_shots(path, SplitConfig(), size=32, end=100)) == ["edit_shot_00"]  # the second shot is cut short


def test_a_sustained_run_under_the_peak_counts_a_burst_does_not():
    s = np.zeros(80)
    s[10:22] = [0.4, 0.7, 0.8, 0.9, 0.85, 0.8, 0.75, 0.8, 0.92, 0.7, 0.6, 0.3]  # a wipe: 12 boundaries, 10 above 0.5, peak 0.92
    s[40:52] = [0.3, 0.2, 0.91, 0.3, 0.2, 0.4, 0.2, 0.3, 0.6, 0.2, 0.3, 0.2]  # motion: same length and peak, in bursts
    s[60:64] = [0.7, 0.93, 0.9, 0.8]  # sustained but only 4 boundaries long
    kw = dict(threshold=0.1, peak=0.96, merge_gap=4)
    assert L.spans_from_scores(s, **kw) == []
    assert L.spans_from_scores(s, **kw, sustain_peak=0.9, sustain_share=0.6, sustain_len=8) == [(10, 22)]
    assert L.spans_from_scores(s, **kw, sustain_peak=0.95, sustain_share=0.6, sustain_len=8) == []  # its peak is too low
    assert L.spans_from_scores(s, **kw, sustain_peak=0.9, sustain_share=0.6, sustain_len=4) == [(10, 22), (60, 64)]


def test_a_slide_the_window_network_misses_is_found_by_its_plateau_exactly(synth, tmp_path):
    from koala.io.video import probe

    a = synth.textured_shot(1, 60, tint=(1.0, 0.7, 0.3))
    b = synth.textured_shot(2, 60, tint=(0.3, 0.6, 1.0))
    w = a.shape[2]
    frames = list(a[:40])
    for k in range(1, 21):  # mixed frames 40..59: B slides in from the right and pushes A out
        off = int(round(w * k / 21))
        frames.append(np.concatenate([a[39 + k][:, off:], b[k - 1][:, :off]], axis=1))
    frames += list(b[20:60])
    path = synth.write(tmp_path / "slide.mp4", np.stack(frames))
    cfg = SplitConfig()
    off = dataclasses.replace(cfg, learned=dataclasses.replace(cfg.learned, plateau_ratio=0.0))
    assert L.LearnedDetector(off).run(path, probe(path)).spans == []  # the network reads a uniform slide as a pan
    assert L.LearnedDetector(cfg).run(path, probe(path)).spans == [(39, 60)]  # pure frames 39 and 60, nothing more


def test_a_dissolve_detected_short_follows_its_own_rate_to_its_end():
    change = np.full(120, 0.016)
    change[40:70] = 0.05  # a dissolve between two similar shots: steps 40..69 (mixed frames 41..69)
    # extend_ends measures the level right after the end, still inside the dissolve, and stops
    assert L.extend_ends([(40, 62)], change, ratio=1.5, reach=6) == [(40, 62)]
    assert L.follow_rate([(40, 62)], change, keep=0.8, reach=10, gap=4) == [(40, 70)]
    assert L.follow_rate([(40, 62)], change, keep=0.8, reach=3, gap=4) == [(40, 65)]  # at most `reach`
    change[90:100] = 0.05  # the next shot moves at the dissolve's rate right away: no level beyond, no growth
    change[70:90] = 0.05
    assert L.follow_rate([(40, 62)], change, keep=0.8, reach=10, gap=4) == [(40, 62)]
    assert L.follow_rate([(100, 101)], change, keep=0.8, reach=10, gap=4) == [(100, 101)]  # a cut never grows
