"""`koala audit`: caption statements that the clip's own measurements contradict.

Koala-36M's point is consistency between conditions and content, yet its demo captions call
cameras "stationary" that pan. This measures each clip with the project's existing code and checks
the statements :mod:`koala.caption.claims` finds in its caption:

- camera moves (phases of pan/tilt/zoom, in the camera's own directions), handheld shake, faces,
  and local (non-camera) motion: :func:`koala.caption.measured.measure_clip` (the measured
  caption backend's analysis: :mod:`koala.motion`, :mod:`koala.caption.camera`, the bundled face
  detector; people through OpenCV's HOG where the build has it);
- ``motion_score`` and the OCR ``text_area``: the score stage's registered metrics
  (:mod:`koala.metrics.movement`, :mod:`koala.metrics.text`) on one decode of the clip.

Each statement gets a verdict: ``contradicted`` (the measurement says otherwise, with the
numbers as evidence), ``consistent``, or ``unverified`` (the measurement cannot tell, e.g. a face
detector that finds nobody does not prove that nobody is there). The rules are asymmetric on
purpose: detectors that miss things may only ever flag a caption for claiming *fewer* than they
found. Thresholds are the ``audit`` section of params.yaml.

Input is a Koala-36M or Panda-70M CSV (our ``koala.csv`` included), read in chunks; each clip is
looked for as a file named by its videoID below ``--videos`` (``koala materialize`` output: the
whole file is the clip), else as its source video found the way ``koala materialize`` finds it,
cut at its timestamps. Measurements are engine items (cached under ``OUT/cache``: a killed run
resumes, a rerun with other thresholds measures nothing again). Output: ``OUT/statements.parquet``
and ``.csv`` (one row per statement), ``OUT/clips.parquet`` (one row per clip, with its numbers),
``OUT/errors.parquet``, ``OUT/summary.json`` and ``OUT/audit.html``.
"""

from __future__ import annotations

import dataclasses
import html
import logging
import math
from collections import namedtuple
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from koala.caption.claims import Claim, extract
from koala.config import AuditConfig, MeasuredCaptionConfig, Params, ScoreConfig, build, to_dict
from koala.engine import code_version, map_items
from koala.engine.core import write_errors
from koala.io.atomic import atomic_path, write_json
from koala.io.tables import ERRORS, empty_frame, write_table

log = logging.getLogger(__name__)

CONTRADICTED, CONSISTENT, UNVERIFIED = "contradicted", "consistent", "unverified"
MOVES = ("pan_left", "pan_right", "tilt_up", "tilt_down", "zoom_in", "zoom_out")
OPPOSITE = {"pan_left": "pan_right", "pan_right": "pan_left", "tilt_up": "tilt_down", "tilt_down": "tilt_up",
            "zoom_in": "zoom_out", "zoom_out": "zoom_in"}
STATEMENT_COLUMNS = ("videoID", "timestamp", "kind", "claim", "words", "sentence", "verdict", "evidence")


def measure(path: str, start: int, end: int, *, measured_cfg: MeasuredCaptionConfig, score_cfg: ScoreConfig) -> dict:
    """The numbers the checks need for frames [start, end) of ``path`` (a flat dict; NaN where not measured).

    Raises:
        VideoError: the video cannot be read or the range holds fewer than two frames.
    """
    from koala.caption import measured
    from koala.caption.people import person_detector
    from koala.io.video import probe, read_all
    from koala.metrics.clip import DecodedClip
    from koala.metrics.scorer import score
    from koala.motion import analysis_shape

    m = measured.measure_clip(path, start=start, end=end, cfg=measured_cfg)
    total = sum(p.seconds for p in m.phases) or float("nan")
    share = {lab: sum(p.seconds for p in m.phases if p.label == lab) / total for lab in ("static", *MOVES)}
    faces = [t for t in m.tracks if t.kind == "face"]
    persons = [t for t in m.tracks if t.kind == "person"]
    info = probe(path)
    end = min(int(end), info.num_frames)
    step = max(1, int(round(info.fps / score_cfg.sample_fps)), math.ceil((end - start) / max(2, score_cfg.max_frames)))
    h, w = analysis_shape(info.height, info.width, min(score_cfg.decode_short_side, info.height, info.width))
    frames = read_all(path, height=h, width=w, start=start, end=end, step=step, info=info)  # (N, h, w, 3)
    clip = DecodedClip(frames=frames, index=np.arange(start, end, step)[: len(frames)], fps=float(info.fps), cfg=score_cfg,
                       source_size=(info.height, info.width), path=path)
    scores = score(clip, ("motion_score", "text_area"))
    return {
        "seconds": float((end - start) / info.fps),
        "camera_phases": "; ".join(f"{p.label} {p.start_sec:.1f}-{p.end_sec:.1f}s" for p in m.phases),
        **{f"share_{k}": float(v) for k, v in share.items()},
        "shake": float(m.shake),
        "shaky": bool(m.shake >= measured_cfg.shake_min),  # handheld shake, by the caption backend's own threshold
        "moving_area": float(m.motion.area) if m.motion else float("nan"),
        "moving_active": float(m.motion.active) if m.motion else float("nan"),
        "faces": len(faces),
        "persons": len(persons) if person_detector(measured_cfg.people_model) is not None else float("nan"),
        "motion_score": scores.values["motion_score"],
        "text_area": scores.values["text_area"],
        "nan_reasons": "; ".join(f"{k}: {v}" for k, v in scores.reasons.items()),
    }


def _moving(meas: dict) -> float:
    return float(sum(meas.get(f"share_{k}", 0.0) for k in MOVES))


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def check(claim: Claim, meas: dict, cfg: AuditConfig) -> tuple[str, str]:
    """(verdict, evidence) for one statement against one clip's measurements (rules in the module docstring)."""
    moving = _moving(meas)
    cam = f"camera moves {_pct(moving)} of the clip ({meas.get('camera_phases', '')})"
    if claim.kind == "camera_static":
        if moving >= cfg.static_max_moving:
            return CONTRADICTED, cam
        return (CONSISTENT, cam) if moving < cfg.still_moving_max else (UNVERIFIED, cam)
    if claim.kind == "camera_move":
        own, opp = meas.get(f"share_{claim.value}", 0.0), meas.get(f"share_{OPPOSITE[claim.value]}", 0.0)
        if own > 0:
            return CONSISTENT, f"{claim.value} over {_pct(own)} of the clip ({meas.get('camera_phases', '')})"
        if opp >= cfg.direction_min:
            return CONTRADICTED, f"the camera {OPPOSITE[claim.value].replace('_', 's ', 1)} over {_pct(opp)} of the clip, never {claim.value}"
        if moving < cfg.still_moving_max and not meas.get("shaky", False):
            return CONTRADICTED, f"no camera move measured ({meas.get('camera_phases', '')}); shake {meas.get('shake', float('nan')):.4f}"
        if moving < cfg.still_moving_max:  # a hand-held camera drifts; the caption may call the drift a move
            return UNVERIFIED, f"no camera move measured, but the camera is handheld (shake {meas.get('shake', float('nan')):.4f})"
        return UNVERIFIED, cam
    if claim.kind == "camera_moving":
        if moving < cfg.still_moving_max and not meas.get("shaky", False):
            return CONTRADICTED, f"no camera move and no shake measured ({meas.get('camera_phases', '')})"
        return (CONSISTENT, cam) if moving > 0 else (UNVERIFIED, cam)
    area, active = meas.get("moving_area", float("nan")), meas.get("moving_active", float("nan"))
    local = f"moving area {area:.4f} of the frame, moving in {_pct(active)} of frame pairs; motion_score {meas.get('motion_score', float('nan')):.3f}"
    if claim.kind == "subject_motion":
        if moving < cfg.still_moving_max and area < cfg.still_area_max and active <= cfg.still_active_max:
            return CONTRADICTED, f"the clip is still: {local}; {cam}"
        return (CONSISTENT, local) if active > cfg.still_active_max or moving > 0 else (UNVERIFIED, local)
    if claim.kind == "scene_still":
        if area >= cfg.busy_area_min and active >= cfg.busy_active_min:
            return CONTRADICTED, local
        return (CONSISTENT, local) if area < cfg.still_area_max else (UNVERIFIED, local)
    text = meas.get("text_area", float("nan"))
    if claim.kind in ("text_present", "text_absent"):
        if not np.isfinite(text):
            return UNVERIFIED, f"no OCR text measure ({meas.get('nan_reasons', '')})"
        ev = f"OCR text covers {100 * text:.2f} % of the frame"
        if claim.kind == "text_present":
            return (CONTRADICTED, ev) if text < cfg.text_none_max else (CONSISTENT, ev)
        return (CONTRADICTED, ev) if text >= cfg.text_some_min else (CONSISTENT if text < cfg.text_none_max else UNVERIFIED, ev)
    faces, persons = meas.get("faces", 0), meas.get("persons", float("nan"))
    found = int(max(faces, persons if np.isfinite(persons) else 0))
    ev = f"{faces} persistent face(s)" + (f", {int(persons)} person(s)" if np.isfinite(persons) else " (no person-detector model: python -m koala.caption.people fetches it)")
    if claim.kind == "people_none":
        return (CONTRADICTED, ev) if found >= 1 else (UNVERIFIED, ev)
    if claim.kind == "people_count":
        n = int(claim.value)
        if found > n:
            return CONTRADICTED, f"{ev}; the caption accounts for {n}"
        return (CONSISTENT, ev) if found == n else (UNVERIFIED, ev)
    return UNVERIFIED, ""


def audit_caption(caption: str, meas: dict, cfg: AuditConfig) -> list[dict]:
    """Every statement of ``caption`` with its verdict and evidence."""
    rows = []
    for c in extract(caption):
        verdict, evidence = check(c, meas, cfg)
        rows.append({"kind": c.kind, "claim": c.value, "words": c.words, "sentence": c.sentence, "verdict": verdict, "evidence": evidence})
    return rows


def measure_item(item: dict) -> dict:
    """Engine item: one clip measured (module level: runs in worker processes)."""
    meas = measure(item["path"], item["start"], item["end"], measured_cfg=build(MeasuredCaptionConfig, item["measured"]),
                   score_cfg=build(ScoreConfig, item["score"]))
    return {"key": item["key"], **meas}


@dataclass
class AuditResult:
    clips: pd.DataFrame
    statements: pd.DataFrame
    errors: pd.DataFrame
    summary: dict

    def describe(self, out_dir: str | Path) -> str:
        s, out = self.summary, Path(out_dir)
        return (f"audited {s['clips']} clips: {s['statements']} checkable statements, {s['contradicted']} contradicted by the "
                f"measurements in {s['clips_with_contradiction']} clips; {s['errors']} errors; wrote {out / 'audit.html'}, "
                f"{out / 'statements.parquet'}")


def locate(r, videos: dict[str, str]) -> tuple[str, int, int | None] | None:
    """(path, start frame, end frame or None = whole file) of a CSV clip row, or None when nothing local has it."""
    from koala.curate.materialize import find_source, frame_range

    own = videos.get(r.videoID)
    if own:  # a materialised clip, named by its videoID
        return own, 0, None
    src = find_source(r.source_keys, videos)
    if src is None:
        return None
    start, end = frame_range(float(r.start_sec), float(r.end_sec), src)
    return src, start, end


TableRow = namedtuple("TableRow", "videoID timestamp caption path start_frame end_frame")


def table_rows(path: str | Path, videos: dict[str, str], chunk_rows: int) -> Iterator[list[TableRow]]:
    """Clips of a curate ``clips.parquet`` (or the filter's ``filtered.parquet``): every clip, kept or not, at its exact frames.

    A clip's video is its ``video`` path, else the file of that name's stem below ``--videos``.

    Raises:
        ValueError: naming the file, when it lacks the clips-and-captions columns.
    """
    import pyarrow.parquet as pq

    from koala.filter.release import format_timestamp

    need = ["video_id", "clip_index", "video", "start_frame", "end_frame", "start_sec", "end_sec", "caption"]
    pf = pq.ParquetFile(path)
    missing = [c for c in need if c not in pf.schema_arrow.names]
    if missing:
        raise ValueError(f"{path}: not a curate clips table with captions (lacks {missing})")
    for batch in pf.iter_batches(batch_size=max(1, chunk_rows), columns=need):
        t = batch.to_pandas()
        out = []
        for r in t.itertuples(index=False):
            video = str(r.video)
            if not Path(video).is_file():
                video = videos.get(Path(video).stem, video)
            out.append(TableRow(f"{r.video_id}_{int(r.clip_index)}", format_timestamp(float(r.start_sec), float(r.end_sec)),
                                "" if r.caption is None else str(r.caption), video, int(r.start_frame), int(r.end_frame)))
        yield out


def run_audit(csv_path: str | Path, *, videos_dir: str | Path, out_dir: str | Path, params: Params,
              limit: int | None = None) -> AuditResult:
    """Audit every clip of ``csv_path`` (see the module docstring); writes the outputs under ``out_dir``.

    ``csv_path`` may also be a curate ``clips.parquet``: every clip of the run (not only the kept
    ones that reach ``koala.csv``) at its exact frames.

    Raises:
        FileNotFoundError: the CSV or the videos folder is missing.
        ValueError: the CSV is neither the Koala-36M nor the Panda-70M layout (nor a clips table).
    """
    from koala.curate.materialize import csv_layout, index_videos, iter_clips, records
    from koala.io.video import probe

    cfg = params.audit
    out_dir = Path(out_dir)
    if not Path(csv_path).is_file():
        raise FileNotFoundError(f"{csv_path}: no such CSV or clips table")
    parquet = Path(csv_path).suffix.lower() in (".parquet", ".pq")
    if not parquet:
        csv_layout(csv_path)
    videos = index_videos(videos_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    score_cfg = dataclasses.replace(params.score, decode_short_side=cfg.decode_short_side, text_frames=cfg.text_frames)
    conf = {"measured": to_dict(params.caption.measured), "score": to_dict(score_cfg),
            "code": code_version("koala.caption", "koala.metrics", "koala.motion", "koala.io")}
    engine = dataclasses.replace(params.engine, cache_dir=str(out_dir / "cache"))
    clip_rows, statements, errors = [], [], []
    seen = 0
    chunks = (table_rows(csv_path, videos, cfg.chunk_rows) if parquet
              else (records(rows) for rows in iter_clips(csv_path, chunk_rows=cfg.chunk_rows, with_caption=True)))
    for rows in chunks:
        items: dict[str, dict] = {}  # one measurement per clip span, shared by rows that name the same span
        wanted: list[tuple[str, str, str, str]] = []  # (videoID, timestamp, caption, item key) in CSV order
        for r in rows:
            if limit is not None and seen >= limit:
                break
            seen += 1
            try:
                where = (r.path, r.start_frame, r.end_frame) if isinstance(r, TableRow) else locate(r, videos)
                if where is not None and not Path(where[0]).is_file():
                    where = None
                if where is not None and where[2] is None:
                    where = (where[0], 0, probe(where[0]).num_frames)
            except Exception as exc:  # noqa: BLE001 - a bad source is this row's error, the batch goes on
                errors.append({"stage": "audit", "key": r.videoID, "path": "", "error_type": type(exc).__name__, "message": str(exc)})
                continue
            if where is None:
                looked = r.path if isinstance(r, TableRow) else r.source_keys.replace(chr(10), ", ")
                errors.append({"stage": "audit", "key": r.videoID, "path": "", "error_type": "MissingVideo",
                               "message": f"no local clip or source video (looked for {looked} under {videos_dir})"})
                continue
            path, start, end = where
            key = f"{Path(path).name}@{start}-{end}"
            if key not in items:
                st = Path(path).stat()
                items[key] = {"key": key, "path": path, "start": int(start), "end": int(end), "file": [st.st_size, st.st_mtime_ns], **conf}
            wanted.append((r.videoID, r.timestamp, r.caption, key))
        if items:
            res = map_items(measure_item, list(items.values()), stage="audit", cfg=engine, cache_dir=out_dir / "cache", desc="audit clips")
            failed = {str(e["key"]): e for e in res.errors.to_dict("records")}
            got = {m["key"]: m for m in res.table.to_dict("records")} if len(res.table) else {}
            for vid, ts, caption, key in wanted:
                if key in failed:
                    errors.append({**failed[key], "key": vid})
                    continue
                meas = got[key]
                found = audit_caption(caption, meas, cfg)
                statements += [{"videoID": vid, "timestamp": ts, **s} for s in found]
                clip_rows.append({"videoID": vid, "timestamp": ts, "path": meas.get("path", items[key]["path"]),
                                  "start_frame": items[key]["start"], "end_frame": items[key]["end"],
                                  **{k: v for k, v in meas.items() if k != "key"},
                                  "statements": len(found), "contradicted": sum(s["verdict"] == CONTRADICTED for s in found),
                                  "caption": caption})
        if limit is not None and seen >= limit:
            break
    clips = pd.DataFrame(clip_rows)
    table = pd.DataFrame(statements, columns=list(STATEMENT_COLUMNS))
    errs = pd.DataFrame(errors, columns=ERRORS.names) if errors else empty_frame(ERRORS)
    summary = summarise(clips, table, errs)
    write_table(clips if len(clips) else pd.DataFrame({"videoID": pd.Series(dtype=str)}), out_dir / "clips.parquet")
    write_table(table, out_dir / "statements.parquet")
    with atomic_path(out_dir / "statements.csv") as tmp:
        table.to_csv(tmp, index=False)
    write_errors(errs, out_dir / "errors.parquet")
    write_json(out_dir / "summary.json", summary)
    write_html(out_dir / "audit.html", clips=clips, statements=table, summary=summary, source=str(csv_path))
    return AuditResult(clips=clips, statements=table, errors=errs, summary=summary)


def summarise(clips: pd.DataFrame, statements: pd.DataFrame, errors: pd.DataFrame) -> dict:
    """Counts: clips, statements and verdicts per kind, clips with a contradiction, errors."""
    by_kind = {}
    for kind, g in statements.groupby("kind") if len(statements) else []:
        by_kind[str(kind)] = {v: int((g["verdict"] == v).sum()) for v in (CONTRADICTED, CONSISTENT, UNVERIFIED)}
    return {
        "clips": int(len(clips)),
        "statements": int(len(statements)),
        "contradicted": int((statements["verdict"] == CONTRADICTED).sum()) if len(statements) else 0,
        "clips_with_contradiction": int((clips["contradicted"] > 0).sum()) if len(clips) else 0,
        "by_kind": by_kind,
        "errors": int(len(errors)),
    }


def _mark(sentence: str, words: str) -> str:
    i = sentence.find(words)
    if i < 0:
        return html.escape(sentence)
    return html.escape(sentence[:i]) + "<mark>" + html.escape(words) + "</mark>" + html.escape(sentence[i + len(words):])


def write_html(path: Path, *, clips: pd.DataFrame, statements: pd.DataFrame, summary: dict, source: str) -> Path:
    """A one-page report: counts per kind, then every contradicted statement with its evidence."""
    kinds = "".join(f"<tr><td>{html.escape(k)}</td><td>{v[CONTRADICTED]}</td><td>{v[CONSISTENT]}</td><td>{v[UNVERIFIED]}</td></tr>"
                    for k, v in sorted(summary["by_kind"].items()))
    bad = statements[statements["verdict"] == CONTRADICTED] if len(statements) else statements
    rows = "".join(f"<tr><td>{html.escape(str(r.videoID))}</td><td>{html.escape(str(r.timestamp))}</td><td>{html.escape(r.kind)}</td>"
                   f"<td>{_mark(r.sentence, r.words)}</td><td>{html.escape(r.evidence)}</td></tr>" for r in bad.itertuples())
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>koala audit</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:80em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top}}
mark{{background:#fbb}}</style></head><body>
<h1>Caption audit</h1>
<p>{html.escape(source)}: {summary['clips']} clips measured, {summary['statements']} checkable statements, {summary['contradicted']} contradicted
by the measurements ({summary['clips_with_contradiction']} clips); {summary['errors']} clips could not be measured (errors.parquet).
Statement rules: <code>koala/caption/claims.py</code>; verdict rules and thresholds: <code>koala/caption/audit.py</code>, params <code>audit</code>.</p>
<h2>Statements per kind</h2><table><tr><th>kind</th><th>contradicted</th><th>consistent</th><th>unverified</th></tr>{kinds}</table>
<h2>Contradicted statements</h2><table><tr><th>videoID</th><th>timestamp</th><th>kind</th><th>sentence</th><th>measured</th></tr>{rows}</table>
</body></html>"""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(page)
    return path
