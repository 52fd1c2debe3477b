"""`koala materialize`: released Koala-36M shards and Panda-70M CSVs turned back into clip files.

Both releases are metadata only. Two layouts, told apart by their header:

- **Koala-36M** (docs/koala36m-paper.md §5): one row per clip, ``videoID`` = ``<YouTube ID>_<clip index>`` (IDs
  themselves hold ``_`` and ``-``), ``url`` = ``https://www.youtube.com/watch?v=<ID>``,
  ``timestamp`` = ``['H:MM:SS.fff', 'H:MM:SS.fff']``, caption, scores. Our own ``koala.csv`` has the
  same columns (its ``url`` may be a ``file://`` URI).
- **Panda-70M**: one row per source video, ``videoID`` the bare YouTube ID; ``timestamp``,
  ``caption`` and ``matching_score`` are lists (``[['0:00:19.227', '0:00:28.278'], ...]``), newer
  files add ``desirable_filtering`` and ``shot_boundary_detection``. A ``matching_score`` column (or
  a list of lists in ``timestamp``) marks this layout; clip ``k`` of a row becomes ``<ID>_<k>``.

A clip's source is found in ``--videos`` (searched recursively; :func:`index_videos` keys each file
by its stem and by the YouTube ID in its name, e.g. yt-dlp's ``Title [ID].mp4``) by, in order: the
YouTube ID in ``url``; the ``file://`` path in ``url`` when that file exists; ``videoID.rsplit('_',
1)[0]`` (Koala rows; Panda's videoID is the ID itself); the whole ``videoID``.

Cuts are frame-exact: the published times are mapped to frames through the source's own packet
timestamps (:func:`frame_range`, nearest frame to each time, so variable-rate sources and sources
that do not start at pts 0 cut right too), then :func:`koala.curate.export.cut` copies whole GOPs
or re-encodes. Clips go to ``OUT/clips/<source id>/<videoID>.mp4``.

Memory stays flat in the CSV's size: it is read ``chunk_rows`` rows at a time (pandas
``chunksize``, only the columns needed), the source lookup is vectorised per chunk, and every
result row is appended to ``OUT/materialized.csv`` as it is made; only the index of local video
files (two entries per file at most) is held whole. Rows whose source is not there go to
``OUT/missing_clips.csv``, their source IDs to ``OUT/missing_videos.csv`` (one line per run of
consecutive rows of one source: both releases list a video's clips together). A clip file
already there is not cut again, so a killed run started again picks up where it stopped.
"""

from __future__ import annotations

import ast
import csv
from collections import namedtuple
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from koala.curate.export import cached_index, cut
from koala.curate.inputs import VIDEO_SUFFIXES
from koala.filter.release import RELEASE_COLUMNS, parse_timestamp
from koala.filter.sources import local_path_from_url, youtube_id_from_name, youtube_id_from_url
from koala.io.errors import VideoError

log = logging.getLogger(__name__)

KOALA, PANDA = "koala", "panda"
PANDA_MARKERS = ("matching_score", "desirable_filtering", "shot_boundary_detection")
RESULT_COLUMNS = ("videoID", "url", "timestamp", "source", "start_frame", "end_frame", "clip_path", "mode", "status", "message")
ROW_COLUMNS = ("videoID", "url", "timestamp", "start_sec", "end_sec", "caption", "source_keys", "source_id")


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
    """Key -> path of every video file below ``folder``: its stem, and the YouTube ID its name carries.

    A stem wins over an ID found in another file's name; among equals the first in sorted order wins.

    Raises:
        FileNotFoundError: ``folder`` is not a folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder of source videos")
    stems: dict[str, str] = {}
    ids: dict[str, str] = {}
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            p = Path(root) / name
            if p.suffix.lower() in VIDEO_SUFFIXES:
                stems.setdefault(p.stem, str(p))
                vid = youtube_id_from_name(name)
                if vid:
                    ids.setdefault(vid, str(p))
    return {**ids, **stems}


def layout(header: list[str], first_timestamp: str | None = None) -> str:
    """``"panda"`` or ``"koala"`` from a CSV's header (and, failing that, the nesting of its first timestamp).

    Raises:
        ValueError: the header lacks ``videoID`` or ``timestamp``.
    """
    if not {"videoID", "timestamp"} <= set(header):
        raise ValueError(f"not a Koala-36M or Panda-70M CSV (columns {header}; expected {list(RELEASE_COLUMNS)} "
                         "or videoID,url,timestamp,caption,matching_score)")
    if any(c in header for c in PANDA_MARKERS):
        return PANDA
    if first_timestamp and first_timestamp.lstrip().startswith("[["):
        return PANDA
    return KOALA


def csv_layout(path: str | Path) -> str:
    """The layout of one CSV file (see :func:`layout`).

    Raises:
        FileNotFoundError: no such file.
        ValueError: naming the file, when it is neither layout.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such CSV file")
    try:
        head = pd.read_csv(path, nrows=1, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable CSV ({exc})") from None
    try:
        return layout(list(head.columns), head["timestamp"].iloc[0] if "timestamp" in head.columns and len(head) else None)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def source_keys(video_id: str, url: str, kind: str, vid: str | None = None) -> str:
    """The keys a row's source is looked up by, in order, joined by '\\n' (see the module docstring).

    ``vid``: the YouTube ID of ``url`` when the caller has it already.
    """
    keys = []
    vid = vid or youtube_id_from_url(url)
    if vid:
        keys.append(vid)
    local = local_path_from_url(url)
    if local is not None:
        keys.append(str(local))
    if kind == KOALA and "_" in video_id:
        keys.append(video_id.rsplit("_", 1)[0])
    keys.append(video_id)
    return "\n".join(dict.fromkeys(k for k in keys if k))


def _panda_rows(chunk: pd.DataFrame, with_caption: bool) -> pd.DataFrame:
    """Panda-70M rows (one per video, lists of spans and captions) as one row per clip."""
    out = []
    for vid, url, ts, cap in zip(chunk["videoID"].tolist(), chunk["url"].tolist(), chunk["timestamp"].tolist(),
                                 chunk["caption"].tolist() if with_caption else [None] * len(chunk)):
        try:
            spans = ast.literal_eval(ts)
            caps = ast.literal_eval(cap) if with_caption and cap else []
        except (ValueError, SyntaxError):
            spans, caps = None, []
        if not isinstance(spans, (list, tuple)):
            out.append((vid, url, ts, np.nan, np.nan, "", vid))  # a bad row stays a row: it fails with its reason
            continue
        for k, span in enumerate(spans):
            text = str(list(span)) if isinstance(span, (list, tuple)) else str(span)
            out.append((f"{vid}_{k}", url, text, np.nan, np.nan, str(caps[k]) if k < len(caps) else "", vid))
    return pd.DataFrame(out, columns=["videoID", "url", "timestamp", "start_sec", "end_sec", "caption", "source_id"])


_SPAN = r"^\[\s*'(\d+):([0-5]\d):([0-5]\d\.\d{3})'\s*,\s*'(\d+):([0-5]\d):([0-5]\d\.\d{3})'\s*\]$"


def _times(ts: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Start and end seconds of each timestamp text (NaN where it does not parse).

    The release's own form is parsed by one vectorised regular expression; anything else goes
    through :func:`koala.filter.release.parse_timestamp` one by one.
    """
    parts = ts.astype(str).str.extract(_SPAN).astype(float).to_numpy()  # (n, 6): h, m, s of start and end
    start = parts[:, 0] * 3600 + parts[:, 1] * 60 + parts[:, 2]
    end = parts[:, 3] * 3600 + parts[:, 4] * 60 + parts[:, 5]
    for i in np.flatnonzero(~np.isfinite(start)):
        try:
            start[i], end[i] = parse_timestamp(ts.iloc[i])
        except ValueError:
            pass
    return start, end


def iter_clips(path: str | Path, *, chunk_rows: int = 100_000, with_caption: bool = False) -> Iterator[pd.DataFrame]:
    """The clips of one Koala or Panda CSV, ``chunk_rows`` CSV rows at a time (memory flat in the file's size).

    Yields:
        DataFrames with :data:`ROW_COLUMNS`: the clip's videoID, url, timestamp text, start/end
        seconds (NaN when the text does not parse), caption ('' unless ``with_caption``), the
        lookup keys of its source ('\\n'-joined) and its source id.

    Raises:
        FileNotFoundError, ValueError: see :func:`csv_layout`.
    """
    path = Path(path)
    kind = csv_layout(path)
    header = list(pd.read_csv(path, nrows=0).columns)
    cols = [c for c in ("videoID", "url", "timestamp", "caption") if c in header and (c != "caption" or with_caption)]
    for chunk in pd.read_csv(path, chunksize=max(1, int(chunk_rows)), usecols=cols, dtype=str, keep_default_na=False):
        if "url" not in chunk.columns:
            chunk["url"] = ""
        caption = with_caption and "caption" in chunk.columns
        if kind == PANDA:
            rows = _panda_rows(chunk, caption)
        else:
            rows = pd.DataFrame({"videoID": chunk["videoID"], "url": chunk["url"], "timestamp": chunk["timestamp"],
                                 "caption": chunk["caption"] if caption else "",
                                 "source_id": [v.rsplit("_", 1)[0] if "_" in v else v for v in chunk["videoID"].tolist()]})
        rows["start_sec"], rows["end_sec"] = _times(rows["timestamp"])
        ids, urls = rows["videoID"].tolist(), rows["url"].tolist()  # plain lists: iterating Arrow-backed columns is slow
        ytid = [youtube_id_from_url(u) for u in urls]
        rows["source_keys"] = [source_keys(v, u, kind, y) for v, u, y in zip(ids, urls, ytid)]
        rows["source_id"] = [y or s for y, s in zip(ytid, rows["source_id"].tolist())]
        yield rows[list(ROW_COLUMNS)].reset_index(drop=True)


Row = namedtuple("Row", ROW_COLUMNS)


def records(rows: pd.DataFrame) -> Iterator[Row]:
    """The rows of an :func:`iter_clips` chunk as named tuples (plain Python values; fast to iterate)."""
    return map(Row._make, zip(*(rows[c].tolist() for c in ROW_COLUMNS)))


def find_source(keys: str, videos: dict[str, str]) -> str | None:
    """The first local file a row's lookup keys name (a key may be a ``file://`` path that exists)."""
    for key in keys.split("\n"):
        hit = videos.get(key)
        if hit:
            return hit
        if key.startswith("/") and os.path.isfile(key):
            return key
    return None


def frame_range(start_sec: float, end_sec: float, src: str) -> tuple[int, int]:
    """Frames [start, end) of ``src`` a published span covers: the frame nearest each time, by packet timestamps.

    Raises:
        VideoError: the source cannot be read.
    """
    index = cached_index(src)
    times = index.seconds()
    if len(times) < 2:
        n = len(index.pts)
        return (0, n) if end_sec > start_sec else (0, 0)
    return boundary(times, start_sec), boundary(times, end_sec)


def boundary(times: np.ndarray, t: float) -> int:
    """The frame boundary nearest ``t`` seconds: k means "before frame k" (len(times): the end of the stream).

    ``times`` (n,) are the frames' display times; the stream ends one frame interval after the last.
    A time halfway between two boundaries (within 1 us) goes to the earlier one.
    """
    ends = np.append(times, times[-1] + (times[-1] - times[-2]))  # (n + 1,) boundaries
    mids = (ends[:-1] + ends[1:]) / 2  # (n,)
    return int(np.searchsorted(mids, t - 1e-6, side="left"))


def clip_path(source_id: str, video_id: str) -> str:
    safe = lambda s: s.replace("/", "_").replace("\\", "_") or "_"  # noqa: E731
    return f"{safe(source_id)}/{safe(video_id)}.mp4"


def materialize(csv_paths: list[str | Path], *, videos_dir: str | Path, out_dir: str | Path, chunk_rows: int = 100_000,
                crf: int = 18) -> MaterializeResult:
    """Cut every clip of the CSVs out of the local source videos (see the module docstring).

    Args:
        csv_paths: Koala-36M shards (or our koala.csv) and Panda-70M CSVs, in any mix.
        videos_dir: folder of source videos named by YouTube ID (or stem).
        out_dir: where clips and the result tables go.
        chunk_rows: CSV rows read at a time.
        crf: x264 quality of re-encoded cuts.

    Returns:
        Counts per outcome (:class:`MaterializeResult`).

    Raises:
        FileNotFoundError: a CSV or the videos folder is missing.
        ValueError: a CSV is neither layout.
    """
    out_dir = Path(out_dir)
    for p in csv_paths:
        csv_layout(p)  # every file checked before any work
    videos = index_videos(videos_dir)
    (out_dir / "clips").mkdir(parents=True, exist_ok=True)
    log.info("materialize: %d local videos indexed under %s", len(videos), videos_dir)
    res = MaterializeResult(modes={}, out_dir=out_dir)
    last_missing = None
    names = ("materialized.csv", "missing_clips.csv", "missing_videos.csv")
    tmp_paths = {name: out_dir / f".{name}.partial" for name in names}
    with open(tmp_paths["materialized.csv"], "w", newline="") as f_out, \
            open(tmp_paths["missing_clips.csv"], "w", newline="") as f_mc, \
            open(tmp_paths["missing_videos.csv"], "w", newline="") as f_mv:
        w_out, w_mc, w_mv = csv.writer(f_out), csv.writer(f_mc), csv.writer(f_mv)
        w_out.writerow(RESULT_COLUMNS)
        w_mc.writerow(["videoID", "url", "timestamp", "source_id", "csv"])
        w_mv.writerow(["source_id", "url", "csv"])
        bar = tqdm(desc="materialize", unit="clip")
        for shard in csv_paths:
            for rows in iter_clips(shard, chunk_rows=chunk_rows):
                res.rows += len(rows)
                bar.update(len(rows))
                found = [find_source(k, videos) for k in rows["source_keys"].tolist()]
                for r, src in zip(records(rows), found):
                    if src is None:
                        res.missing_clips += 1
                        w_mc.writerow([r.videoID, r.url, r.timestamp, r.source_id, str(shard)])
                        if r.source_id != last_missing:
                            res.missing_videos += 1
                            w_mv.writerow([r.source_id, r.url, str(shard)])
                            last_missing = r.source_id
                        continue
                    w_out.writerow(_one(r, src, out_dir, crf, res))
        bar.close()
    for name, tmp in tmp_paths.items():
        os.replace(tmp, out_dir / name)
    log.info("materialize: %s", res.describe())
    return res


def _one(r, src: str, out_dir: Path, crf: int, res: MaterializeResult) -> list:
    """Cut one clip; returns its materialized.csv row (a failure is a row, not an exception)."""
    rel = clip_path(r.source_id, r.videoID)
    dst = out_dir / "clips" / rel
    head = [r.videoID, r.url, r.timestamp, src]
    try:
        if not (np.isfinite(r.start_sec) and np.isfinite(r.end_sec)):
            raise ValueError(f"not a timestamp pair: {r.timestamp!r}")
        start, end = frame_range(float(r.start_sec), float(r.end_sec), src)
        if dst.is_file():
            res.reused += 1
            return head + [start, end, f"clips/{rel}", "", "exists", ""]
        if end <= start:
            raise ValueError(f"the span {r.timestamp} holds no frames of {src} ({len(cached_index(src).pts)} frames)")
        dst.parent.mkdir(parents=True, exist_ok=True)
        mode = cut(src, dst, start, end, crf=crf)
    except (VideoError, ValueError) as exc:
        res.failed += 1
        log.warning("materialize: %s %s: %s", r.videoID, r.timestamp, exc)
        return head + ["", "", "", "", "failed", str(exc)]
    res.written += 1
    res.modes[mode] = res.modes.get(mode, 0) + 1
    return head + [start, end, f"clips/{rel}", mode, "cut", ""]
