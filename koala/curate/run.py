"""`koala curate`: split, score, caption, VTSS and filter over your own videos, outside DVC.

A thin driver: ``split_videos``, then the per-clip stages (score, caption, VTSS, posters) from one
decode or through :data:`koala.stage.STAGES` in turn (:func:`koala.curate.fused.per_clip_stages`;
tables pass in memory), then the filter, with every per-item result
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

import dataclasses
import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
import pandas as pd
import pyarrow.parquet as pq

from koala.config import CurateConfig, EngineConfig, Params
from koala.curate import decide
from koala.curate import inputs as I
from koala.curate.clock import StageClock
from koala.curate.fused import per_clip_stages
from koala.curate.memo import CHUNK_FILES, OUTPUTS, chunk_fingerprint, memo_ok, memo_write, run_fingerprint
from koala.curate.outputs import write_outputs
from koala.engine.core import write_errors
from koala.engine.ray_engine import connect
from koala.io.atomic import write_json
from koala.io.tables import ERRORS, empty_frame, read_table, video_ids, write_table

log = logging.getLogger(__name__)


@dataclass
class CurateResult:
    out_dir: Path
    summary: dict
    errors: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)
    up_to_date: bool = False  # nothing had to be done


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

    params = dataclasses.replace(params, curate=dataclasses.replace(params.curate, out_dir=str(out_dir)))  # posters go here
    work = out_dir / "work" / f"chunk-{k:05d}"
    work.mkdir(parents=True, exist_ok=True)
    with clock("split"):
        split = split_videos(paths, method=params.split.method, cfg=params.split,
                             params=_with_engine(params, stage_engine(params, params.curate, out_dir, "split")),
                             video_ids=ids, desc=f"split ({params.split.method})")
        clips = split.clips.reset_index(drop=True)
        durations = split.detections[["video_id", "num_frames", "fps"]] if len(split.detections) else pd.DataFrame(columns=["video_id", "num_frames", "fps"])
    done, note, passes = per_clip_stages(clips, params, lambda name: stage_engine(params, params.curate, out_dir, name), clock)
    write_table(durations.assign(duration_sec=durations["num_frames"] / durations["fps"], decode_passes=passes), work / "videos.parquet")
    table = join_tables(clips, done["score"].table, done["caption"].table, done["vtss"].table if "vtss" in done else None,
                        vtss_missing=note)  # the filter stage's join: its column names
    if "poster" in done:  # a clip whose video the poster stage could not read has none
        table = table.merge(done["poster"].table, on="clip_id", how="left").fillna({"poster": ""})
    else:
        table = table.assign(poster=pd.Series([""] * len(table), dtype=object))
    errors = [e for e in [split.errors] + [r.errors for r in done.values()] if len(e)]
    failed = pd.concat(errors, ignore_index=True) if errors else empty_frame(ERRORS)
    table = decide.stage_failures(table, failed)
    write_table(table, work / "table.parquet")
    write_errors(failed, work / "errors.parquet")
    return work / "table.parquet", work / "errors.parquet"


def _plan(specs: list[str], params: Params) -> list[tuple[list[str], list[str], str]]:
    """The run's chunks: (paths, video ids, fingerprint); paths only, so a long list stays small."""
    seen: dict[str, int] = {}
    plan = []
    for paths in I.chunks(I.iter_inputs(specs, params), params.curate.chunk_videos):
        ids = video_ids(paths, seen)
        plan.append((paths, ids, chunk_fingerprint(paths, ids, params)))
    return plan


def curate(specs: list[str], *, out_dir: str | Path, params: Params, clock: StageClock | None = None,
           fresh: bool = False) -> CurateResult:
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
        fresh: forget what an earlier run into ``out_dir`` computed (its cache, chunks and memo) first.

    Returns:
        A :class:`CurateResult` with the summary numbers.

    Raises:
        koala.curate.inputs.InputError: an input spec names no videos, or the sources table is unusable.
    """
    cfg = params.curate
    out_dir = Path(out_dir)
    if params.filter.sources_table:
        I.check_sources(params.filter.sources_table)
    if fresh:
        for old in ("cache", "work"):
            shutil.rmtree(out_dir / old, ignore_errors=True)
        (out_dir / "run.json").unlink(missing_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    clock, t_start = clock or StageClock(), time.perf_counter()
    specs = list(specs) or list(cfg.inputs)
    plan = _plan(specs, params)
    if not plan:
        raise I.InputError(f"no videos in {specs}")
    fingerprint = run_fingerprint(plan, params)
    # Folders too: deleting a poster or an exported clip changes its folder's mtime, so the run is redone.
    outputs = list(OUTPUTS) + (["report.html", "posters"] if cfg.report else []) + (["clips"] if cfg.export_clips else [])
    if memo_ok(out_dir, outputs, fingerprint, memo="run.json"):
        summary = json.loads((out_dir / "summary.json").read_text())
        log.info("curate: %s is up to date (same inputs, parameters, models and code): nothing to do", out_dir)
        return CurateResult(out_dir=out_dir, summary=summary, errors=read_table(out_dir / "errors.parquet"),
                            timings=summary["seconds"], up_to_date=True)
    ray_started = params.engine.kind == "ray" and connect(params.engine)  # once for the whole run, not per stage
    try:
        parts = []
        for k, (paths, ids, fp) in enumerate(plan):
            work = out_dir / "work" / f"chunk-{k:05d}"
            if memo_ok(work, CHUNK_FILES, fp):
                log.info("curate: chunk %d (%d videos) is up to date", k, len(paths))
            else:
                log.info("curate: chunk %d, %d videos", k, len(paths))
                run_chunk(paths, ids, params=params, out_dir=out_dir, clock=clock, k=k)
                memo_write(work, CHUNK_FILES, fp)
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
            summary = write_outputs(parts, finals, out_dir=out_dir, rule=rule, params=params)
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
    memo_write(out_dir, outputs, fingerprint, memo="run.json")
    return CurateResult(out_dir=out_dir, summary=summary, errors=read_table(out_dir / "errors.parquet"), timings=summary["seconds"])
