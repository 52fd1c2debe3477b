"""Detection speed per frame at several resolutions, beside the raw decode floor (Table 4).

One real clip is re-encoded at each resolution (H.264 through koala.io.writer, into a cache
folder, never the repository), then every method runs over each copy. The floor is PyAV's
threaded decode with no conversion: no detector that reads every frame can beat it. The
library's own ``scenedetect.detect(path, ContentDetector())`` (its OpenCV decoder and
downscale) is timed too, as the baseline people actually run.
"""

from __future__ import annotations

import time
from pathlib import Path

import av
import cv2
import pandas as pd

from koala.config import SplitConfig
from koala.io.video import probe, read_frames
from koala.io.writer import VideoWriter
from koala.split.registry import get_detector

# Table 4's columns as 16:9 frame sizes (the paper does not give the aspect; its "256" and
# "512" are taken as frame heights).
RESOLUTIONS = {"256": (456, 256), "512": (912, 512), "720p": (1280, 720), "1080p": (1920, 1080), "4K": (3840, 2160)}
PAPER_TABLE4 = pd.DataFrame(  # docs/koala36m-paper.md §3, Table 4: ms per frame, CPU (model not known)
    {"256": [1.42, 0.68, 2.50], "512": [2.45, 2.63, 8.82], "720p": [6.15, 10.73, 30.57], "1080p": [12.26, 26.16, 70.11], "4K": [41.98, 102.55, 267.18]},
    index=["css (paper: Ours)", "content (paper: PySceneDetect HSL)", "content_edges (paper: HSL + edge)"],
)


def scaled_copy(src: str | Path, label: str, out_dir: str | Path, *, frames: int) -> Path:
    """``src``'s first ``frames`` frames re-encoded at resolution ``label`` (cached by name)."""
    w, h = RESOLUTIONS[label]
    out = Path(out_dir) / f"{Path(src).stem}_{label}_{frames}.mp4"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    info = probe(src)
    with VideoWriter(out, fps=info.fps, width=w, height=h) as writer:
        for batch in read_frames(src, info=info, end=frames):
            for f in batch.frames:
                writer.write(cv2.resize(f, (w, h), interpolation=cv2.INTER_CUBIC))
    return out


def _timed(fn, n_frames: int) -> tuple[float, float]:
    """(wall, CPU) ms per frame of ``fn()``; CPU counts every thread of this process."""
    w, c = time.perf_counter(), time.process_time()
    fn()
    return (time.perf_counter() - w) * 1000 / max(n_frames, 1), (time.process_time() - c) * 1000 / max(n_frames, 1)


def raw_decode(path: str | Path) -> int:
    """PyAV threaded decode, no conversion (the floor); returns the frames decoded."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        return sum(1 for _ in c.decode(s))


def raw_decode_ms(path: str | Path) -> float:
    """PyAV threaded decode, no conversion: wall ms per frame (the floor)."""
    return _timed(lambda: raw_decode(path), probe(path).num_frames)[0]


def scenedetect_ms(path: str | Path) -> float:
    """``scenedetect.detect(path, ContentDetector())`` end to end: wall ms per frame."""
    return _timed(lambda: _scenedetect(path), probe(path).num_frames)[0]


def _scenedetect(path: str | Path) -> None:
    from scenedetect import ContentDetector, detect

    detect(str(path), ContentDetector(), show_progress=False)


def method_ms(method: str, path: str | Path, cfg: SplitConfig) -> float:
    """A registry detector, features and detection: wall ms per frame."""
    info = probe(path)
    det = get_detector(method, cfg)
    return _timed(lambda: det.run(path, info), info.num_frames)[0]


def speed_tables(src: str | Path, *, methods: tuple[str, ...], cfg: SplitConfig, labels: tuple[str, ...], frames: int,
                 cache_dir: str | Path, repeat: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(wall-clock, CPU) ms/frame of every method (rows) at every resolution (columns), with the floor.

    The timers take turns (floor, scenedetect, each method, then again ``repeat`` times), so a
    burst of load from other processes hits them alike, and each number is the best of its
    ``repeat`` runs (the least disturbed). CPU ms count every thread of this process: steadier
    than wall-clock on a shared machine, and what a batch of videos run in parallel pays.
    """
    rows: tuple[dict, dict] = ({}, {})
    for label in labels:
        path = scaled_copy(src, label, cache_dir, frames=frames)
        info = probe(path)
        timers = {"raw decode (floor)": lambda: raw_decode(path), "content (scenedetect.detect)": lambda: _scenedetect(path)}
        for m in methods:
            det = get_detector(m, cfg)
            timers[m] = lambda det=det: det.run(path, info)
        for _ in range(repeat):
            for name, fn in timers.items():
                for table, v in zip(rows, _timed(fn, info.num_frames)):
                    table.setdefault(name, {})[label] = min(table.get(name, {}).get(label, float("inf")), v)
    wall, cpu = (pd.DataFrame(r).T[list(labels)] for r in rows)
    return wall, cpu


def speed_table(src: str | Path, **kw) -> pd.DataFrame:
    """Wall-clock ms/frame (see :func:`speed_tables`)."""
    return speed_tables(src, **kw)[0]


def ratios(table: pd.DataFrame, *, baseline: str) -> pd.DataFrame:
    """Each row divided by the ``baseline`` row (below 1: faster than it)."""
    return table / table.loc[baseline]
