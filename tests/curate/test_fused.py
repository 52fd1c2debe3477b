"""koala/curate/fused.py: score, caption, VTSS and posters from one decode give the tables of the stages run in turn."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from koala.cli import main
from koala.io.tables import read_table


def _params(kit, tmp, *, fused: bool, model) -> str:
    path = kit.permissive_params(tmp, curate={"poster_height": 48, "fused_decode": fused},
                                 vtss={"model_path": str(model), "fragments": {"num_clips": 1}},
                                 score={"item_sec": 1.5})  # the long video is three work items
    return str(path)


@pytest.mark.timeout(600)
def test_one_decode_gives_the_tables_of_the_stages_run_in_turn(tmp_path, curate_kit):
    videos = tmp_path / "videos"
    videos.mkdir()
    curate_kit.synth_video(videos / "a.mp4", n=80, cuts={40})
    curate_kit.synth_video(videos / "long.mp4", n=150, cuts={30, 60, 90, 120})
    model = curate_kit.tiny_tsa(tmp_path / "tsa.pt")
    outs = {}
    for fused in (False, True):
        tmp = tmp_path / f"fused-{fused}"
        tmp.mkdir()
        outs[fused] = tmp / "out"
        assert main(["curate", str(videos), "--out", str(outs[fused]), "--params", _params(curate_kit, tmp, fused=fused, model=model)]) == 0
    turn, fused = (read_table(outs[f] / "clips.parquet") for f in (False, True))
    assert len(turn) == 7 and turn["vtss"].notna().all() and (turn["caption"].str.len() > 20).all()
    pd.testing.assert_frame_equal(turn, fused)
    assert (outs[False] / "koala.csv").read_bytes() == (outs[True] / "koala.csv").read_bytes()
    assert len(read_table(outs[True] / "errors.parquet")) == 0
    for name in turn["poster"]:
        assert (outs[True] / name).read_bytes() == (outs[False] / name).read_bytes()
    s_turn, s_fused = (json.loads((outs[f] / "summary.json").read_text()) for f in (False, True))
    assert s_turn["decode_passes_per_video"] == 5 and s_fused["decode_passes_per_video"] == 2  # split + per-clip stages
    assert s_fused["seconds"]["per_clip"] > 0 and s_fused["seconds"]["score"] == 0


@pytest.mark.timeout(300)
def test_a_stage_that_fails_on_a_video_fails_alone(tmp_path, curate_kit, monkeypatch):
    """The caption failing on every clip leaves the score, VTSS and posters of the same pass in place."""
    from koala.caption import measured

    def broken(*a, **k):
        raise RuntimeError("caption broke")

    monkeypatch.setattr(measured, "measure_frames", broken)
    video = curate_kit.synth_video(tmp_path / "a.mp4", n=80, cuts={40})
    model = curate_kit.tiny_tsa(tmp_path / "tsa.pt")
    out = tmp_path / "out"
    assert main(["curate", str(video), "--out", str(out), "--params", _params(curate_kit, tmp_path, fused=True, model=model)]) == 0
    table = read_table(out / "clips.parquet")
    errors = read_table(out / "errors.parquet")
    assert len(table) == 2 and table["vtss"].notna().all() and table["motion_score"].notna().all()
    assert set(errors["stage"]) == {"caption"} and errors["message"].str.contains("caption broke").all()
    assert not table["kept"].any() and table["reason"].str.contains("caption: caption broke").all()


def test_a_resumed_item_captions_from_the_saved_score_rows(tmp_path, curate_kit, monkeypatch):
    """Killed after the score rows were saved and before the captions: the rerun reads the saved rows."""
    import dataclasses
    from pathlib import Path

    from koala.config import load_params
    from koala.curate.fused import fused_items, fused_video
    from koala.engine.core import result_path

    video = curate_kit.synth_video(tmp_path / "a.mp4", n=80, cuts={40})
    clips = pd.DataFrame([{"clip_id": f"a_{k}", "video_id": "a", "clip_index": k, "start_frame": s, "end_frame": e,
                           "start_sec": s / 25, "end_sec": e / 25, "fps": 25.0, "method": "truth", "video": str(video)}
                          for k, (s, e) in enumerate([(0, 40), (40, 80)])])
    params = load_params(_params(curate_kit, tmp_path, fused=True, model=tmp_path / "none.pt"))
    engine = dataclasses.replace(params.engine, cache_dir=str(tmp_path / "cache"))
    params = dataclasses.replace(params, score=dataclasses.replace(params.score, item_sec=0.0))  # one work item
    (item,), _ = fused_items(clips, params, engine, vtss_model=None, posters_dir=None)
    assert {r["stage"]: r["status"] for r in fused_video(item)} == {"score": "ok", "caption": "ok"}
    saved = result_path(Path(item["caches"]["caption"]), item["stages"]["caption"])
    first = read_table(saved)
    saved.unlink()  # as if killed between the two saves
    from koala.caption import measured

    seen, real = {}, measured.measure_frames

    def recording(frames, *, metrics=None, **kw):
        seen[len(seen)] = metrics
        return real(frames, metrics=metrics, **kw)

    monkeypatch.setattr(measured, "measure_frames", recording)
    assert {r["stage"]: r["status"] for r in fused_video(item)} == {"score": "reused", "caption": "ok"}
    pd.testing.assert_frame_equal(read_table(saved), first)
    scores = read_table(result_path(Path(item["caches"]["score"]), item["stages"]["score"]))
    assert sorted(m["text_area"] for m in seen.values()) == sorted(scores["text_area"])  # the score stage's, not None
