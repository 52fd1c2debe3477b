"""The end of a `koala curate` run: ``clips.parquet``, ``koala.csv``, ``errors.parquet`` and the summary
from the chunk tables (one chunk in memory at a time), and the summary as the CLI prints it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from koala.config import Params
from koala.curate import decide
from koala.engine.core import write_errors
from koala.io.atomic import atomic_path
from koala.io.tables import ERRORS, empty_frame, failures, read_table


def write_outputs(parts, finals: list[Path], *, out_dir: Path, rule, params: Params) -> dict:
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
