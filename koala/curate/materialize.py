"""`koala materialize`: the released Koala-36M CSV shards turned back into clip files.

The release is metadata only (digest §5: ten CSV shards of about 4.9 GB, one row per clip:
``videoID``, ``url``, ``timestamp`` as "['H:MM:SS.fff', 'H:MM:SS.fff']", caption, scores). Given
a folder of source videos stored by YouTube ID (``ID.mp4``, ``ID.mkv``, ... anywhere below it),
this cuts each clip at its published timestamps with :func:`koala.curate.export.cut` (stream copy
on keyframes, else re-encoded) into ``OUT/clips/ID/ID_<start ms>_<end ms>.mp4``.

Memory stays flat in the shards' size: they are read ``chunk_rows`` rows at a time (pandas
``chunksize``), and every result row is appended to ``OUT/materialized.csv`` as it is made;
only the index of local video files (one entry per file) is held whole. Rows whose video is not
there go to ``OUT/missing_clips.csv`` and their IDs to ``OUT/missing_videos.csv`` (one line per
run of consecutive rows of the same video: the release lists a video's clips together). A clip
file already there is not cut again, so a killed run started again picks up where it stopped.
"""

from __future__ import annotations

import csv
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from koala.curate.export import cut
from koala.curate.inputs import VIDEO_SUFFIXES
from koala.filter.release import RELEASE_COLUMNS, parse_timestamp
from koala.io.errors import VideoError
from koala.io.video import probe

log = logging.getLogger(__name__)

RESULT_COLUMNS = ("videoID", "timestamp", "clip_path", "mode", "status", "message")


@dataclass
class MaterializeResult:
    rows: int = 0
    written: int = 0
    reused: int = 0
    missing_clips: int = 0
    missing_videos: int = 0
    failed: int = 0
    modes: dict | None = None
    out_dir: Path | None = None

    def describe(self) -> str:
        modes = ", ".join(f"{k} {v}" for k, v in sorted((self.modes or {}).items()))
        return (f"{self.rows} clips read: {self.written} cut ({modes or 'none'}), {self.reused} already there, "
                f"{self.missing_clips} with no local video ({self.missing_videos} videos missing, listed in "
                f"{self.out_dir / 'missing_videos.csv'}), {self.failed} failed; table: {self.out_dir / 'materialized.csv'}")


def index_videos(folder: str | Path) -> dict[str, str]:
    """File stem -> path of every video file below ``folder`` (the first one, in sorted order, wins).

    Raises:
        FileNotFoundError: ``folder`` is not a folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder of source videos")
    found: dict[str, str] = {}
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            p = Path(root) / name
            if p.suffix.lower() in VIDEO_SUFFIXES:
                found.setdefault(p.stem, str(p))
    return found


@lru_cache(maxsize=256)
def _probe(path: str):
    return probe(path)


def frame_range(start_sec: float, end_sec: float, fps: float, num_frames: int) -> tuple[int, int]:
    """The frames [start, end) a published span covers (times rounded to the nearest frame)."""
    start = max(0, int(round(start_sec * fps)))
    end = min(num_frames, int(round(end_sec * fps)))
    return start, end


def clip_name(video_id: str, start_sec: float, end_sec: float) -> str:
    return f"{video_id}/{video_id}_{int(round(start_sec * 1000))}_{int(round(end_sec * 1000))}.mp4"


def _check_columns(path: Path, header: list[str]) -> None:
    need = {"videoID", "timestamp"}
    if not need <= set(header):
        raise ValueError(f"{path}: not a Koala release CSV (columns {header}; expected {list(RELEASE_COLUMNS)})")


def materialize(csv_paths: list[str | Path], *, videos_dir: str | Path, out_dir: str | Path, chunk_rows: int = 100_000,
                crf: int = 18) -> MaterializeResult:
    """Cut every clip of the release CSV shards out of the local source videos (see the module docstring).

    Args:
        csv_paths: release-format CSV shards.
        videos_dir: folder of source videos named by YouTube ID.
        out_dir: where clips and the result tables go.
        chunk_rows: rows read at a time.
        crf: x264 quality of re-encoded cuts.

    Returns:
        Counts per outcome (:class:`MaterializeResult`).

    Raises:
        FileNotFoundError: a shard or the videos folder is missing.
        ValueError: a shard lacks the release's columns.
    """
    out_dir = Path(out_dir)
    (out_dir / "clips").mkdir(parents=True, exist_ok=True)
    for p in csv_paths:
        if not Path(p).is_file():
            raise FileNotFoundError(f"{p}: no such CSV shard")
        _check_columns(Path(p), list(pd.read_csv(p, nrows=0).columns))
    videos = index_videos(videos_dir)
    log.info("materialize: %d local videos indexed under %s", len(videos), videos_dir)
    res = MaterializeResult(modes={}, out_dir=out_dir)
    last_missing = None
    tmp_paths = {name: out_dir / f".{name}.partial" for name in ("materialized.csv", "missing_clips.csv", "missing_videos.csv")}
    with open(tmp_paths["materialized.csv"], "w", newline="") as f_out, \
            open(tmp_paths["missing_clips.csv"], "w", newline="") as f_mc, \
            open(tmp_paths["missing_videos.csv"], "w", newline="") as f_mv:
        w_out, w_mc, w_mv = csv.writer(f_out), csv.writer(f_mc), csv.writer(f_mv)
        w_out.writerow(RESULT_COLUMNS)
        w_mc.writerow(["videoID", "timestamp", "shard"])
        w_mv.writerow(["videoID", "shard"])
        bar = tqdm(desc="materialize", unit="clip")
        for shard in csv_paths:
            for chunk in pd.read_csv(shard, chunksize=max(1, chunk_rows), usecols=["videoID", "timestamp"], dtype=str,
                                     keep_default_na=False):
                for vid, ts in zip(chunk["videoID"], chunk["timestamp"]):
                    res.rows += 1
                    bar.update()
                    src = videos.get(vid)
                    if src is None:
                        res.missing_clips += 1
                        w_mc.writerow([vid, ts, str(shard)])
                        if vid != last_missing:
                            res.missing_videos += 1
                            w_mv.writerow([vid, str(shard)])
                            last_missing = vid
                        continue
                    w_out.writerow(_one(vid, ts, src, out_dir, crf, res))
        bar.close()
    for name, tmp in tmp_paths.items():
        os.replace(tmp, out_dir / name)
    log.info("materialize: %s", res.describe())
    return res


def _one(vid: str, ts: str, src: str, out_dir: Path, crf: int, res: MaterializeResult) -> list[str]:
    """Cut one row's clip; returns its materialized.csv row (a failure is a row, not an exception)."""
    try:
        start_sec, end_sec = parse_timestamp(ts)
        rel = clip_name(vid, start_sec, end_sec)
        dst = out_dir / "clips" / rel
        if dst.is_file():
            res.reused += 1
            return [vid, ts, f"clips/{rel}", "", "exists", ""]
        info = _probe(src)
        start, end = frame_range(start_sec, end_sec, info.fps, info.num_frames)
        if end <= start:
            raise ValueError(f"the span {ts} holds no frames of {src} ({info.num_frames} frames at {info.fps:.3f} fps)")
        dst.parent.mkdir(parents=True, exist_ok=True)
        mode = cut(src, dst, start, end, crf=crf)
    except (VideoError, ValueError) as exc:
        res.failed += 1
        log.warning("materialize: %s %s: %s", vid, ts, exc)
        return [vid, ts, "", "", "failed", str(exc)]
    res.written += 1
    res.modes[mode] = res.modes.get(mode, 0) + 1
    return [vid, ts, f"clips/{rel}", mode, "cut", ""]
