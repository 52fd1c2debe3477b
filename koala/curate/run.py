"""`koala curate`: split, score, caption, VTSS and filter over your own videos, outside DVC.

A thin driver: ``split_videos``, then the per-clip stages through one seam (:data:`koala.stage.STAGES`:
score, caption, VTSS, posters; tables pass in memory), then the filter, with every per-item result
cached under ``OUT/cache`` by :mod:`koala.engine`: a killed run started again computes only what
is missing and, from the same cached rows, writes a byte-identical ``koala.csv``; a finished
run started again is a no-op.

Inputs are taken in chunks of ``curate.chunk_videos`` videos; each chunk goes through every stage
and leaves one table under ``OUT/work/``; the final tables are then streamed chunk by chunk. So the
driver holds one chunk's clips at a time, however long the input list (the VTSS threshold needs
only the VTSS column of every chunk).

``OUT`` holds:

- ``koala.csv``: the kept clips in the Koala-36M release schema;
- ``clips.parquet``: every clip with every column (sub-metrics, caption fields, VTSS, kept, reason);
- ``errors.parquet``: one row per input or item that failed, with the stage and the reason;
- ``summary.json``, ``report.html`` (with ``posters/``), and ``clips/`` when clip export is on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from koala.config import CurateConfig, EngineConfig, Params, to_dict
from koala.curate import decide
from koala.curate import inputs as I
from koala.curate.fused import can_fuse, run_fused
from koala.engine import code_version, item_fingerprint
from koala.engine.core import write_errors
from koala.io.atomic import atomic_path, write_json
from koala.io.tables import ERRORS, empty_frame, failures, read_table, write_table
from koala.vtss.packaged import trained_model

log = logging.getLogger(__name__)

STAGES = ("split", "per_clip", "score", "caption", "vtss", "poster", "filter", "export", "write", "report")


@dataclass
class CurateResult:
    out_dir: Path
    summary: dict
    errors: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)
    up_to_date: bool = False  # nothing had to be done


def _video_ids(paths: Iterable[str], seen: dict[str, int]) -> list[str]:
    """File stems, unique over the whole run (``stem~2`` for the second file of a stem)."""
    ids = []
    for p in paths:
        stem = Path(p).stem
        seen[stem] = seen.get(stem, 0) + 1
        ids.append(stem if seen[stem] == 1 else f"{stem}~{seen[stem]}")
    return ids


def cpu_seconds() -> float:
    """CPU time of this process (all threads) plus its finished children (the engine's worker pools)."""
    import resource

    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + ch.ru_utime + ch.ru_stime


class StageClock:
    """Wall and CPU seconds spent per stage in this run, summed over chunks.

    CPU time counts this process and the worker pools the stage has shut down; Ray workers live
    in other processes, so on the Ray engine only wall time is meaningful.
    """

    def __init__(self) -> None:
        self.seconds = {s: 0.0 for s in STAGES}
        self.cpu = {s: 0.0 for s in STAGES}

    @contextlib.contextmanager
    def __call__(self, stage: str):
        t0, c0 = time.perf_counter(), cpu_seconds()
        self.enter(stage)
        try:
            yield
        finally:
            self.seconds[stage] += time.perf_counter() - t0
            self.cpu[stage] += cpu_seconds() - c0
            self.exit(stage)

    def enter(self, stage: str) -> None:
        """Hook for measuring tools (the throughput benchmark samples memory per stage)."""

    def exit(self, stage: str) -> None:
        """Hook for measuring tools."""


def stage_engine(params: Params, cfg: CurateConfig, out_dir: Path, stage: str) -> EngineConfig:
    """The engine section for one stage: the run's cache folder and, on Ray, the stage's CPUs per task."""
    cpus = getattr(cfg.ray, f"{stage}_cpus", params.engine.ray_num_cpus)
    gpus = getattr(cfg.ray, f"{stage}_gpus", params.engine.ray_num_gpus)
    actors = getattr(cfg.ray, f"{stage}_actors", params.engine.ray_actors)
    return dataclasses.replace(params.engine, cache_dir=str(out_dir / "cache"), ray_num_cpus=float(cpus),
                               ray_num_gpus=float(gpus), ray_actors=int(actors))


def _with_engine(params: Params, engine: EngineConfig) -> Params:
    return dataclasses.replace(params, engine=engine)


def run_chunk(paths: list[str], ids: list[str], *, params: Params, out_dir: Path, clock: StageClock, k: int) -> tuple[Path, Path]:
    """Every stage over one chunk of videos; returns its table and errors paths under ``OUT/work``."""
    from koala.filter.stage import join_tables
    from koala.split.stage import split_videos
    from koala.stage import STAGES, StageResult

    params = dataclasses.replace(params, curate=dataclasses.replace(params.curate, out_dir=str(out_dir)))  # posters go here
    cfg = params.curate
    work = out_dir / "work" / f"chunk-{k:05d}"
    work.mkdir(parents=True, exist_ok=True)
    errors: list[pd.DataFrame] = []

    with clock("split"):
        split = split_videos(paths, method=params.split.method, cfg=params.split,
                             params=_with_engine(params, stage_engine(params, cfg, out_dir, "split")),
                             video_ids=ids, desc=f"split ({params.split.method})")
        clips = split.clips.reset_index(drop=True)
        errors.append(split.errors)
        durations = split.detections[["video_id", "num_frames", "fps"]] if len(split.detections) else pd.DataFrame(columns=["video_id", "num_frames", "fps"])

    def run(name: str, engine_name: str, table: pd.DataFrame) -> StageResult:
        res = STAGES[name](table, params, stage_engine(params, cfg, out_dir, engine_name))
        errors.append(res.errors)
        return res

    fuse = cfg.fused_decode and can_fuse(params.caption) and len(clips)
    if fuse:
        with clock("per_clip"):  # one decode per run of clips for score, caption, VTSS and posters
            model, note = decide.vtss_model(params)
            done = run_fused(clips, params, stage_engine(params, cfg, out_dir, "vtss" if model else "score"),
                             vtss_model=model, posters_dir=out_dir if cfg.report else None)
            errors.extend(r.errors for r in done.values())
            metrics, captions = done["score"].table, done["caption"].table
            vtss = done["vtss"].table if "vtss" in done else None
            note = note or decide.VTSS_FAILED
            posters = done["poster"].table if "poster" in done else None
    else:
        with clock("score"):
            metrics = run("score", "score", clips).table
        with clock("caption"):  # the score stage's text and letterbox measures travel as columns of the clips table
            extra = [c for c in ("text_area", "border_fraction") if c in metrics.columns]
            captions = run("caption", "caption", clips.merge(metrics[["clip_id"] + extra], on="clip_id", how="left")
                           if extra and len(clips) else clips).table
        with clock("vtss"):
            vtss, note, vtss_errors = decide.vtss_scores(clips, params=params, engine=stage_engine(params, cfg, out_dir, "vtss"))
            errors.append(vtss_errors)
        with clock("poster"):
            posters = run("posters", "poster", clips).table if cfg.report and len(clips) else None

    # Decodes of each video: split's, then one for the per-clip stages together, or one per stage that ran.
    passes = 1 + (1 if fuse else 2 + (vtss is not None) + (posters is not None))
    write_table(durations.assign(duration_sec=durations["num_frames"] / durations["fps"], decode_passes=passes), work / "videos.parquet")
    table = join_tables(clips, metrics, captions, vtss, vtss_missing=note)  # the filter stage's join: its column names
    if posters is not None:  # a clip whose video the poster stage could not read has none
        table = table.merge(posters, on="clip_id", how="left").fillna({"poster": ""})
    else:
        table = table.assign(poster=pd.Series([""] * len(table), dtype=object))

    failed = pd.concat([e for e in errors if len(e)], ignore_index=True) if any(len(e) for e in errors) else empty_frame(ERRORS)
    table = decide.stage_failures(table, failed)
    write_table(table, work / "table.parquet")
    write_errors(failed, work / "errors.parquet")
    return work / "table.parquet", work / "errors.parquet"


CODE = ("koala.curate", "koala.split", "koala.metrics", "koala.caption", "koala.vtss", "koala.filter", "koala.motion",
        "koala.io", "koala.engine")
OUTPUTS = ("koala.csv", "clips.parquet", "errors.parquet", "summary.json")
CHUNK_FILES = ("table.parquet", "errors.parquet", "videos.parquet")


def _stat(path: str | Path) -> list[int] | None:
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def chunk_fingerprint(paths: list[str], ids: list[str], params: Params) -> str:
    """What a chunk's table depends on: its files (size, mtime), the stage sections, the models and the code."""
    import koala.split

    sections = {k: to_dict(getattr(params, k)) for k in ("split", "score", "caption", "vtss")}
    sections["curate"] = {k: getattr(params.curate, k) for k in ("vtss_checkpoint", "report", "poster_height")}
    models = [str(trained_model(params.vtss) or params.vtss.model_path), decide.vtss_checkpoint(params) or "",
              params.split.learned.model_file]
    models += sorted(str(p) for p in (Path(koala.split.__file__).parent / "models").glob("*"))
    return item_fingerprint({"videos": [[p, i, _stat(p)] for p, i in zip(paths, ids)], "params": sections,
                             "models": [[m, _stat(m) if m else None] for m in models], "code": code_version(*CODE)})


def _memo_ok(folder: Path, names: Iterable[str], fingerprint: str, memo: str = "done.json") -> bool:
    """True when ``folder/memo`` records ``fingerprint`` and every named file is as it was left."""
    path = folder / memo
    if not path.is_file():
        return False
    saved = json.loads(path.read_text())
    return saved.get("fingerprint") == fingerprint and all(_stat(folder / n) == saved.get("files", {}).get(n) for n in names)


def _memo_write(folder: Path, names: Iterable[str], fingerprint: str, memo: str = "done.json", **extra) -> None:
    write_json(folder / memo, {"fingerprint": fingerprint, "files": {n: _stat(folder / n) for n in names}, **extra})


def _plan(specs: list[str], params: Params) -> list[tuple[list[str], list[str], str]]:
    """The run's chunks: (paths, video ids, fingerprint); paths only, so a long list stays small."""
    seen: dict[str, int] = {}
    plan = []
    for paths in I.chunks(I.iter_inputs(specs, params), params.curate.chunk_videos):
        ids = _video_ids(paths, seen)
        plan.append((paths, ids, chunk_fingerprint(paths, ids, params)))
    return plan


def run_fingerprint(plan, params: Params) -> str:
    cur = {k: v for k, v in to_dict(params.curate).items() if k not in ("inputs", "out_dir", "ray")}
    sources = params.filter.sources_table  # koala.csv's URLs depend on its content, not only on its name
    return item_fingerprint({"chunks": [fp for _, _, fp in plan], "filter": to_dict(params.filter), "curate": cur,
                             "sources": _stat(sources) if sources else None})


def curate(specs: list[str], *, out_dir: str | Path, params: Params, clock: StageClock | None = None) -> CurateResult:
    """Curate the videos that ``specs`` name into ``out_dir`` (see the module docstring).

    A run whose inputs (paths, sizes, modification times), parameters, models and code match the
    last finished run into ``out_dir`` is a no-op; a chunk that matches is not run again; and
    inside a chunk, the engine reuses every item already computed (a killed run resumes).

    Args:
        specs: input specs (``samples``, folders, globs, list files, video paths); empty means
            ``curate.inputs``.
        out_dir: the run's folder.
        params: the whole configuration (curate, split, score, caption, vtss, filter, engine).
        clock: collects time per stage (a measuring subclass, for the benchmark); default a new one.

    Returns:
        A :class:`CurateResult` with the summary numbers.

    Raises:
        koala.curate.inputs.InputError: an input spec names no videos.
    """
    cfg = params.curate
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    clock, t_start = clock or StageClock(), time.perf_counter()
    specs = list(specs) or list(cfg.inputs)
    plan = _plan(specs, params)
    if not plan:
        raise I.InputError(f"no videos in {specs}")
    fingerprint = run_fingerprint(plan, params)
    # Folders too: deleting a poster or an exported clip changes its folder's mtime, so the run is redone.
    outputs = list(OUTPUTS) + (["report.html", "posters"] if cfg.report else []) + (["clips"] if cfg.export_clips else [])
    if _memo_ok(out_dir, outputs, fingerprint, memo="run.json"):
        summary = json.loads((out_dir / "summary.json").read_text())
        log.info("curate: %s is up to date (same inputs, parameters, models and code): nothing to do", out_dir)
        return CurateResult(out_dir=out_dir, summary=summary, errors=read_table(out_dir / "errors.parquet"),
                            timings=summary["seconds"], up_to_date=True)
    ray_started = _connect_ray(params)
    try:
        parts = []
        for k, (paths, ids, fp) in enumerate(plan):
            work = out_dir / "work" / f"chunk-{k:05d}"
            if _memo_ok(work, CHUNK_FILES, fp):
                log.info("curate: chunk %d (%d videos) is up to date", k, len(paths))
            else:
                log.info("curate: chunk %d, %d videos", k, len(paths))
                run_chunk(paths, ids, params=params, out_dir=out_dir, clock=clock, k=k)
                _memo_write(work, CHUNK_FILES, fp)
            parts.append((work / "table.parquet", work / "errors.parquet"))
        with clock("filter"):
            rule = decide.choose((pq.read_table(p, columns=["vtss"]).column("vtss").to_numpy(zero_copy_only=False) for p, _ in parts), params)
        finals = []
        for table_path, _ in parts:
            table = read_table(table_path)
            with clock("filter"):
                table = decide.apply(table, rule, params)
            with clock("export"):
                if cfg.export_clips:
                    from koala.curate.export import export_kept

                    exported, export_errors = export_kept(table, out_dir=out_dir, cfg=cfg, engine=stage_engine(params, cfg, out_dir, "export"))
                    table = table.merge(exported, on="clip_id", how="left")
                    write_errors(export_errors, table_path.with_name("export_errors.parquet"))
            write_table(table, table_path.with_name("final.parquet"))
            finals.append(table_path.with_name("final.parquet"))
        with clock("write"):
            summary = _write_outputs(parts, finals, out_dir=out_dir, rule=rule, params=params)
    finally:
        if ray_started:
            import ray

            ray.shutdown()
    summary["seconds"] = {s: round(v, 3) for s, v in clock.seconds.items()}
    if cfg.report:
        from koala.curate.report import write_report

        with clock("report"):
            write_report(out_dir, summary=summary, rule=rule, params=params)
        summary["seconds"]["report"] = round(clock.seconds["report"], 3)
    summary["seconds"]["total"] = round(time.perf_counter() - t_start, 3)
    summary["cpu_seconds"] = {s: round(v, 3) for s, v in clock.cpu.items()}
    write_json(out_dir / "summary.json", summary)
    _memo_write(out_dir, outputs, fingerprint, memo="run.json")
    return CurateResult(out_dir=out_dir, summary=summary, errors=read_table(out_dir / "errors.parquet"), timings=summary["seconds"])


def _write_outputs(parts, finals: list[Path], *, out_dir: Path, rule, params: Params) -> dict:
    """clips.parquet, koala.csv and errors.parquet from the chunk tables, one chunk in memory at a time."""
    schema = pa.unify_schemas([pq.read_schema(p) for p in finals], promote_options="permissive")
    counts = {"clips": 0, "kept": 0, "clip_sec": 0.0, "kept_sec": 0.0, "csv": 0, "too_short": 0}
    with atomic_path(out_dir / "clips.parquet") as tmp_pq, atomic_path(out_dir / "koala.csv") as tmp_csv:
        with pq.ParquetWriter(tmp_pq, schema) as writer, open(tmp_csv, "w", newline="") as csv:
            for k, path in enumerate(finals):
                t = read_table(path)
                writer.write_table(pa.Table.from_pandas(t, preserve_index=False).select(schema.names).cast(schema)
                                   if len(t) else schema.empty_table())
                rows = decide.release_rows(t, params)
                rows.to_csv(csv, index=False, header=k == 0)
                span = (t["end_sec"] - t["start_sec"]) if len(t) else pd.Series(dtype=float)
                kept = t["kept"].astype(bool) if len(t) else pd.Series(dtype=bool)
                counts["clips"] += len(t)
                counts["kept"] += int(kept.sum())
                counts["too_short"] += int(t["too_short"].astype(bool).sum()) if "too_short" in t.columns else 0
                counts["clip_sec"] += float(span.sum())
                counts["kept_sec"] += float(span[kept].sum())
                counts["csv"] += len(rows)
    errs = [read_table(e) for _, e in parts]
    errs += [read_table(p) for p in sorted((out_dir / "work").glob("chunk-*/export_errors.parquet"))]
    errors = pd.concat([e for e in errs if len(e)], ignore_index=True) if any(len(e) for e in errs) else empty_frame(ERRORS)
    write_errors(errors, out_dir / "errors.parquet")
    videos = pd.concat([read_table(p.with_name("videos.parquet")) for p, _ in parts], ignore_index=True)
    n_clips, n_kept = counts["clips"], counts["kept"]
    models = sorted({str(m) for p in finals if "vtss_model" in pq.read_schema(p).names
                     for m in pq.read_table(p, columns=["vtss_model"]).column("vtss_model").to_pylist() if m})
    return {
        "videos": int(len(videos) + int((failures(errors)["stage"] == "split").sum())),
        "videos_ok": int(len(videos)),
        "decode_passes_per_video": int(videos["decode_passes"].max()) if len(videos) and "decode_passes" in videos else 1,
        "source_hours": round(float(videos["duration_sec"].sum()) / 3600.0, 6) if len(videos) else 0.0,
        "clips": n_clips,
        "clip_hours": round(counts["clip_sec"] / 3600.0, 6),
        "kept": n_kept,
        "kept_share": round(n_kept / n_clips, 4) if n_clips else None,
        "kept_hours": round(counts["kept_sec"] / 3600.0, 6),
        "too_short": counts["too_short"],  # clips under filter.min_clip_sec (not kept, reason "shorter than ... s")
        "min_clip_sec": float(params.filter.min_clip_sec),
        "koala_csv_rows": counts["csv"],
        "errors": int(len(failures(errors))),
        "errors_by_stage": {str(k): int(v) for k, v in failures(errors)["stage"].value_counts().sort_index().items()},
        "warnings": int(len(errors) - len(failures(errors))),
        "threshold": rule.as_dict(),
        "vtss_model": ", ".join(models) or "none",
        "engine": params.engine.kind,
    }


def _connect_ray(params: Params) -> bool:
    """Start or join Ray once for the whole run (the engine would otherwise start it per stage)."""
    if params.engine.kind != "ray":
        return False
    import os

    import ray

    if ray.is_initialized():
        return False
    address = params.engine.ray_address or os.environ.get("RAY_ADDRESS") or None
    if address:
        log.info("curate: joining the Ray cluster at %s", address)
        ray.init(address=address, log_to_driver=False)
    else:
        log.info("curate: starting a private Ray instance with %d CPUs", max(1, params.engine.workers))
        ray.init(num_cpus=max(1, params.engine.workers), include_dashboard=False, log_to_driver=False)
    return True


def format_summary(summary: dict) -> str:
    """The end-of-run summary as a few aligned lines."""
    sec = summary.get("seconds", {})
    lines = [
        f"videos   {summary['videos']} ({summary['videos_ok']} readable, {summary['source_hours'] * 3600:.1f} s of video)",
        f"clips    {summary['clips']} ({summary['clip_hours'] * 3600:.1f} s = {summary['clip_hours']:.4f} h)",
        f"kept     {summary['kept']} ({(summary['kept_share'] or 0) * 100:.1f} %, {summary['kept_hours']:.4f} h); "
        f"VTSS threshold {summary['threshold'].get('value')} ({summary['threshold'].get('method')}"
        + (f": {summary['threshold']['reason']}" if summary['threshold'].get('reason') else "") + f"); VTSS model: {summary['vtss_model']}",
        f"short    {summary.get('too_short', 0)} clips shorter than {summary.get('min_clip_sec')} s (not kept)",
        f"errors   {summary['errors']} " + (json.dumps(summary["errors_by_stage"]) if summary["errors"] else "")
        + (f"; {summary['warnings']} warnings (videos used in part)" if summary.get("warnings") else ""),
        "seconds  " + "  ".join(f"{s} {v:.1f}" for s, v in sec.items()),
    ]
    return "\n".join(lines)
