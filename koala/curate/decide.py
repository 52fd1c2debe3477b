"""VTSS and the keep decision for a curate run, through the vtss and filter stages' own functions.

VTSS comes from :func:`koala.vtss.predict.as_stage` (:func:`koala.vtss.predict.predict_clips`) with the configured model (the released
``infer.pth``, else the pipeline's trained TSA, whose label branch sees the ``score`` section's
sub-metrics); when there is none, every clip's VTSS is NaN and the
reason says what to provide, and no clip is kept: a clip without a suitability score is not
shown as suitable. The threshold (:func:`koala.filter.threshold.choose_threshold`, over every
chunk's VTSS), the per-clip decision at it (:func:`koala.filter.stage.apply_threshold`) and the release
rows (:func:`koala.filter.release.release_table`) are the filter stage's; a clip that a stage could
not process (its video failed scoring, say) is rejected with that stage's reason as well.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from koala.config import EngineConfig, Params
from koala.io.tables import ERRORS, empty_frame

log = logging.getLogger(__name__)

def vtss_checkpoint(params: Params) -> str | None:
    """The released checkpoint to score with: ``curate.vtss_checkpoint``, else ``vtss.released_checkpoint``, else None (the trained TSA)."""
    return params.curate.vtss_checkpoint or params.vtss.released_checkpoint or None


def _has_trained_model(params: Params) -> bool:
    from koala.vtss.packaged import trained_model

    return trained_model(params.vtss) is not None


def vtss_model(params: Params) -> tuple[tuple[Path, str] | None, str]:
    """(checkpoint, model label) to score with, or None and the reason no model can score (logged)."""
    checkpoint = vtss_checkpoint(params)
    if checkpoint is None and not _has_trained_model(params):
        reason = (f"no VTSS model: no trained TSA at {params.vtss.model_path}, no packaged default model and no released checkpoint "
                  "(set curate.vtss_checkpoint or pass --checkpoint infer.pth)")
        log.warning("curate: VTSS is NaN for every clip: %s", reason)
        return None, reason
    from koala.vtss.predict import NoTrainedModel, prepare_model
    from koala.vtss.released import CheckpointError

    try:
        return prepare_model(params.vtss, checkpoint), ""
    except (NoTrainedModel, CheckpointError) as exc:
        reason = f"no VTSS model: {exc}"
        log.warning("curate: VTSS is NaN for every clip: %s", reason)
        return None, reason


def vtss_scores(clips: pd.DataFrame, *, params: Params, engine: EngineConfig) -> tuple[pd.DataFrame | None, str, pd.DataFrame]:
    """The vtss stage's table for a chunk's clips (:func:`koala.vtss.predict.as_stage`), or None and the reason no model could score it.

    Returns:
        (VTSS table or None, note for clips without a VTSS row, errors table).
    """
    if not len(clips):
        return None, "", empty_frame(ERRORS)
    model, reason = vtss_model(params)
    if model is None:
        return None, reason, empty_frame(ERRORS)
    from koala.vtss.predict import as_stage

    res = as_stage(clips, params, engine)
    return res.table, VTSS_FAILED, res.errors


VTSS_FAILED = "the vtss stage could not score this clip's video (see the errors table)"


REJECTING_STAGES = ("score", "caption", "vtss")  # a clip that one of these could not process is not kept (a poster is not data)


def stage_failures(table: pd.DataFrame, errors: pd.DataFrame) -> pd.DataFrame:
    """Add ``failed``: per clip, the scoring stages that failed on it (by clip or by its video), '' when none.

    Warning rows (a video used in part, e.g. cut off mid-stream) are not failures.
    """
    from koala.io.tables import failures

    if not len(table):
        return table.assign(failed=pd.Series(dtype=object))
    notes = [[] for _ in range(len(table))]
    by_key: dict[str, list[str]] = {}
    for e in failures(errors).itertuples():
        if e.stage in REJECTING_STAGES:
            by_key.setdefault(str(e.key), []).append(f"{e.stage}: {e.message}")
    for i, (cid, vid) in enumerate(zip(table["clip_id"].astype(str), table["video_id"].astype(str))):
        notes[i] = by_key.get(cid, []) + by_key.get(vid, [])
    return table.assign(failed=["; ".join(n) for n in notes])


def choose(vtss_parts: Iterable[np.ndarray], params: Params):
    """The filter stage's threshold (``filter.rule``) over every chunk's VTSS column."""
    from koala.filter.threshold import choose_threshold

    parts = [np.asarray(p, dtype=float) for p in vtss_parts]
    values = np.concatenate(parts) if parts else np.zeros(0)
    return choose_threshold(values, params.filter)


def apply(table: pd.DataFrame, rule, params: Params) -> pd.DataFrame:
    """The filter stage's decision for one chunk, at the run's threshold; a failed stage rejects too.

    :func:`koala.filter.stage.apply_threshold` decides (``kept``, ``reason``, ``vtss_kept``,
    ``manual_kept``, ...) at the run's threshold, chosen once over every chunk's VTSS (:func:`choose`).
    """
    from koala.filter.stage import apply_threshold

    if not len(table):
        return table.assign(kept=pd.Series(dtype=bool), reason=pd.Series(dtype=object), threshold=pd.Series(dtype=float),
                            rule=pd.Series(dtype=object))
    out = apply_threshold(table, rule, params.filter).table
    failed = out["failed"].astype(str)
    kept = out["kept"].to_numpy(bool) & (failed == "").to_numpy()
    reason = ["; ".join(p for p in (r, f) if p) for r, f in zip(out["reason"], failed)]
    return out.assign(kept=kept, reason=reason, threshold=float(rule.value), rule=rule.method)


def release_rows(table: pd.DataFrame, params: Params) -> pd.DataFrame:
    """The kept clips of a chunk in the Koala-36M release schema (the filter stage's writer)."""
    from koala.filter.release import RELEASE_COLUMNS, release_table

    if not len(table):
        return pd.DataFrame(columns=list(RELEASE_COLUMNS))
    return release_table(table[table["kept"].astype(bool)], url_prefix=params.filter.url_prefix,
                         sources_table=params.filter.sources_table)
