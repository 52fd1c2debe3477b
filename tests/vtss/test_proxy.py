"""The proxy-label protocol: variants and labels, windows, source-level splits, and one window built end to end."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from koala.config import Params, VtssProxyConfig, to_dict
from koala.metrics.registry import METRIC_NAMES
from koala.engine import item_fingerprint
from koala.vtss.proxy import (assign_folds, build_window, proxy_items, proxy_label, shot_windows, steps_name, variants,
                              windows)
from koala.vtss.stage import smoke


def test_variants_and_labels():
    cfg = VtssProxyConfig(singles_per_window=0, pairs_per_window=8)
    v = variants(cfg, np.random.default_rng(0))
    assert len(v) == 1 + len(cfg.degradations) * cfg.levels + cfg.pairs_per_window
    assert v[0] == () and proxy_label(()) == 5.0
    labels = {steps_name(s): proxy_label(s) for s in v}
    assert labels["blur1"] == 4 and labels["blur4"] == 1 and labels["text3"] == 2
    pairs = [s for s in v if len(s) == 2]
    assert all(s[0][0] != s[1][0] and 1 <= proxy_label(s) <= 3 for s in pairs)
    assert set(labels.values()) == {1.0, 2.0, 3.0, 4.0, 5.0}
    with pytest.raises(ValueError, match="unknown"):
        variants(dataclasses.replace(cfg, degradations=("sepia",)), np.random.default_rng(0))


def test_random_singles_cover_every_degradation_once_and_labels_follow_the_table():
    cfg = VtssProxyConfig(singles_per_window=9, pairs_per_window=2)
    v = variants(cfg, np.random.default_rng(3))
    singles = [s for s in v if len(s) == 1]
    assert len(v) == 1 + 9 + 2 and sorted(d for (d, _), in singles) == sorted(cfg.degradations)
    assert all(1 <= lvl <= cfg.levels for (_, lvl), in singles)
    table = (5.0, 3.5, 2.0, 1.5, 1.0)
    assert proxy_label((), table) == 5.0 and proxy_label((("blur", 2),), table) == 2.0
    assert proxy_label((("blur", 4), ("noise", 2)), table) == 1.0  # beyond the table: its last value
    with pytest.raises(ValueError, match="severity_labels"):
        proxy_label((), (4.0, 3.0))
    with pytest.raises(ValueError, match="severity_labels"):
        proxy_label((), (5.0, 3.0, 4.0))


def _shots(rows):
    return pd.DataFrame([{"source": "s", "shot_id": f"s_{k}", "path": "/x.mp4", "fps": 25.0, "start_frame": a, "end_frame": b}
                         for k, (a, b) in enumerate(rows)])


def test_shot_windows_stay_inside_one_shot_and_skip_short_ones():
    cfg = VtssProxyConfig(window_sec=2.0, min_window_sec=0.6, windows_per_source=1)
    shots = _shots([(0, 10), (10, 60), (60, 300), (300, 400)])  # the first is 0.4 s: too short
    one = shot_windows(shots, cfg)
    assert len(one) == 1
    by_id = {r.shot_id: (r.start_frame, r.end_frame) for r in shots.itertuples()}
    for n in (1, 2, 3, 5, 8):
        ws = shot_windows(shots, dataclasses.replace(cfg, windows_per_source=n))
        assert 1 <= len(ws) <= n and len(set(ws)) == len(ws)
        for sid, a, b in ws:
            lo, hi = by_id[sid]
            assert lo <= a < b <= hi and sid != "s_0"  # never across a cut, never in the too-short shot
            assert b - a == min(50, hi - lo)
    three = shot_windows(shots, dataclasses.replace(cfg, windows_per_source=3))
    assert {sid for sid, _, _ in three} == {"s_1", "s_2", "s_3"}  # as many shots as windows: one window each
    assert shot_windows(_shots([(0, 5)]), cfg) == []


def test_proxy_shots_fall_back_to_the_samples_without_the_corpus_table(tmp_path, caplog, monkeypatch):
    import koala.vtss.proxy as proxy

    samples = pd.DataFrame([{"video_id": "v", "path": "/x/v.mp4", "fps": 25.0, "num_frames": 90, "label": 3.0}])
    monkeypatch.setattr(proxy, "sample_sources", lambda params, env=None: samples)
    params = Params()
    params = dataclasses.replace(params, corpus=dataclasses.replace(
        params.corpus, real=dataclasses.replace(params.corpus.real, shots_table=str(tmp_path / "none.parquet"))))
    with caplog.at_level("WARNING"):
        shots = proxy.proxy_shots(params)
    assert shots["source"].tolist() == ["v"] and "samples only" in caplog.text
    # with the table: its shots (kind == "shot" only, files that exist) join the samples
    video = tmp_path / "r.mp4"
    video.write_bytes(b"x")
    pd.DataFrame([{"shot_id": "r_0", "source": "r", "path": str(video), "fps": 25.0, "start_frame": 0, "end_frame": 50,
                   "kind": "shot"},
                  {"shot_id": "r_1", "source": "r", "path": str(video), "fps": 25.0, "start_frame": 50, "end_frame": 60,
                   "kind": "black"},
                  {"shot_id": "q_0", "source": "q", "path": str(tmp_path / "gone.mp4"), "fps": 25.0, "start_frame": 0,
                   "end_frame": 50, "kind": "shot"}]).to_parquet(tmp_path / "shots.parquet")
    params = dataclasses.replace(params, corpus=dataclasses.replace(
        params.corpus, real=dataclasses.replace(params.corpus.real, shots_table=str(tmp_path / "shots.parquet"))))
    shots = proxy.proxy_shots(params)
    assert shots["shot_id"].tolist() == ["v", "r_0"]
    items = proxy_items(shots, params, "tiny", params.vtss.tiny)
    assert sorted(it["video_id"] for it in items) == ["r", "v"]
    assert next(it for it in items if it["video_id"] == "r")["shot_id"] == "r_0"


def test_windows_fit_the_source():
    cfg = dataclasses.replace(VtssProxyConfig(), windows_per_source=3, window_sec=2.0)
    w = windows(300, 30.0, cfg)
    assert len(w) == 3 and w[0] == (0, 60) and w[-1] == (240, 300)
    assert windows(40, 30.0, cfg) == [(0, 40)] * 3 or all(b - a == 40 for a, b in windows(40, 30.0, cfg))


def test_folds_hold_out_whole_sources():
    table = pd.DataFrame({"source": ["a"] * 3 + ["b"] * 3 + ["c"] * 3 + ["d"] * 3})
    cfg = dataclasses.replace(VtssProxyConfig(), test_sources=("b",), folds=1)
    assert assign_folds(table, cfg) == [("holdout", ["b"])]
    folds = assign_folds(table, dataclasses.replace(cfg, folds=2))
    assert sorted(s for _, part in folds for s in part) == ["a", "b", "c", "d"]
    with pytest.raises(ValueError, match="test_sources"):
        assign_folds(table, dataclasses.replace(cfg, test_sources=("zz",)))
    with pytest.raises(ValueError, match="every source"):
        assign_folds(table, dataclasses.replace(cfg, test_sources=("a", "b", "c", "d")))


def test_one_window_end_to_end(make_video, tmp_path):
    """Degraded variants of a real (synthetic) video, their sub-metrics from the scorer, tensors on disk."""
    params = smoke(Params())
    v = make_video("v.mp4", n=40, width=160, height=96, fps=25.0)
    out = tmp_path / "w.npz"
    item = {"key": "v-w0", "path": str(v), "video_id": "v", "fps": 25.0, "window": [0, 40], "window_index": 0, "seed_key": 0,
            "proxy": to_dict(params.vtss.proxy), "size": to_dict(params.vtss.tiny), "score": to_dict(params.score),
            "outputs": [str(out)]}
    rows = pd.DataFrame(build_window(item))
    n = 1 + len(params.vtss.proxy.degradations) + params.vtss.proxy.pairs_per_window
    assert len(rows) == n and rows["inputs_index"].tolist() == list(range(n))
    assert rows.loc[0, "degradations"] == "clean" and rows.loc[0, "label_proxy"] == 5
    assert set(METRIC_NAMES) <= set(rows.columns)
    still = rows[rows["degradations"] == "still1"].iloc[0]
    assert still["motion_score"] < rows.loc[0, "motion_score"]  # the scorer sees the slow motion
    with np.load(out) as z:
        size = params.vtss.tiny
        side = size.grid * size.patch
        assert z["fragments"].shape == (n, size.num_clips, size.clip_len, side, side, 3)
        assert z["frames"].shape == (n, size.static_frames, size.static_size, size.static_size, 3)


def test_proxy_items_depend_on_input_sizes_not_on_the_training_schedule():
    """Retuning epochs, lr or the network's widths must reuse the cached proxy set; a new input size must not."""
    params = smoke(Params())
    sources = pd.DataFrame([{"video_id": "v", "path": "/x/v.mp4", "fps": 25.0, "num_frames": 200}])
    tiny = params.vtss.tiny

    def keys(size):
        return [item_fingerprint(it) for it in proxy_items(sources, params, "tiny", size)]

    base = keys(tiny)
    assert keys(dataclasses.replace(tiny, epochs=tiny.epochs + 7, lr=tiny.lr * 3, feature_dim=tiny.feature_dim * 2)) == base
    assert keys(dataclasses.replace(tiny, static_size=tiny.static_size // 2)) != base


def test_proxy_items_do_not_depend_on_which_sources_are_held_out():
    """k-fold evaluation (`-S vtss.proxy.folds=5`) reuses the proxy set; a new degradation list does not."""
    params = smoke(Params())
    sources = pd.DataFrame([{"video_id": "v", "path": "/x/v.mp4", "fps": 25.0, "num_frames": 200}])

    def keys(proxy):
        p = dataclasses.replace(params, vtss=dataclasses.replace(params.vtss, proxy=proxy))
        return [item_fingerprint(it) for it in proxy_items(sources, p, "tiny", p.vtss.tiny)]

    cfg = params.vtss.proxy
    base = keys(cfg)
    assert keys(dataclasses.replace(cfg, folds=5, test_sources=("w",))) == base
    assert keys(dataclasses.replace(cfg, degradations=("blur",))) != base
