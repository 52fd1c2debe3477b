"""One seam for every per-clip stage: a clips table, the configuration and the engine in; a table and errors out.

Each stage in :data:`STAGES` (the ``as_stage`` function of its own module: :mod:`koala.metrics.stage`,
:mod:`koala.caption.stage`, :mod:`koala.vtss.predict`, :mod:`koala.curate.report`) has the signature of :class:`Stage`: ``stage(clips, params, engine)``
returns a :class:`StageResult`. The clips table is the split stage's (``CLIPS`` columns plus the
``video`` path); a stage that uses an upstream stage's numbers finds them as extra columns of the
same table (the caption stage reads ``text_area`` when the score stage's columns were joined in), so
tables pass in memory and no stage reads another's output back from disk. Settings come from
``params`` (the whole configuration; each stage reads its own section), the engine from ``engine``
(so a caller such as ``koala curate`` can give each stage its own cache folder and Ray resources).

The table a stage returns is keyed by ``clip_id``; ``errors`` has the ``ERRORS`` columns, one row per
clip or video the stage could not process; ``summary`` holds the stage's summary numbers.

At the edges, :func:`read_clips` loads a clips table from disk (video paths relative to the table,
the score stage's columns joined in) and :func:`run_saved` runs a stage and writes its three
outputs; the CLI's per-clip commands, the stage notebooks and the smoke pipeline use these two.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pandas as pd

from koala.config import EngineConfig, Params

log = logging.getLogger(__name__)
SCORED = ("text_area", "border_fraction")  # the score stage's measures the caption stage reads

__all__ = ["STAGES", "Stage", "StageResult", "read_clips", "run_saved", "table_schema"]


@dataclass
class StageResult:
    """What every stage returns."""

    table: pd.DataFrame  # one row per clip_id
    errors: pd.DataFrame  # ERRORS rows
    summary: dict = field(default_factory=dict)
    timings: pd.DataFrame | None = None  # clip_id + ms per step, when the stage measures them (score)


class Stage(Protocol):
    def __call__(self, clips: pd.DataFrame, params: Params, engine: EngineConfig) -> StageResult: ...


class _Stages(Mapping):
    """Stage name -> the stage function (``as_stage``) of its module, imported when first asked for, so
    running one stage imports (and, for DVC, depends on) that stage's code only."""

    MODULES = {"score": "koala.metrics.stage", "caption": "koala.caption.stage", "vtss": "koala.vtss.predict",
               "posters": "koala.curate.report"}

    def __getitem__(self, name: str) -> Stage:
        return importlib.import_module(self.MODULES[name]).as_stage

    def __iter__(self):
        return iter(self.MODULES)

    def __len__(self) -> int:
        return len(self.MODULES)


STAGES: Mapping[str, Stage] = _Stages()


def table_schema(name: str):
    """The Parquet schema of a stage's table (score: METRICS_TABLE, caption: CAPTIONS, vtss: VTSS_TABLE)."""
    schema = importlib.import_module(_Stages.MODULES[name]).STAGE_SCHEMA
    if schema is None:
        raise ValueError(f"no table schema for stage {name!r}")
    return schema


def read_clips(path: str | Path, *, scored: str | Path | None = None) -> pd.DataFrame:
    """A clips table from disk, its ``video`` paths resolved against the table's folder, with the score
    stage's text and letterbox measures (:data:`SCORED`) joined in from the ``scored`` metrics table.

    Raises:
        FileNotFoundError: either table is missing (the message says how to make it).
    """
    from koala.io.tables import read_table

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such clips table (make one with `koala split VIDEO... --out {path}`)")
    clips = read_table(path)
    if "video" in clips.columns:
        clips = clips.assign(video=[resolve_video(v, path.parent) for v in clips["video"]])
    if scored is not None:
        if not Path(scored).is_file():
            raise FileNotFoundError(f"{scored}: no such metrics table (make one with `koala score {path} --out {scored}`)")
        table = read_table(scored)
        keep = [c for c in SCORED if c in table.columns]
        clips = clips.merge(table[["clip_id"] + keep], on="clip_id", how="left") if keep else clips
    return clips


def resolve_video(path: str, table_dir: Path) -> str:
    """A clips table's video path as given, or relative to the table's folder when only that exists."""
    p = Path(path)
    if p.is_absolute() or p.exists() or not (table_dir / p).exists():
        return str(path)
    return str(table_dir / p)


def run_saved(name: str, clips: pd.DataFrame, params: Params, *, out: str | Path, errors: str | Path,
              summary: str | Path | None = None) -> StageResult:
    """Stage ``name`` of :data:`STAGES` over ``clips`` with ``params.engine``; its table written to ``out``
    (the stage's :func:`table_schema`), its errors to ``errors``, its summary numbers to ``summary`` (JSON)."""
    from koala.engine.core import write_errors
    from koala.io.atomic import write_json
    from koala.io.tables import write_table

    res = STAGES[name](clips, params, params.engine)
    write_table(res.table, out, table_schema(name))
    write_errors(res.errors, errors)
    if summary:
        write_json(summary, res.summary)
    log.info("%s: %d of %d clips into %s; %d error rows in %s", name, len(res.table), len(clips), out, len(res.errors), errors)
    return res
