"""Where a clip's source video comes from: YouTube IDs in file names and URLs, a sources table, sidecars.

The Koala-36M release names a clip ``<YouTube ID>_<clip index>`` and points ``url`` at
``https://www.youtube.com/watch?v=<YouTube ID>`` (docs/koala36m-paper.md §5). Our sources are local files, so the
release writer (:mod:`koala.filter.release`) and ``koala materialize`` both need to tell, for a
file, which video it is. In order of precedence:

1. a **sources table** (CSV or Parquet, ``filter.sources_table``): one row per video with a ``path``
   (or ``video`` / ``file``: an absolute path, or a bare file name matched by name) and a ``url``,
   optionally a ``source_id``; a YouTube URL gives its ID as the source id;
2. a **yt-dlp sidecar** ``<stem>.info.json`` beside the video (``yt-dlp --write-info-json``): its
   ``id`` and ``webpage_url`` (its ``id`` counts only for the YouTube extractor);
3. the **file name**: yt-dlp's default ``Title [<ID>].ext``, or a stem that is itself a YouTube
   ID. A YouTube ID is 11 characters of ``A-Z a-z 0-9 _ -`` whose last one is one of the 16 that
   end a 64-bit ID (``AEIMQUYcgkosw048``); a stem must also hold a digit or a capital letter, so
   ordinary 11-letter names (``sample_clip``) are not taken for IDs.

A stem ``<ID>_<k>`` (a release clip saved under its videoID, like the Koala sample
``-KuN4XkUQBI_1.mp4``) is recognised by :func:`release_clip_id` but is *not* that YouTube video:
its timestamps are into the clip, so the clip keeps its own stem as source id and its file URI
(pairing the parent's watch URL with offsets into the clip would cut the wrong seconds).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import pandas as pd

YOUTUBE_ID = r"[A-Za-z0-9_-]{10}[AEIMQUYcgkosw048]"
_ID_ONLY = re.compile(rf"^{YOUTUBE_ID}$")
_BRACKETED = re.compile(rf"\[({YOUTUBE_ID})\]$")
_RELEASE_CLIP = re.compile(rf"^({YOUTUBE_ID})_(\d+)$")
_PATH_ID = re.compile(rf"^/(?:shorts|embed|live|v)/({YOUTUBE_ID})(?:[/?#]|$)")
WATCH_URL = "https://www.youtube.com/watch?v="


def is_youtube_id(text: str) -> bool:
    """True for an 11-character YouTube video ID with a digit or capital letter (see the module docstring)."""
    return bool(_ID_ONLY.match(text)) and any(c.isdigit() or c.isupper() for c in text)


def youtube_id_from_name(name: str) -> str | None:
    """The YouTube ID a file name carries: ``Title [ID].mp4`` or ``ID.mp4``; None otherwise."""
    stem = Path(name).stem
    m = _BRACKETED.search(stem)
    if m:
        return m.group(1)
    return stem if is_youtube_id(stem) else None


def release_clip_id(name: str) -> tuple[str, int] | None:
    """(YouTube ID, clip index) of a file named like a release clip, ``<ID>_<k>.mp4``; None otherwise."""
    m = _RELEASE_CLIP.match(Path(name).stem)
    if m and is_youtube_id(m.group(1)):
        return m.group(1), int(m.group(2))
    return None


def youtube_id_from_url(url: str) -> str | None:
    """The video ID of a YouTube URL (``watch?v=``, ``youtu.be/``, ``/shorts/``, ``/embed/``); None otherwise."""
    if not isinstance(url, str) or not url:
        return None
    if url.startswith(WATCH_URL) and len(url) == len(WATCH_URL) + 11:  # the release's own form, millions of times
        return url[len(WATCH_URL):] if _ID_ONLY.match(url[len(WATCH_URL):]) else None
    try:
        u = urlparse(url.strip())
    except ValueError:
        return None
    host = (u.hostname or "").lower()
    if host.endswith("youtu.be"):
        cand = u.path.lstrip("/").split("/")[0]
        return cand if _ID_ONLY.match(cand) else None
    if host.endswith("youtube.com") or host.endswith("youtube-nocookie.com"):
        v = parse_qs(u.query).get("v", [""])[0]
        if _ID_ONLY.match(v):
            return v
        m = _PATH_ID.match(u.path)
        return m.group(1) if m else None
    return None


def local_path_from_url(url: str) -> Path | None:
    """The local path of a ``file://`` URI; None for any other URL."""
    if not isinstance(url, str) or not url.startswith("file://"):
        return None
    return Path(unquote(urlparse(url).path))


def watch_url(video_id: str) -> str:
    return WATCH_URL + video_id


@dataclass(frozen=True)
class Source:
    """What the release says about a source video: its id (videoID prefix) and its URL (None: the file's own)."""

    source_id: str
    url: str | None


class SourcesTable:
    """The optional sources table: path or file name -> (source id, url)."""

    def __init__(self, by_path: dict[str, Source], by_name: dict[str, Source]):
        self.by_path, self.by_name = by_path, by_name

    def get(self, path: str) -> Source | None:
        return self.by_path.get(str(Path(path).resolve())) or self.by_name.get(Path(path).name)


def read_sources_table(path: str | Path) -> SourcesTable:
    """Read a sources table (CSV or Parquet with ``path``/``video``/``file`` and ``url``, optional ``source_id``).

    Raises:
        ValueError: naming the file, when it lacks those columns.
        FileNotFoundError: the file does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such sources table")
    table = pd.read_parquet(path) if path.suffix.lower() in (".parquet", ".pq") else pd.read_csv(path, dtype=str, keep_default_na=False)
    col = next((c for c in ("path", "video", "file") if c in table.columns), None)
    if col is None or "url" not in table.columns:
        raise ValueError(f"{path}: a sources table needs a path (or video/file) column and a url column; it has {list(table.columns)}")
    by_path: dict[str, Source] = {}
    by_name: dict[str, Source] = {}
    base = path.parent
    for rec in table.to_dict("records"):
        p, url = str(rec[col]), str(rec.get("url") or "")
        sid = str(rec.get("source_id") or "") or youtube_id_from_url(url) or Path(p).stem
        src = Source(sid, url or None)
        if "/" in p or "\\" in p:
            q = Path(p).expanduser()
            by_path[str((q if q.is_absolute() else base / q).resolve())] = src
        else:
            by_name[p] = src
    return SourcesTable(by_path, by_name)


@lru_cache(maxsize=8)
def _cached_table(path: str, size: int, mtime_ns: int) -> SourcesTable:
    return read_sources_table(path)


def sources_table(path: str | Path | None) -> SourcesTable | None:
    """The sources table at ``path`` (read once per file version), or None for an empty path."""
    if not path:
        return None
    st = Path(path).stat() if Path(path).is_file() else None
    if st is None:
        raise FileNotFoundError(f"{path}: no such sources table (filter.sources_table)")
    return _cached_table(str(path), st.st_size, st.st_mtime_ns)


def sidecar_source(video: str | Path) -> Source | None:
    """The yt-dlp ``<stem>.info.json`` beside ``video``: its YouTube id and page URL; None when absent or not YouTube."""
    side = Path(video).with_suffix(".info.json")
    if not side.is_file():
        return None
    try:
        info = json.loads(side.read_text())
    except (OSError, ValueError):
        return None
    url = str(info.get("webpage_url") or info.get("original_url") or "")
    vid = youtube_id_from_url(url) or (str(info.get("id")) if str(info.get("extractor_key", "")).lower() == "youtube" else None)
    if not vid:
        return Source(Path(video).stem, url or None) if url else None
    return Source(vid, url or watch_url(vid))


def source_of(video: str | Path, *, fallback_id: str, table: SourcesTable | None = None) -> Source:
    """A video file's source id and URL by the precedence in the module docstring (url None: use the file's own)."""
    if table is not None:
        hit = table.get(str(video))
        if hit is not None:
            return hit
    side = sidecar_source(video)
    if side is not None:
        return side
    vid = youtube_id_from_name(Path(video).name)
    if vid:
        return Source(vid, watch_url(vid))
    return Source(fallback_id, None)
