"""The filter stage: clips, sub-metrics, captions and VTSS joined, thresholded, written in the release format.

:func:`join_tables` and :func:`filter_clips` are pure (DataFrames and the config in, tables out),
so issue 9's ``koala curate`` can run them on its own tables; :func:`run_filter` is the stage: it
reads the pipeline's tables, calls them, and writes ``koala.csv`` (kept clips, the release's
columns), ``filtered.parquet`` (every clip, every column, ``kept`` and the rejection ``reason``)
and the metrics JSON.

Every clip gets a decision and a reason. A clip whose VTSS is NaN (the vtss stage failed on it or
never saw it) is not kept, and its reason says so; the threshold is fitted on finite VTSS only.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from koala.config import FilterConfig, Params
from koala.filter import dataset, release, shifts
from koala.filter.threshold import Threshold, choose_threshold, manual_decisions, manual_rules, vtss_decisions
from koala.io.atomic import write_json
from koala.io.tables import read_table, write_table

log = logging.getLogger(__name__)

CLIP_COLUMNS = ("clip_id", "video_id", "start_sec", "end_sec", "video")


@dataclass
class FilterResult:
    table: pd.DataFrame  # every clip: the joined columns + vtss_reason, manual_kept, manual_reason, kept, reason
    release: pd.DataFrame  # koala.csv rows (kept clips)
    threshold: Threshold
    table8: pd.DataFrame
    table1: pd.DataFrame
    metrics: dict

    def describe(self, cfg: FilterConfig) -> str:
        th = self.threshold
        how = f"VTSS >= {th.value:.3f} ({th.method}{': ' + th.reason if th.reason else ''})" if th.method != "manual" else "manual thresholds"
        return f"kept {self.metrics['kept']} of {self.metrics['clips']} clips by {how}; wrote {cfg.release_csv} and {cfg.filtered_table}"


def _unique(table: pd.DataFrame, name: str) -> pd.DataFrame:
    if "clip_id" not in table.columns:
        raise ValueError(f"the {name} table has no clip_id column")
    dup = table["clip_id"][table["clip_id"].duplicated()]
    if len(dup):
        raise ValueError(f"the {name} table repeats clip_id {dup.iloc[0]!r} ({len(dup)} duplicates)")
    return table.assign(clip_id=table["clip_id"].astype(str))


def join_tables(clips: pd.DataFrame, metrics: pd.DataFrame, captions: pd.DataFrame, vtss: pd.DataFrame | None,
                videos: pd.DataFrame | None = None, *, vtss_missing: str = "not in the VTSS table") -> pd.DataFrame:
    """One row per clip of ``clips`` with its sub-metrics, caption fields and VTSS beside it.

    A clip missing from a table keeps NaN there; ``vtss_note`` says why its VTSS is missing. Columns
    that two tables share are renamed (``metric_nan_reasons``, ``caption_model``, ``vtss_model``,
    ``vtss_frames_sampled``; any other clash gets its table's prefix; ``source_width`` and
    ``source_height`` come from ``videos``).

    Args:
        clips: the split stage's clips (clip_id, video_id, start_sec, end_sec, video, ...).
        metrics: the score stage's table (clip_id + metric columns).
        captions: the caption stage's table (clip_id, the six fields, caption, backend, model).
        vtss: the vtss stage's table (clip_id, vtss, ...), or None when there is none.
        videos: optional videos table (video_id, width, height) for the source resolution.
        vtss_missing: the note for clips without a VTSS row (e.g. naming the missing table).

    Raises:
        ValueError: a table lacks its key columns or repeats a clip_id.
    """
    missing = [c for c in CLIP_COLUMNS if c not in clips.columns]
    if missing:
        raise ValueError(f"the clips table lacks columns {missing}")
    out = _unique(clips, "clips")

    def add(out: pd.DataFrame, other: pd.DataFrame, prefix: str, renames: dict[str, str]) -> pd.DataFrame:
        other = other.drop(columns=["video_id"], errors="ignore").rename(columns=renames)
        clash = {c: prefix + c for c in other.columns if c != "clip_id" and c in out.columns}
        return out.merge(other.rename(columns=clash), on="clip_id", how="left", validate="one_to_one")

    out = add(out, _unique(metrics, "metrics"), "metric_", {"nan_reasons": "metric_nan_reasons"})
    out = add(out, _unique(captions, "captions"), "caption_", {"model": "caption_model"})
    if vtss is not None:
        v = _unique(vtss, "vtss")
        if "vtss" not in v.columns:
            raise ValueError("the vtss table has no vtss column")
        renames = {"model": "vtss_model", "frames_sampled": "vtss_frames_sampled"}
        out = add(out, v.assign(_in_vtss=True), "vtss_", renames)
        present = out.pop("_in_vtss").fillna(False).astype(bool).to_numpy()
    else:
        out["vtss"] = np.nan
        present = np.zeros(len(out), dtype=bool)
    out["vtss"] = pd.to_numeric(out["vtss"], errors="coerce").astype(float)
    out["vtss_note"] = np.where(present, np.where(np.isfinite(out["vtss"]), "", "the vtss stage gave NaN"), vtss_missing)
    if videos is not None and {"video_id", "width", "height"} <= set(videos.columns):
        src = videos[["video_id", "width", "height"]].drop_duplicates("video_id")
        src = src.rename(columns={"width": "source_width", "height": "source_height"})
        out = out.merge(src.assign(video_id=src["video_id"].astype(str)), on="video_id", how="left")
    return out.reset_index(drop=True)


def rule_label(th: Threshold) -> str:
    """How the chosen rule filtered, for Table 1's Filtering column."""
    if th.method == "manual":
        return "Sub-metrics (manual)"
    how = {"valley": "two-Gaussian valley", "fixed": "fixed", "fixed_fallback": "fixed, valley fit impossible"}[th.method]
    return f"Expert Model (VTSS >= {th.value:.2f}, {how})"


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def filter_clips(table: pd.DataFrame, cfg: FilterConfig) -> FilterResult:
    """Decide every clip of a joined table (see :func:`join_tables`) and build Tables 1 and 8 and the release rows.

    The rule in ``cfg.rule`` decides ``kept``: the VTSS threshold (``valley`` or ``fixed``) or the
    manual multi-threshold baseline (``manual``). The other is computed too (``vtss_kept``,
    ``manual_kept``) so the two can be compared. With ``require_caption``, a clip without a
    caption is not kept either.

    Raises:
        ValueError: an unknown rule, or manual thresholds on metrics the table lacks.
    """
    return apply_threshold(table, choose_threshold(table["vtss"].to_numpy(dtype=float), cfg), cfg)


def apply_threshold(table: pd.DataFrame, th: Threshold, cfg: FilterConfig) -> FilterResult:
    """Decide every clip of a joined table at a threshold already chosen (:func:`choose_threshold`).

    Choosing and applying are apart so that a caller can choose once over many tables (``koala
    curate`` chooses over every chunk's VTSS) and apply the one threshold to each. ``th.method ==
    "manual"`` applies the manual multi-threshold baseline; otherwise ``th.value`` is the VTSS cut.

    Raises:
        ValueError: manual thresholds on metrics the table lacks.
    """
    notes = table["vtss_note"].tolist() if "vtss_note" in table.columns else None
    vt = th.value if th.method != "manual" else cfg.fixed_threshold  # the manual rule still reports VTSS at 2.5
    vtss_kept, vtss_reasons = vtss_decisions(table["vtss"].to_numpy(dtype=float), vt, nan_reasons=notes)
    rules = manual_rules(cfg)
    man = manual_decisions(table, rules, missing=cfg.manual_missing)
    captions = table["caption"] if "caption" in table.columns else pd.Series([None] * len(table))
    has_caption = (captions.astype("string").fillna("").str.strip() != "").to_numpy()
    chosen_kept, chosen_reasons = (man.kept, man.reasons) if th.method == "manual" else (vtss_kept, vtss_reasons)
    short, short_reason = too_short(table, cfg.min_clip_sec)
    kept = chosen_kept & (has_caption | (not cfg.require_caption)) & ~short
    reasons = [_join(s, r, "" if (c or not cfg.require_caption) else "no caption")
               for s, r, c in zip(np.where(short, short_reason, ""), chosen_reasons, has_caption)]
    out = table.assign(vtss_kept=vtss_kept, vtss_reason=vtss_reasons, manual_kept=man.kept, manual_reason=man.reasons,
                       manual_skipped=man.skipped, has_caption=has_caption, too_short=short, kept=kept, reason=reasons)
    rel = release.release_table(out[out["kept"]], url_prefix=cfg.url_prefix, sources_table=cfg.sources_table)
    t8 = shifts.table8(out, cfg)
    t1 = dataset.table1(out, rule_label=rule_label(th))
    return FilterResult(table=out, release=rel, threshold=th, table8=t8, table1=t1, metrics=summary(out, th, t8, t1, man.failed))


def too_short(table: pd.DataFrame, min_sec: float) -> tuple[np.ndarray, str]:
    """Which clips last less than ``min_sec`` seconds (``end_sec - start_sec``), and the reason string.

    The split stage writes every shot, however short (a music video's half-second shots are real
    shots, and dropping them there hid their boundaries from the evaluation); whether a short clip
    is worth training on is a curation decision, made here with its reason. ``min_sec <= 0`` keeps all.
    """
    if min_sec <= 0 or not len(table):
        return np.zeros(len(table), dtype=bool), ""
    dur = (pd.to_numeric(table["end_sec"], errors="coerce") - pd.to_numeric(table["start_sec"], errors="coerce")).to_numpy(float)
    # a tiny tolerance: 25 frames at 25 fps is 1.0 s even when the seconds were rounded
    return np.nan_to_num(dur, nan=0.0) < min_sec - 1e-6, f"shorter than {float(min_sec)!r} s"


def _num(x) -> float | None:
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else round(float(x), 4)


def summary(out: pd.DataFrame, th: Threshold, t8: pd.DataFrame, t1: pd.DataFrame, manual_failed: dict[str, np.ndarray]) -> dict:
    """The stage's numbers for reports/metrics/filter.json (plain JSON types, None for what cannot be computed)."""
    n = len(out)
    v, mk = out["vtss_kept"].to_numpy(), out["manual_kept"].to_numpy()
    ours = t1[t1["source"] == "ours"]
    return {
        "clips": n,
        "kept": int(out["kept"].sum()),
        "kept_share": _num(out["kept"].mean()) if n else None,
        "vtss_finite": int(np.isfinite(out["vtss"]).sum()),
        "vtss_nan": int((~np.isfinite(out["vtss"])).sum()),
        "no_caption": int((~out["has_caption"]).sum()),
        "too_short": int(out["too_short"].sum()),
        "threshold": th.as_dict(),
        "vtss_kept": int(v.sum()),
        "manual_kept": int(mk.sum()),
        "manual_failed": {label: int(bad.sum()) for label, bad in manual_failed.items()},
        "agreement": {"both_kept": int((v & mk).sum()), "vtss_only": int((v & ~mk).sum()),
                      "manual_only": int((~v & mk).sum()), "neither": int((~v & ~mk).sum())},
        "table8": [{k: (_num(x) if isinstance(x, float) else x) for k, x in r.items()} for r in t8.to_dict("records")],
        "table1": [{"dataset": r["dataset"], "clips": int(r["n_clips"]), "hours": _num(r["hours"]),
                    "atl_words": _num(r["atl_words"]), "filtering": r["filtering"]} for r in ours.to_dict("records")],
    }


def _read(path: str | Path, what: str, stage: str) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no {what} table; run the {stage} stage first (or point filter.* at one)")
    return read_table(path)


def run_filter(params: Params, *, metrics_path: str | Path | None = None, missing_vtss_ok: bool = False) -> FilterResult:
    """The stage: read clips, metrics, captions and VTSS; filter; write koala.csv, filtered.parquet and the metrics JSON.

    Args:
        params: the whole configuration (its ``filter`` section is used).
        metrics_path: where to write the summary JSON (skipped when None).
        missing_vtss_ok: without a VTSS table, go on with every VTSS NaN (so nothing passes the
            VTSS rule, each clip saying why) instead of failing; for smoke runs only.

    Raises:
        FileNotFoundError: an input table is missing (naming it and the stage that makes it).
        ValueError: an input table is malformed (naming what is wrong).
    """
    cfg = params.filter
    clips = _read(cfg.clips_table, "clips", "split")
    metrics = _read(cfg.metrics_table, "metrics", "score")
    captions = _read(cfg.captions_table, "captions", "caption")
    if Path(cfg.vtss_table).is_file():
        vtss, note = read_table(cfg.vtss_table), f"not in {cfg.vtss_table}; see the vtss stage's errors table"
    elif missing_vtss_ok:
        log.warning("%s is missing: every clip's VTSS is NaN, so none passes the VTSS rule", cfg.vtss_table)
        vtss, note = None, f"no VTSS table at {cfg.vtss_table}; run the vtss stage"
    else:
        raise FileNotFoundError(f"{cfg.vtss_table}: no VTSS table; run the vtss stage first (koala vtss predict)")
    videos = read_table(cfg.videos_table) if Path(cfg.videos_table).is_file() else None
    joined = join_tables(clips, metrics, captions, vtss, videos, vtss_missing=note)
    result = filter_clips(joined, cfg)
    write_table(result.table, cfg.filtered_table)
    release.write_release_csv(result.release, cfg.release_csv)
    if metrics_path:
        write_json(metrics_path, result.metrics)
    log.info("filter: kept %d of %d clips (%s); %s and %s written", result.metrics["kept"], result.metrics["clips"],
             rule_label(result.threshold), cfg.release_csv, cfg.filtered_table)
    return result

