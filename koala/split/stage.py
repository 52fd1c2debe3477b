"""The split stage: detect transitions in videos, cut clips, and score every method on the truth.

``split_videos`` is what ``koala split`` runs (any files, one method); ``run_split`` is the DVC
stage (the ``auto`` method's clips over data/videos.parquet, then every method of
``split.eval_methods`` scored on the benchmark). Per-video work goes through koala.engine, so a
killed run resumes and a bad file lands in the errors table while the rest goes on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from koala.config import Params, SplitConfig, build, to_dict
from koala.engine import map_items
from koala.engine.core import ItemOutput, write_errors
from koala.io.atomic import write_json
from koala.io.tables import CLIPS, VIDEOS, failures, read_table, video_ids as unique_ids, write_table
from koala.io.video import probe
from koala.split import clips as C
from koala.split import evaluate as E
from koala.split.registry import get_detector, resolve, unavailable

log = logging.getLogger(__name__)

PAPER_TABLE3 = {  # docs/koala36m-paper.md §3, Table 3: accuracy, recall, precision on 10,000 labelled clips
    "content": {"accuracy": 0.4421, "recall": 0.3096, "precision": 0.5920, "paper_name": "PySceneDetect (HSL)"},
    "content_edges": {"accuracy": 0.4574, "recall": 0.4146, "precision": 0.5854, "paper_name": "PySceneDetect (HSL + edge)"},
    "css": {"accuracy": 0.7741, "recall": 0.9395, "precision": 0.7547, "paper_name": "Ours (CSS + temporal test)"},
}


def _model_digest(cfg: SplitConfig, method: str) -> str:
    """A hash of the learned model file, so retraining invalidates cached detections."""
    if resolve(method) != "learned":
        return ""
    from koala.split.learned import DEFAULT_MODEL

    path = Path(cfg.learned.model_file or DEFAULT_MODEL)
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path.exists() else "missing"


def _item_cfg(cfg: SplitConfig, method: str) -> dict:
    """The part of the split section that ``method`` reads: the cache key of its results.

    So changing one detector's parameters (or adding a method to the evaluation) redoes only
    that detector's videos, not every method's.
    """
    full = to_dict(cfg)
    part = {"max_clip_sec": full["max_clip_sec"], "margin": full["margin"]}
    key = resolve(method)
    if key in ("css", "learned"):
        part[key] = full[key]
    return part


def detect_item(item: dict) -> dict | ItemOutput:
    """Engine work item: one video, one method -> its spans, clips and timing (one row).

    A video cut off mid-stream is split over the frames that are there, with a warning saying
    how much is missing.
    """
    cfg = build(SplitConfig, item["cfg"])
    info = probe(item["path"])
    det = get_detector(item["method"], cfg)
    t0 = time.perf_counter()
    found = det.run(item["path"], info)
    seconds = time.perf_counter() - t0
    n = found.num_frames
    if found.clips is not None:  # the paper's CSS: its own clip rule, exactly
        runs = found.clips
    else:
        runs = C.split_long(C.pieces(found.spans, n, margin=cfg.margin), max_frames=int(round(cfg.max_clip_sec * info.fps)))
    row = {
        "video_id": item["video_id"], "path": item["path"], "method": item["method"], "num_frames": n, "fps": info.fps,
        "width": info.width, "height": info.height, "seconds": seconds,
        "spans": json.dumps([list(map(int, s)) for s in found.spans]),
        "clips": json.dumps([list(map(int, r)) for r in runs]),
    }
    return ItemOutput(row, [("PartialVideo", f"{item['path']}: {info.missing}")]) if info.missing else row


@dataclass
class SplitResult:
    clips: pd.DataFrame  # CLIPS table
    detections: pd.DataFrame  # one row per video: spans and clips as JSON, timing
    errors: pd.DataFrame

    def spans(self) -> dict[str, list[tuple[int, int]]]:
        return {v: [tuple(s) for s in json.loads(j)] for v, j in zip(self.detections["video_id"], self.detections["spans"])}

    def lengths(self, min_clip_sec: float) -> str:
        """The clips' durations in words, and how many the filter's minimum duration will reject."""
        dur = (self.clips["end_sec"] - self.clips["start_sec"]).astype(float)
        if not len(dur):
            return "no clips"
        short = int((dur < min_clip_sec - 1e-6).sum())
        return (f"{dur.min():.2f}-{dur.max():.2f} s, median {dur.median():.2f} s, {short} shorter than {min_clip_sec!r} s "
                "(kept here; the filter rejects them)")


def split_videos(
    paths: list[str], *, method: str, cfg: SplitConfig, params: Params, video_ids: list[str] | None = None, desc: str | None = None
) -> SplitResult:
    """Run ``method`` over ``paths`` through the engine; build the clips table.

    Args:
        paths: video files.
        method: a registry name or ``auto``.
        cfg: the split section.
        params: for the engine section.
        video_ids: ids for the clips table (default: the file stems).

    Returns:
        :class:`SplitResult`; bad files are rows of ``errors``.
    """
    get_detector(method, cfg)  # fail early on an unknown method or a missing model
    video_ids = video_ids or unique_ids(paths)
    section = _item_cfg(cfg, method)
    digest = _model_digest(cfg, method)
    items = [
        {"key": f"{vid}.{method}", "path": str(p), "video_id": vid, "method": method, "cfg": section, "model": digest,
         "mtime": Path(p).stat().st_mtime_ns if Path(p).exists() else 0}
        for vid, p in zip(video_ids, paths)
    ]
    res = map_items(detect_item, items, stage="split", cfg=params.engine, desc=desc or f"split ({method})")
    det = res.table if len(res.table) else pd.DataFrame(columns=["video_id", "path", "method", "num_frames", "fps", "seconds", "spans", "clips"])
    frames = [
        C.clips_table([tuple(r) for r in json.loads(row.clips)], video_id=row.video_id, video=row.path, fps=float(row.fps), method=method)
        for row in det.itertuples()
    ]
    clips = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CLIPS.names)
    return SplitResult(clips=clips, detections=det, errors=res.errors)


def evaluate_method(videos: pd.DataFrame, result: SplitResult, cfg: SplitConfig) -> dict:
    """Boundary P/R/F1, yield, impure- and dirty-clip shares and the paper's clip-level numbers of one method.

    ``videos`` is any videos table with truth (the benchmark, the real corpus, the long edits).
    """
    done = videos[videos["video_id"].isin(result.detections["video_id"])]
    spans = result.spans()
    table = E.boundary_table(done, spans, tolerance=cfg.tolerance)
    out = E.boundary_metrics(table)
    out.update(E.dirty_clip_share(done, result.clips, tolerance=cfg.tolerance))
    purity = E.clip_purity(done, result.clips)
    out.update({"yield": purity["yield"], "impure_share": purity["impure_share"], "impure_clips": purity["impure_clips"]})
    fps = float(done["fps"].median()) if len(done) else 25.0
    out["paper"] = E.paper_metrics(E.window_table(done, spans, window=int(round(cfg.eval_clip_sec * fps))))
    source = done["source"].astype(str) if "source" in done.columns else pd.Series([""] * len(done), index=done.index)
    negatives = done[source.str.startswith("bench_negative")]
    out["negative_detections"] = int(sum(len(spans.get(v, [])) for v in negatives["video_id"]))
    single = done[source == "koala_tsa_sample"]
    out["single_shot_detections"] = int(sum(len(spans.get(v, [])) for v in single["video_id"]))
    det = result.detections
    out["ms_per_frame"] = float(1000.0 * det["seconds"].sum() / max(1, det["num_frames"].sum())) if len(det) else float("nan")
    return out


def evaluate_videos(videos: pd.DataFrame, methods: tuple[str, ...] | list[str], *, cfg: SplitConfig, params: Params) -> dict[str, dict]:
    """Every method of ``methods`` run over any videos table with truth and scored (held-out sets).

    A method that cannot run here (see :func:`unavailable`) gets ``{"missing": reason}``.
    """
    out = {}
    for m in methods:
        why = unavailable(m)
        if why:
            out[m] = {"missing": why}
            continue
        res = split_videos(list(videos["path"]), method=m, cfg=cfg, params=params, video_ids=list(videos["video_id"]), desc=f"split eval ({m})")
        out[m] = evaluate_method(videos, res, cfg)
    return out


SUMMARY_COLUMNS = ("f1", "precision", "recall", "recall_gradual", "yield", "impure_share", "dirty_share", "negative_detections", "ms_per_frame")


def summary_table(per_method: dict[str, dict]) -> pd.DataFrame:
    """One row per method: boundary F1 beside yield and the impure-clip share (the stage report's main table)."""
    rows = {m: {c: r.get(c, float("nan")) for c in SUMMARY_COLUMNS} for m, r in per_method.items() if "missing" not in r}
    return pd.DataFrame(rows).T.reindex(columns=list(SUMMARY_COLUMNS))


@dataclass
class StageResult:
    clips: pd.DataFrame
    errors: pd.DataFrame
    results: dict[str, SplitResult]  # per evaluated method
    metrics: dict


def run_split(params: Params, *, metrics_path: str | Path | None = None, methods: tuple[str, ...] | None = None,
              heldout: bool = True) -> StageResult:
    """The DVC stage: ``auto`` clips over every video, then every evaluation method on the truth.

    With ``heldout``, every method is also scored on the held-out real edit (:mod:`koala.split.heldout`:
    sources no setting was trained or tuned on), under ``metrics["heldout"]``; without the real
    corpus's shots table that entry says why instead.
    """
    cfg = params.split
    videos = read_table(cfg.videos_table, VIDEOS)
    paths, ids = list(videos["path"]), list(videos["video_id"])
    auto = split_videos(paths, method=cfg.method, cfg=cfg, params=params, video_ids=ids, desc=f"split ({cfg.method})")
    write_table(auto.clips, cfg.clips_table, CLIPS)
    write_errors(auto.errors, cfg.errors_table)
    results = {resolve(cfg.method): auto}
    missing = {}
    for m in methods if methods is not None else cfg.eval_methods:
        why = unavailable(m)
        if why:  # a package it needs is missing: its Table 3 row says why
            log.warning("split: %s not evaluated: %s", m, why)
            missing[m] = why
        elif m not in results:
            results[m] = split_videos(paths, method=m, cfg=cfg, params=params, video_ids=ids, desc=f"split ({m})")
    per_method = {m: evaluate_method(videos, r, cfg) for m, r in results.items()}
    best = resolve(cfg.method)
    metrics = {
        "method": cfg.method,
        "detector": best,
        "clips": int(len(auto.clips)),
        "videos": int(len(videos)),
        "errors": int(len(failures(auto.errors))),
        "warnings": int(len(auto.errors) - len(failures(auto.errors))),
        "f1": per_method[best]["f1"],
        "recall_gradual": per_method[best]["recall_gradual"],
        "dirty_share": per_method[best]["dirty_share"],
        "yield": per_method[best]["yield"],
        "impure_share": per_method[best]["impure_share"],
        "negative_detections": per_method[best]["negative_detections"],
        "methods": per_method,
        "missing_methods": missing,
    }
    if heldout:
        from koala.split.heldout import heldout_metrics

        try:
            metrics["heldout"] = heldout_metrics(params, [m for m in results if m not in missing])
        except FileNotFoundError as exc:
            log.warning("split: no held-out evaluation: %s", exc)
            metrics["heldout"] = {"missing": str(exc)}
    if metrics_path:
        write_json(metrics_path, _round(metrics))
    log.info("split: %d clips from %d videos with %s; F1 %.3f; %d errors", len(auto.clips), len(videos), best, metrics["f1"], metrics["errors"])
    return StageResult(clips=auto.clips, errors=auto.errors, results=results, metrics=metrics)


def _round(obj):
    if isinstance(obj, float):
        return None if obj != obj else round(obj, 4)
    if isinstance(obj, dict):
        return {k: _round(v) for k, v in obj.items()}
    return obj


def table3(metrics: dict) -> pd.DataFrame:
    """Table 3 regenerated: our numbers per method beside the paper's rows."""
    rows = []
    for m, r in metrics["methods"].items():
        paper = PAPER_TABLE3.get(m, {})
        rows.append({
            "method": m, "paper_name": paper.get("paper_name", ""),
            "accuracy": r["paper"]["accuracy"], "recall": r["paper"]["recall"], "precision": r["paper"]["precision"],
            "paper_accuracy": paper.get("accuracy"), "paper_recall": paper.get("recall"), "paper_precision": paper.get("precision"),
            "boundary_f1": r["f1"], "boundary_precision": r["precision"], "boundary_recall": r["recall"],
            "recall_gradual": r["recall_gradual"], "yield": r["yield"], "impure_share": r["impure_share"], "dirty_share": r["dirty_share"],
            "negative_detections": r["negative_detections"],
        })
    for m, why in metrics.get("missing_methods", {}).items():
        rows.append({"method": m, "paper_name": f"not run: {why}"})
    return pd.DataFrame(rows)


def recall_by_type(metrics: dict) -> pd.DataFrame:
    """Recall per transition type (rows) and method (columns)."""
    return pd.DataFrame({m: r["recall_by_type"] for m, r in metrics["methods"].items()})
