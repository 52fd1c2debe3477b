"""Rows of the videos table: a probe of each file plus its checksum, source and truth."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from koala.engine.core import ItemOutput
from koala.io.atomic import sha256_file
from koala.io.tables import VIDEOS, video_ids
from koala.io.video import probe


def video_row(item: dict) -> "dict | ItemOutput":
    """Probe ``item['path']`` into one VIDEOS row (an engine item function).

    ``item`` may carry ``video_id`` (default: the file stem), ``source`` and ``truth``. A video
    cut off mid-stream is a row of the frames that are there plus a warning saying what is missing.

    Raises:
        VideoError: the file is not a usable video (the engine records it in the errors table).
    """
    path = Path(item["path"])
    info = probe(path)
    row = info.as_row()
    row.update(
        video_id=item.get("video_id") or path.stem,
        sha256=sha256_file(path),
        source=item.get("source", "user"),
        truth=list(item.get("truth", [])),
    )
    out = {name: row[name] for name in VIDEOS.names}
    return ItemOutput(out, [("PartialVideo", f"{path}: {info.missing}")]) if info.missing else out


def probe_items(paths: list[str | Path], *, source: str = "user") -> list[dict]:
    """Engine items that probe each path; keys are unique even for repeated stems."""
    return [{"key": key, "path": str(p), "video_id": key, "source": source, "mtime_ns": _mtime(p)}
            for key, p in zip(video_ids(paths), paths)]


def _mtime(path: str | Path) -> int:
    """Part of an item's fingerprint, so a replaced file is probed again."""
    try:
        return Path(path).stat().st_mtime_ns
    except OSError:
        return -1


def empty_videos() -> pd.DataFrame:
    return VIDEOS.empty_table().to_pandas()
