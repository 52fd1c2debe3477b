"""`koala caption`: one row per clip, bad videos in the errors table, resume, clear errors."""

import json

import pandas as pd

from koala.cli import main
from koala.io.tables import CAPTIONS, ERRORS, read_table


def _clips(tmp_path, rows):
    df = pd.DataFrame([dict(clip_id=c, video_id=c.split("_")[0], clip_index=0, start_frame=s, end_frame=e, start_sec=0.0,
                            end_sec=1.0, fps=25.0, method="test", video=str(v)) for c, v, s, e in rows])
    path = tmp_path / "clips.parquet"
    df.to_parquet(path)
    return path


def test_cli_captions_clips_and_records_bad_videos(synthetic_clip, tmp_path, monkeypatch, capsys, caplog):
    monkeypatch.chdir(tmp_path)  # the per-clip cache goes under ./data/cache
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00" * 1000)
    pan = synthetic_clip("pan_right", move="pan_right")
    clips = _clips(tmp_path, [("pan_0", pan, 0, 25), ("pan_1", pan, 25, 50), ("broken_0", bad, 0, 10)])
    out = tmp_path / "captions.parquet"
    assert main(["caption", str(clips), "--out", str(out), "--metrics", str(tmp_path / "m.json")]) == 0
    table = read_table(out, CAPTIONS)
    assert table["clip_id"].tolist() == ["pan_0", "pan_1"]
    assert all("pans right" in c for c in table["camera_language"]) and set(table["backend"]) == {"measured"}
    assert all(c.endswith(cam) for c, cam in zip(table["caption"], table["camera_language"]))  # camera last
    errors = read_table(tmp_path / "captions.errors.parquet", ERRORS)
    assert errors["key"].tolist() == ["broken_0"] and "broken.mp4" in capsys.readouterr().err
    summary = json.loads((tmp_path / "m.json").read_text())
    assert summary["clips"] == 2 and summary["errors"] == 1 and summary["paper_mean_words"] == 202.1
    # a second run redoes nothing (the failed item is remembered too)
    caplog.clear()
    caplog.set_level("INFO", logger="koala")
    assert main(["caption", str(clips), "--out", str(out)]) == 0
    assert any("2 of 2 items already done" in r.getMessage() for r in caplog.records)  # one item per video


def test_cli_missing_table_and_missing_vlm_exit_2(tmp_path, synthetic_clip, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["caption", str(tmp_path / "none.parquet"), "--out", str(tmp_path / "o.parquet")]) == 2
    assert "none.parquet" in capsys.readouterr().err
    clips = _clips(tmp_path, [("s_0", synthetic_clip("static", move="static"), 0, 20)])
    assert main(["caption", str(clips), "--out", str(tmp_path / "o.parquet"), "--backend", "vlm"]) == 2
    assert "caption.vlm.model" in capsys.readouterr().err
