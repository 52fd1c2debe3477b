"""VTSS and the keep decision for a curate run, through the vtss and filter stages' own functions.

VTSS comes from :func:`koala.vtss.predict.run_predict` with the configured model; when there is
none (no released ``infer.pth`` given, no trained TSA model), every clip's VTSS is NaN and the
reason says what to provide, and no clip is kept: a clip without a suitability score is not
shown as suitable. The threshold and the per-clip decision are the filter stage's
(:func:`koala.filter.threshold.choose_threshold`, :func:`vtss_decisions`); a clip that a stage
could not process (its video failed scoring, say) is rejected with that stage's reason.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from koala.config import EngineConfig, Params
from koala.io.tables import ERRORS, empty_frame, read_table

log = logging.getLogger(__name__)

VTSS_COLUMNS = ("vtss", "vtss_raw", "vtss_model", "vtss_reason")


def vtss_checkpoint(params: Params) -> str | None:
    """The released checkpoint to score with: ``curate.vtss_checkpoint``, else ``vtss.released_checkpoint``, else None (the trained TSA)."""
    return params.curate.vtss_checkpoint or params.vtss.released_checkpoint or None


def _nan_frame(clip_ids: pd.Series, reason: str) -> pd.DataFrame:
    n = len(clip_ids)
    return pd.DataFrame({"clip_id": clip_ids.astype(str).to_numpy(), "vtss": np.full(n, np.nan), "vtss_raw": np.full(n, np.nan),
                         "vtss_model": [""] * n, "vtss_reason": [reason] * n})


def vtss_scores(clips_path: Path, *, params: Params, engine: EngineConfig, work: Path, n_clips: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """VTSS per clip of a chunk (``VTSS_COLUMNS``), NaN with a reason when no model can score it."""
    clips = read_table(clips_path)
    if not n_clips:
        return _nan_frame(clips["clip_id"], ""), empty_frame(ERRORS)
    checkpoint = vtss_checkpoint(params)
    if checkpoint is None and not Path(params.vtss.model_path).is_file():  # nothing to load: skip importing torch
        reason = (f"no VTSS model: no trained TSA at {params.vtss.model_path} and no released checkpoint "
                  "(set curate.vtss_checkpoint or pass --checkpoint infer.pth)")
        log.warning("curate: VTSS is NaN for every clip: %s", reason)
        return _nan_frame(clips["clip_id"], reason), empty_frame(ERRORS)
    from koala.vtss.predict import NoTrainedModel, run_predict
    from koala.vtss.released import CheckpointError

    try:
        res = run_predict(params.vtss, engine, clips_path=clips_path, out=work / "vtss.parquet",
                          errors_path=work / "vtss.errors.parquet", checkpoint=checkpoint)
    except (NoTrainedModel, CheckpointError) as exc:
        reason = f"no VTSS model: {exc}"
        log.warning("curate: VTSS is NaN for every clip: %s", reason)
        return _nan_frame(clips["clip_id"], reason), empty_frame(ERRORS)
    table = res.table.rename(columns={"model": "vtss_model"})[["clip_id", "vtss", "vtss_raw", "vtss_model"]]
    out = clips[["clip_id"]].merge(table, on="clip_id", how="left")
    out["vtss_model"] = out["vtss_model"].fillna("")
    out["vtss_reason"] = np.where(out["vtss"].isna(), "the vtss stage could not score this clip's video (see errors)", "")
    return out, res.errors


def stage_failures(table: pd.DataFrame, errors: pd.DataFrame) -> pd.DataFrame:
    """Add ``failed``: per clip, the later stages that failed on it (by clip or by its video), '' when none."""
    if not len(table):
        return table.assign(failed=pd.Series(dtype=object))
    notes = [[] for _ in range(len(table))]
    by_key: dict[str, list[str]] = {}
    for e in errors.itertuples():
        if e.stage != "split":
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
    """``kept``, ``reason``, ``threshold`` and ``rule`` per clip: the filter's decision (VTSS threshold, or the
    manual multi-threshold baseline with ``filter.rule: manual``), then a failed stage or a missing caption rejects."""
    from koala.filter.threshold import vtss_decisions

    if not len(table):
        return table.assign(kept=pd.Series(dtype=bool), reason=pd.Series(dtype=object), threshold=pd.Series(dtype=float),
                            rule=pd.Series(dtype=object))
    if rule.method == "manual":  # the "Koala-37M-manual" baseline: the filter's per-metric thresholds
        from koala.filter.threshold import manual_decisions, manual_rules

        d = manual_decisions(table, manual_rules(params.filter), missing=params.filter.manual_missing)
        kept, reasons = d.kept, d.reasons
    else:
        kept, reasons = vtss_decisions(table["vtss"].to_numpy(float), rule.value, nan_reasons=list(table["vtss_reason"]))
    kept = np.asarray(kept, bool).copy()
    reasons = list(reasons)
    caption = table["caption"] if "caption" in table.columns else pd.Series([None] * len(table))
    for i, (failed, cap) in enumerate(zip(table["failed"], caption)):
        extra = []
        if failed:
            extra.append(failed)
        if params.filter.require_caption and not (isinstance(cap, str) and cap.strip()):
            extra.append("no caption")
        if extra:
            kept[i] = False
            reasons[i] = "; ".join([r for r in [reasons[i]] if r] + extra)
    return table.assign(kept=kept, reason=reasons, threshold=float(rule.value), rule=rule.method)


def vtss_model_label(tables: Iterable[pd.DataFrame]) -> str:
    labels = sorted({str(m) for t in tables for m in t.get("vtss_model", pd.Series(dtype=object)) if m})
    return ", ".join(labels) or "none"


def release_rows(table: pd.DataFrame, params: Params) -> pd.DataFrame:
    """The kept clips of a chunk in the Koala-36M release schema (the filter stage's writer)."""
    from koala.filter.release import RELEASE_COLUMNS, release_table

    if not len(table):
        return pd.DataFrame(columns=list(RELEASE_COLUMNS))
    return release_table(table[table["kept"].astype(bool)], url_prefix=params.filter.url_prefix)
