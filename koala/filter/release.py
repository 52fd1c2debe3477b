"""The Koala-36M release format: ``koala.csv`` with the released columns, in the released order.

The Hugging Face release (Koala-36M/Koala-36M-v1, docs/koala36m-paper.md §5) is CSV metadata, one row per kept
clip: ``videoID``, ``url``, ``timestamp`` (a two-element list of H:MM:SS.fff strings, start and
end of the clip in its source video), ``caption``, ``clarity_score``, ``aesthetic_score``,
``motion_score``, ``video_training_suitability_score``. As in the release:

- ``videoID`` is ``<source id>_<clip index>`` (the clip's index in the split stage's clips table,
  counted from 0 per video), so every clip of a video has its own ID and ``rsplit('_', 1)[0]``
  gives the source back;
- ``url`` is the source's URL when it is known (a sources table, a yt-dlp sidecar, or a YouTube ID
  in the file name: :mod:`koala.filter.sources`; the source id is then the YouTube ID), else the
  source file's ``file://`` URI (or ``filter.url_prefix`` + its file name, e.g. a web mirror); the
  timestamps are into that source;
- ``timestamp`` is a Python list literal of two single-quoted clock times, the hour not
  zero-padded, three millisecond digits: ``['0:22:35.839', '0:23:01.680']``;
- scores are float64 written at full precision (Python's shortest round-trip repr,
  ``4.7208000000000006``); captions are CSV-quoted (``""`` inside quotes), newlines kept.

A score that could not be computed (e.g. aesthetic without the LAION weights) is an empty cell,
never a stand-in number.

Pure functions over DataFrames; writing is one call at the edge (:func:`write_release_csv`).
"""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path

import pandas as pd

from koala.io.atomic import atomic_path

# The release's columns, in its order (docs/koala36m-paper.md §5).
RELEASE_COLUMNS = (
    "videoID",
    "url",
    "timestamp",
    "caption",
    "clarity_score",
    "aesthetic_score",
    "motion_score",
    "video_training_suitability_score",
)
SCORE_COLUMNS = ("clarity_score", "aesthetic_score", "motion_score")

_CLOCK = re.compile(r"^(\d+):([0-5]\d):([0-5]\d)\.(\d{3})$")


def format_clock(seconds: float) -> str:
    """Seconds as H:MM:SS.fff, rounded to the millisecond (3723.5 -> "1:02:03.500").

    Raises:
        ValueError: a negative or non-finite time.
    """
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"a clip time must be a finite number of seconds >= 0, not {seconds!r}")
    ms = int(round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h}:{m:02d}:{s:02d}.{ms:03d}"


def parse_clock(text: str) -> float:
    """H:MM:SS.fff back to seconds (the inverse of :func:`format_clock`).

    Raises:
        ValueError: the text is not in that format.
    """
    m = _CLOCK.match(text.strip())
    if not m:
        raise ValueError(f"not an H:MM:SS.fff time: {text!r}")
    h, mm, ss, ms = (int(g) for g in m.groups())
    return h * 3600 + mm * 60 + ss + ms / 1000


def format_timestamp(start_sec: float, end_sec: float) -> str:
    """A clip's span as the release writes it: "['0:00:01.000', '0:00:05.500']" (a list literal of two strings).

    Raises:
        ValueError: a bad time, or an end before the start.
    """
    if end_sec < start_sec:
        raise ValueError(f"clip ends ({end_sec}) before it starts ({start_sec})")
    return str([format_clock(start_sec), format_clock(end_sec)])


def parse_timestamp(text: str) -> tuple[float, float]:
    """A release timestamp back to (start, end) seconds.

    Raises:
        ValueError: not a two-element list of H:MM:SS.fff strings.
    """
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError) as exc:
        raise ValueError(f"not a timestamp list: {text!r}") from exc
    if not (isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise ValueError(f"a timestamp is a list of two H:MM:SS.fff strings, not {text!r}")
    return parse_clock(value[0]), parse_clock(value[1])


def video_url(path: str, url_prefix: str = "") -> str:
    """Where a clip's source video is: its ``file://`` URI, or ``url_prefix`` + its file name."""
    if url_prefix:
        return url_prefix + Path(path).name
    return Path(path).resolve().as_uri()


def clip_video_ids(kept: pd.DataFrame, *, url_prefix: str = "", sources_table: str | Path = "") -> tuple[list[str], list[str]]:
    """(videoID, url) per clip: ``<source id>_<clip index>`` and the source's URL (see the module docstring).

    Raises:
        FileNotFoundError, ValueError: ``sources_table`` is named but missing or malformed.
    """
    from koala.filter.sources import source_of
    from koala.filter.sources import sources_table as read_sources

    table = read_sources(sources_table) if sources_table else None
    refs: dict[tuple[str, str], tuple[str, str]] = {}
    ids, urls = [], []
    for vid, path, k in zip(kept["video_id"].astype(str), kept["video"].astype(str), kept["clip_index"]):
        if (vid, path) not in refs:
            src = source_of(path, fallback_id=vid, table=table)
            refs[(vid, path)] = (src.source_id, src.url or video_url(path, url_prefix))
        sid, url = refs[(vid, path)]
        ids.append(f"{sid}_{int(k)}")
        urls.append(url)
    return ids, urls


def release_table(kept: pd.DataFrame, *, url_prefix: str = "", sources_table: str | Path = "") -> pd.DataFrame:
    """The release's CSV rows for ``kept`` clips (the joined filter table: video_id, video, clip_index, start_sec, end_sec, caption, scores, vtss).

    Raises:
        ValueError: a column the release needs is missing.
    """
    need = ["video_id", "video", "clip_index", "start_sec", "end_sec", "caption", "vtss", *SCORE_COLUMNS]
    missing = [c for c in need if c not in kept.columns]
    if missing:
        raise ValueError(f"cannot write the release CSV: the filter table lacks {missing}")
    ids, urls = clip_video_ids(kept, url_prefix=url_prefix, sources_table=sources_table)
    out = pd.DataFrame({
        "videoID": pd.Series(ids, dtype=object).to_numpy(),
        "url": pd.Series(urls, dtype=object).to_numpy(),
        "timestamp": [format_timestamp(float(s), float(e)) for s, e in zip(kept["start_sec"], kept["end_sec"])],
        "caption": kept["caption"].fillna("").astype(str).to_numpy(),
        **{c: kept[c].astype("float64").to_numpy() for c in SCORE_COLUMNS},
        "video_training_suitability_score": kept["vtss"].astype("float64").to_numpy(),
    })
    return out[list(RELEASE_COLUMNS)]


def write_release_csv(table: pd.DataFrame, path: str | Path) -> Path:
    """Write the release CSV atomically (pandas quoting: captions may hold commas, quotes, newlines)."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, columns=list(RELEASE_COLUMNS), lineterminator="\n")
    return Path(path)


def read_release_csv(path: str | Path) -> pd.DataFrame:
    """Read a koala.csv (ours or the release's), checking its columns.

    Raises:
        ValueError: naming the file, when the columns are not the release's.
    """
    text = {c: str for c in ("videoID", "url", "timestamp", "caption")}  # an all-digit YouTube ID stays text
    table = pd.read_csv(path, keep_default_na=True, dtype=text)
    if tuple(table.columns) != RELEASE_COLUMNS:
        raise ValueError(f"{path}: columns {list(table.columns)} are not the release's {list(RELEASE_COLUMNS)}")
    return table
