"""Odd and broken inputs through `koala split` and `koala score`, one file per call.

An unreadable file exits 2 with one stderr line naming it (no table is written). A readable one,
however odd (a 1x1 picture, an odd size, a 64:1 frame, rotation metadata, a variable frame rate,
one frame, 10-bit or grey pixels, a file cut off mid-stream), gives a clips table and a metrics
table; a file cut off mid-stream also gives a warning row saying how much is missing.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest
import yaml

from koala.cli import main
from koala.io.video import probe


def moving(i: int, w: int, h: int) -> np.ndarray:
    """Frame ``i`` of a diagonal pattern drifting a few pixels per frame (something to measure)."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([(x * 5 + i * 7) % 256, (y * 5 + i * 3) % 256, np.full_like(x, 90)], -1).astype(np.uint8)


def write(path: Path, *, n: int = 30, w: int = 64, h: int = 48, codec: str = "libx264", pix_fmt: str = "yuv420p",
          options: dict | None = None, rotation: int = 0, pts_ms: list[int] | None = None, still: bool = False) -> Path:
    with av.open(str(path), "w", options=options or {}) as c:
        s = c.add_stream(codec, rate=25)
        s.width, s.height, s.pix_fmt = w, h, pix_fmt
        if rotation:
            s.set_display_rotation(rotation)
        if pts_ms is not None:
            s.time_base = Fraction(1, 1000)
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(moving(0 if still else i, w, h), format="rgb24")
            if pts_ms is not None:
                frame.pts, frame.time_base = pts_ms[i], Fraction(1, 1000)
            c.mux(s.encode(frame))
        c.mux(s.encode(None))
    return path


def noise(path: Path, *, n: int = 60, faststart: bool = False) -> Path:
    """Random pictures: every frame is a large packet, so a cut falls between many of them."""
    rng = np.random.default_rng(0)
    with av.open(str(path), "w", options={"movflags": "faststart"} if faststart else {}) as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for _ in range(n):
            c.mux(s.encode(av.VideoFrame.from_ndarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8), format="rgb24")))
        c.mux(s.encode(None))
    return path


def text(path: Path, body: str) -> Path:
    path.write_text(body)
    return path


def cut(src: Path, dst: Path, share: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * share)])
    return dst


def audio_only(path: Path) -> Path:
    with av.open(str(path), "w") as c:
        s = c.add_stream("aac", rate=16000)
        for i in range(8):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, i * 1024
            c.mux(s.encode(frame))
        c.mux(s.encode(None))
    return path


def zero_frames(path: Path) -> Path:
    with av.open(str(path), "w") as c:
        s = c.add_stream("ffv1", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        c.start_encoding()
    return path


UNREADABLE = {  # name: (builder, words of the reason)
    "empty file": (lambda d: text(d / "empty.mp4", ""), "empty file"),
    "text renamed .mp4": (lambda d: text(d / "notes.mp4", "not a video\n" * 50), "not a"),
    "cut before its index": (lambda d: cut(noise(d / "src.mp4"), d / "half.mp4", 0.5), "index"),
    "header only": (lambda d: cut(noise(d / "src.mp4", faststart=True), d / "head.mp4", 0.002), "truncated"),
    "zero frames": (lambda d: zero_frames(d / "none.mkv"), "empty"),
    "audio only": (lambda d: audio_only(d / "sound.m4a"), "audio only"),
}

READABLE = {  # name: (builder, frames expected in the clips)
    # One pixel whose colour jumps every frame is a transition at every frame to any detector: a still one.
    "1x1 picture": (lambda d: write(d / "dot.mkv", w=1, h=1, codec="ffv1", pix_fmt="yuv444p", still=True), 30),
    "odd size 33x17": (lambda d: write(d / "odd.mkv", w=33, h=17, codec="ffv1", pix_fmt="yuv444p"), 30),
    "64:1 aspect": (lambda d: write(d / "wide.mp4", w=1024, h=16), 30),
    "rotation metadata": (lambda d: write(d / "rot.mp4", rotation=90), 30),
    "variable frame rate": (lambda d: write(d / "vfr.mkv", codec="ffv1", pts_ms=[0, *np.cumsum([20, 80] * 15)[:29].tolist()]), 30),
    "one frame": (lambda d: write(d / "one.mp4", n=1), 1),
    "10-bit": (lambda d: write(d / "ten.mp4", pix_fmt="yuv420p10le"), 30),
    "grey 10-bit": (lambda d: write(d / "grey.mkv", codec="ffv1", pix_fmt="gray10le"), 30),
    "cut off mid-stream": (lambda d: cut(noise(d / "src.mp4", faststart=True), d / "partial.mp4", 0.6), None),
}


@pytest.fixture
def params(tmp_path) -> Path:
    """In-process engine with its cache under tmp_path (the split keeps every shot, however short: a 1-frame video is a clip)."""
    p = tmp_path / "params.yaml"
    p.write_text(yaml.safe_dump({"engine": {"workers": 1, "cache_dir": str(tmp_path / "cache")}}))
    return p


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("name", list(UNREADABLE))
def test_an_unreadable_file_exits_2_with_one_line_naming_it(name, tmp_path, params, capsys):
    build, words = UNREADABLE[name]
    folder = tmp_path / "in"
    folder.mkdir()
    path = build(folder)
    out = tmp_path / "clips.parquet"
    assert main(["split", str(path), "--out", str(out), "--params", str(params)]) == 2
    err = lines(capsys.readouterr().err)
    assert len(err) == 1 and str(path) in err[0] and words in err[0], err
    assert not out.exists()


@pytest.mark.parametrize("name", list(READABLE))
def test_a_readable_odd_file_gives_clips_and_metrics(name, tmp_path, params, capsys):
    build, frames = READABLE[name]
    folder = tmp_path / "in"
    folder.mkdir()
    path = build(folder)
    clips_path, metrics_path = tmp_path / "clips.parquet", tmp_path / "metrics.parquet"
    assert main(["split", str(path), "--out", str(clips_path), "--params", str(params)]) == 0, capsys.readouterr().err
    clips = pd.read_parquet(clips_path)
    assert len(clips) >= 1 and (clips["end_frame"] > clips["start_frame"]).all()
    covered = int((clips["end_frame"] - clips["start_frame"]).sum())
    assert main(["score", str(clips_path), "--out", str(metrics_path), "--params", str(params)]) == 0, capsys.readouterr().err
    metrics = pd.read_parquet(metrics_path)
    assert sorted(metrics["clip_id"]) == sorted(clips["clip_id"])
    assert (metrics["frames_scored"] >= 1).all()
    assert metrics[["brightness", "clarity_score"]].notna().all().all()
    err = capsys.readouterr().err
    if frames is not None:  # whole files: every frame in a clip, no warning
        assert covered == frames and "warning: " not in err
        assert not (tmp_path / "clips.errors.parquet").exists()
        return
    # Cut off mid-stream: the frames before the cut, and a warning row naming the file and what is missing.
    present = probe(path).num_frames
    assert 0 < covered <= present < 60
    assert clips["end_frame"].max() <= present
    for table in ("clips.errors.parquet", "metrics.errors.parquet"):
        warned = pd.read_parquet(tmp_path / table)
        assert warned[["path", "error_type", "severity"]].values.tolist() == [[str(path), "PartialVideo", "warning"]]
        message = warned["message"].iloc[0]
        assert message.startswith(f"{path}: cut off mid-stream") and f"{60 - present} of its 60 frames" in message
    assert err.count("warning: ") == 2 and str(path) in err
