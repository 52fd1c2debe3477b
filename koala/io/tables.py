"""Table schemas of the pipeline, defined once, and their atomic Parquet I/O.

Every stage reads and writes Parquet tables under ``data/``. Column names live here and
nowhere else (other modules import the constants), so a rename is one edit and a test.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from koala.io.atomic import atomic_path

# A transition in a video's ground truth: type and its first and last frame (inclusive).
# Gradual transitions span the frames that mix the two shots; a hard cut between frame k-1
# (last of the outgoing shot) and frame k (first of the incoming shot) is stored as [k-1, k].
TRANSITION = pa.struct(
    [("type", pa.string()), ("first_frame", pa.int64()), ("last_frame", pa.int64())]
)

VIDEOS = pa.schema(
    [
        ("video_id", pa.string()),
        ("path", pa.string()),
        ("sha256", pa.string()),
        ("fps", pa.float64()),
        ("num_frames", pa.int64()),
        ("width", pa.int64()),  # display width (after rotation)
        ("height", pa.int64()),
        ("duration_sec", pa.float64()),
        ("rotation", pa.int64()),  # display-matrix rotation, degrees counter-clockwise: 0/90/180/270
        ("variable_frame_rate", pa.bool_()),
        ("codec", pa.string()),
        ("source", pa.string()),  # koala_tsa_sample | bench_transitions | bench_negative | user
        ("truth", pa.list_(TRANSITION)),
    ]
)

# Human (or proxy) suitability labels of the sample clips, on the 1-5 VTSS scale.
LABELS = pa.schema([("video_id", pa.string()), ("vtss_label", pa.float64()), ("label_source", pa.string())])

CLIPS = pa.schema(
    [
        ("clip_id", pa.string()),
        ("video_id", pa.string()),
        ("clip_index", pa.int64()),
        ("start_frame", pa.int64()),
        ("end_frame", pa.int64()),  # exclusive
        ("start_sec", pa.float64()),
        ("end_sec", pa.float64()),
        ("fps", pa.float64()),
        ("method", pa.string()),
        ("video", pa.string()),  # source file path
    ]
)

CAPTION_FIELDS = (
    "subject",
    "actions",
    "environment",
    "visual_language",
    "camera_language",
    "world_knowledge",
)
CAPTIONS = pa.schema(
    [("clip_id", pa.string())]
    + [(name, pa.string()) for name in CAPTION_FIELDS]
    + [("caption", pa.string()), ("backend", pa.string()), ("model", pa.string())]
)

# One row per input that a batch could not process (severity "error"; the batch goes on without
# it), or processed only in part (severity "warning": e.g. a video cut off mid-stream, used up to
# where it ends; the message says how much is missing). error_type is the kind (VideoError,
# PartialVideo, ...).
ERRORS = pa.schema(
    [
        ("stage", pa.string()),
        ("key", pa.string()),
        ("path", pa.string()),
        ("error_type", pa.string()),
        ("message", pa.string()),
        ("severity", pa.string()),  # error | warning
    ]
)
SEVERITY_ERROR, SEVERITY_WARNING = "error", "warning"


def video_ids(paths, seen: dict[str, int] | None = None) -> list[str]:
    """File stems as video ids, made unique with ``~2``, ``~3``... where files share a stem (over ``seen``, when given)."""
    seen = {} if seen is None else seen
    ids = []
    for p in paths:
        stem = Path(p).stem
        seen[stem] = seen.get(stem, 0) + 1
        ids.append(stem if seen[stem] == 1 else f"{stem}~{seen[stem]}")
    return ids


def failures(errors: pd.DataFrame) -> pd.DataFrame:
    """The rows of an errors table that are failures (not warnings); old tables without severity: all."""
    if "severity" not in errors.columns or not len(errors):
        return errors
    return errors[errors["severity"].ne(SEVERITY_WARNING)]  # a missing severity (NaN) counts as an error


def empty_frame(schema: pa.Schema) -> pd.DataFrame:
    """An empty DataFrame with the schema's columns and dtypes."""
    return schema.empty_table().to_pandas()


def conform(df: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """Check ``df`` has exactly the schema's columns and cast it to the schema.

    Raises:
        ValueError: naming missing or unexpected columns, so a stage cannot silently drift
            from its documented table.
    """
    missing = [n for n in schema.names if n not in df.columns]
    extra = [c for c in df.columns if c not in schema.names]
    if missing or extra:
        raise ValueError(f"table does not match its schema: missing {missing}, unexpected {extra}")
    return pa.Table.from_pandas(df[schema.names], schema=schema, preserve_index=False)


def write_table(df: pd.DataFrame, path: str | os.PathLike, schema: pa.Schema | None = None) -> Path:
    """Write ``df`` to Parquet atomically, validated against ``schema`` when given."""
    table = conform(df, schema) if schema is not None else pa.Table.from_pandas(df, preserve_index=False)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return Path(path)


def read_table(path: str | os.PathLike, schema: pa.Schema | None = None) -> pd.DataFrame:
    """Read a Parquet table; with ``schema``, check its columns first."""
    table = pq.read_table(path)
    if schema is not None:
        missing = [n for n in schema.names if n not in table.column_names]
        if missing:
            raise ValueError(f"{path}: missing columns {missing}; was it written by another koala version?")
    return table.to_pandas()
