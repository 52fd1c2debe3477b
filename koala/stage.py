"""One seam for every per-clip stage: a clips table, the configuration and the engine in; a table and errors out.

Each stage in :data:`STAGES` has the signature of :class:`Stage`: ``stage(clips, params, engine)``
returns a :class:`StageResult`. The clips table is the split stage's (``CLIPS`` columns plus the
``video`` path); a stage that uses an upstream stage's numbers finds them as extra columns of the
same table (the caption stage reads ``text_area`` when the score stage's columns were joined in), so
tables pass in memory and no stage reads another's output back from disk. Settings come from
``params`` (the whole configuration; each stage reads its own section), the engine from ``engine``
(so a caller such as ``koala curate`` can give each stage its own cache folder and Ray resources).

The table a stage returns is keyed by ``clip_id``; ``errors`` has the ``ERRORS`` columns, one row per
clip or video the stage could not process; ``summary`` holds the stage's summary numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pandas as pd

from koala.config import EngineConfig, Params

__all__ = ["STAGES", "Stage", "StageResult", "caption", "posters", "score", "table_schema", "vtss"]


@dataclass
class StageResult:
    """What every stage returns."""

    table: pd.DataFrame  # one row per clip_id
    errors: pd.DataFrame  # ERRORS rows
    summary: dict = field(default_factory=dict)


class Stage(Protocol):
    def __call__(self, clips: pd.DataFrame, params: Params, engine: EngineConfig) -> StageResult: ...


def score(clips: pd.DataFrame, params: Params, engine: EngineConfig) -> StageResult:
    """Sub-metrics per clip (:func:`koala.metrics.stage.score_clips`); the table is ``METRICS_TABLE``."""
    from koala.metrics.stage import METRICS_TABLE, score_clips

    if not len(clips):
        from koala.io.tables import ERRORS, empty_frame

        return StageResult(METRICS_TABLE.empty_table().to_pandas(), empty_frame(ERRORS))
    res = score_clips(clips, params.score, _with_engine(params, engine), desc="score")
    return StageResult(res.table, res.errors, res.metrics)


def caption(clips: pd.DataFrame, params: Params, engine: EngineConfig) -> StageResult:
    """Six-field captions per clip (:func:`koala.caption.stage.caption_clips`); the table is ``CAPTIONS``.

    The score stage's ``text_area`` and ``border_fraction``, when they are columns of ``clips``,
    feed the measured backend as in the caption stage.
    """
    from koala.caption.stage import caption_clips, caption_metrics, clips_frame
    from koala.io.tables import CAPTIONS, ERRORS, empty_frame

    if not len(clips):
        return StageResult(empty_frame(CAPTIONS), empty_frame(ERRORS))
    keep = [c for c in ("text_area", "border_fraction") if c in clips.columns]
    metrics = {str(r["clip_id"]): {k: float(r[k]) for k in keep} for r in clips[["clip_id"] + keep].to_dict("records")} if keep else {}
    table, errors = caption_clips(clips_frame(clips), params.caption, engine, metrics=metrics)
    return StageResult(table, errors, caption_metrics(table, errors))


def vtss(clips: pd.DataFrame, params: Params, engine: EngineConfig) -> StageResult:
    """VTSS per clip (:func:`koala.vtss.predict.predict_clips`) with the released checkpoint that
    ``curate.vtss_checkpoint`` or ``vtss.released_checkpoint`` names, else the trained TSA.

    Raises:
        koala.vtss.predict.NoTrainedModel, koala.vtss.released.CheckpointError: no usable model.
    """
    from koala.vtss.predict import VTSS_TABLE, predict_clips

    if not len(clips):
        from koala.io.tables import ERRORS, empty_frame

        return StageResult(pd.DataFrame(columns=VTSS_TABLE.names), empty_frame(ERRORS))
    checkpoint = params.curate.vtss_checkpoint or params.vtss.released_checkpoint or None
    res = predict_clips(clips, params.vtss, engine, checkpoint=checkpoint, score=params.score)
    return StageResult(res.table, res.errors, res.metrics)


def posters(clips: pd.DataFrame, params: Params, engine: EngineConfig) -> StageResult:
    """A poster JPEG per clip under ``curate.out_dir/posters`` (:func:`koala.curate.report.make_posters`)."""
    from koala.curate.report import make_posters

    table, errors = make_posters(clips, out_dir=Path(params.curate.out_dir), cfg=params.curate, engine=engine)
    return StageResult(table, errors)


STAGES: dict[str, Stage] = {"score": score, "caption": caption, "vtss": vtss, "posters": posters}


def table_schema(name: str):
    """The Parquet schema of a stage's table (score: METRICS_TABLE, caption: CAPTIONS, vtss: VTSS_TABLE)."""
    if name == "score":
        from koala.metrics.stage import METRICS_TABLE as schema
    elif name == "caption":
        from koala.io.tables import CAPTIONS as schema
    elif name == "vtss":
        from koala.vtss.predict import VTSS_TABLE as schema
    else:
        raise ValueError(f"no table schema for stage {name!r}")
    return schema


def _with_engine(params: Params, engine: EngineConfig) -> Params:
    import dataclasses

    return dataclasses.replace(params, engine=engine)
