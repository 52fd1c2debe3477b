"""The caption stage: clips table in, captions table (six fields + one paragraph) out.

Per-clip work goes through :func:`koala.engine.map_items`, so a killed run resumes and a bad video
lands in the errors table while the rest goes on. The measured backend runs items of up to
``measured.clips_per_item`` clips of one video on the process pool, each read in one decode pass
(:mod:`koala.io.clip_reader`, which seeks to the item's first frame), so the cost grows with the
video, not with clips x video; a clip that fails is its own errors row. The VLM backend runs items
of ``vlm.clips_per_item`` clips in this process, so the model loads once and its batches span clips.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from koala.caption import fields as F
from koala.caption import measured, vlm
from koala.config import CaptionConfig, EngineConfig, MeasuredCaptionConfig, Params, VLMCaptionConfig, build, to_dict
from koala.engine import code_version, item_fingerprint, map_items
from koala.io.tables import CAPTION_FIELDS, CAPTIONS, ERRORS, empty_frame, read_table
from koala.io.clip_reader import Reading, read_alone
from koala.io.video import cached_probe
from koala.stage import SCORED, StageResult

log = logging.getLogger(__name__)

BACKENDS = ("measured", "vlm")


@dataclass
class CaptionResult:
    table: pd.DataFrame
    errors: pd.DataFrame
    metrics: dict


def clips_frame(table: pd.DataFrame) -> pd.DataFrame:
    """Clip rows (clip_id, path, start, end) from a clips table, or whole videos from a videos table.

    Raises:
        ValueError: the table has neither the clips columns nor the videos columns.
    """
    if {"clip_id", "start_frame", "end_frame"} <= set(table.columns):
        path_col = "video" if "video" in table.columns else "path" if "path" in table.columns else None
        if path_col is None:
            raise ValueError("the clips table has no `video` column naming each clip's source file")
        return pd.DataFrame({"clip_id": table["clip_id"].astype(str), "path": table[path_col].astype(str),
                             "start": table["start_frame"].astype(int), "end": table["end_frame"].astype(int)})
    if {"video_id", "path", "num_frames"} <= set(table.columns):  # a videos table: one clip per video
        return pd.DataFrame({"clip_id": table["video_id"].astype(str), "path": table["path"].astype(str),
                             "start": 0, "end": table["num_frames"].astype(int)})
    raise ValueError(f"not a clips table (clip_id, video, start_frame, end_frame) nor a videos table; columns: {list(table.columns)}")


def load_clips(path: str | Path) -> pd.DataFrame:
    """A clips (or videos) table as clip rows: clip_id, path, start, end."""
    return clips_frame(read_table(path))


def measured_item(item: dict) -> list[dict]:
    """Clips of one video through the measured backend, from one decode pass (module level: it runs
    in worker processes). A clip that fails carries its reason in ``error`` and ``error_type``."""
    # a long video's items (runs of its clips) share one probe per process
    return read_alone(item["path"], lambda info: caption_reading(item, info), info=cached_probe(item["path"]))


def caption_reading(item: dict, info, **kw) -> Reading:
    """The measured caption stage's share of a pass over the item's video; ``result()`` gives
    :func:`measured_item`'s rows. ``kw``: as :func:`koala.caption.measured.measure_reading`."""
    cfg = build(MeasuredCaptionConfig, item["measured"])
    reading = measured.measure_reading(item["path"], item["clips"], cfg, info, **kw)

    def result() -> list[dict]:
        rows = []
        for clip_id, m in reading.result():
            if isinstance(m, Exception):
                rows.append({"clip_id": clip_id, **{f: "" for f in CAPTION_FIELDS}, "caption": "", "backend": measured.BACKEND,
                             "model": "koala-measured", "error": str(m) or type(m).__name__, "error_type": type(m).__name__})
                continue
            rows.append({"clip_id": clip_id, **m.fields, "caption": F.merge_template(m.fields, tuple(item["order"])),
                         "backend": measured.BACKEND, "model": "koala-measured", "error": "", "error_type": ""})
        order = {c["clip_id"]: k for k, c in enumerate(item["clips"])}
        return sorted(rows, key=lambda r: order[r["clip_id"]])

    return Reading(reading.requests, reading.take, result)


def vlm_item(item: dict) -> list[dict]:
    """A group of clips through the VLM backend; a clip that fails carries its reason in ``error``."""
    cap = vlm.captioner(build(VLMCaptionConfig, item["vlm"]))
    rows = vlm.caption_clips(item["clips"], item["prompts"], cap)
    for r in rows:
        r.update(caption=F.merge_template(r, tuple(item["order"])) if not r["error"] else "", backend=vlm.BACKEND,
                 model=cap.name, path=next(c["path"] for c in item["clips"] if c["clip_id"] == r["clip_id"]))
    return rows


def build_items(clips: pd.DataFrame, cfg: CaptionConfig, backend: str, metrics: dict[str, dict]) -> list[dict]:
    """Work items; each carries every setting its result depends on, so a changed one is new work."""
    order = list(F.check_order(cfg.order))
    if backend == "measured":
        m = to_dict(cfg.measured)
        code = code_version("koala.caption", "koala.motion", "koala.camera_path", "koala.metrics.text", "koala.metrics.layout", "koala.io")
        items = []
        n = max(1, cfg.measured.clips_per_item)
        for path, group in clips.groupby("path", sort=False):  # one decode pass per item; the clips in start order
            recs = [{"clip_id": r.clip_id, "start": int(r.start), "end": int(r.end), "metrics": metrics.get(r.clip_id, {})}
                    for r in group.sort_values(["start", "clip_id"]).itertuples()]
            for i in range(0, len(recs), n):
                part = recs[i : i + n]
                items.append({"key": f"{part[0]['clip_id']}+{len(part)}-{item_fingerprint({'c': part})}", "path": path,
                              "clips": part, "measured": m, "order": order, "code": code})
        return items
    prompts = F.load_prompts(cfg.prompts_file).fields
    v = to_dict(cfg.vlm)
    recs = [{"clip_id": r.clip_id, "path": r.path, "start": int(r.start), "end": int(r.end)} for r in clips.itertuples()]
    n = max(1, cfg.vlm.clips_per_item)
    items = []
    for i in range(0, len(recs), n):
        group = recs[i : i + n]
        items.append({"key": f"{group[0]['clip_id']}+{len(group)}-{item_fingerprint({'c': group})}", "clips": group,
                      "vlm": v, "prompts": prompts, "order": order, "code": code_version("koala.caption", "koala.io")})
    return items


def per_clip_errors(errors: pd.DataFrame, items: list[dict]) -> pd.DataFrame:
    """An item that failed as a whole (an unreadable video) as one errors row per clip it held."""
    if not len(errors):
        return errors
    clips_of = {it["key"]: [c["clip_id"] for c in it["clips"]] for it in items}
    rows = [{**e, "key": cid} for e in errors.to_dict("records") for cid in clips_of.get(e["key"], [e["key"]])]
    return pd.DataFrame(rows, columns=ERRORS.names)


def caption_clips(clips: pd.DataFrame, cfg: CaptionConfig, engine: EngineConfig, *, backend: str | None = None,
                  metrics: dict[str, dict] | None = None, cache_dir: str | Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Caption every clip; returns (captions table, errors table).

    Raises:
        ValueError: unknown backend or merge.
        koala.caption.vlm.VLMUnavailable: the VLM (backend or rewrite merge) has no local weights.
    """
    backend = backend or cfg.backend
    if backend not in BACKENDS:
        raise ValueError(f"unknown caption backend {backend!r}; choose one of {BACKENDS}")
    if cfg.merge not in ("template", "rewrite"):
        raise ValueError(f"caption.merge must be 'template' or 'rewrite', not {cfg.merge!r}")
    if backend == "vlm" or cfg.merge == "rewrite":
        vlm.captioner(cfg.vlm).load()  # fail before any work when the weights are missing
    items = build_items(clips, cfg, backend, metrics or {})
    if backend == "measured":
        res = map_items(measured_item, items, stage="caption", cfg=engine, cache_dir=cache_dir, desc="captions (measured)")
        table, errors = measured_tables(res, items, clips)
    else:
        solo = dataclasses.replace(engine, kind="local", workers=1)  # one model in this process
        res = map_items(vlm_item, items, stage="caption", cfg=solo, cache_dir=cache_dir, desc="captions (vlm)")
        table, errors = res.table, res.errors
        if len(table):
            bad = table["error"].astype(str) != ""
            extra = pd.DataFrame({"stage": "caption", "key": table.loc[bad, "clip_id"], "path": table.loc[bad, "path"],
                                  "error_type": "VideoError", "message": table.loc[bad, "error"]})
            errors = pd.concat([errors, extra], ignore_index=True)[ERRORS.names] if bad.any() else errors
            table = table[~bad]
    return finish_captions(table, errors, cfg)


def measured_tables(res, items: list[dict], clips: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Captions and errors from the measured items' rows (a :class:`koala.engine.MapResult`): a clip
    that failed becomes an errors row, the rest come in the clips table's order."""
    table, errors = res.table, per_clip_errors(res.errors, items)
    if len(table):
        table = table.assign(path=table["clip_id"].map(dict(zip(clips["clip_id"], clips["path"]))))
        bad = table["error"].astype(str) != ""
        if bad.any():
            extra = pd.DataFrame({"stage": "caption", "key": table.loc[bad, "clip_id"], "path": table.loc[bad, "path"],
                                  "error_type": table.loc[bad, "error_type"], "message": table.loc[bad, "error"]})
            errors = pd.concat([errors, extra], ignore_index=True)[ERRORS.names]
        table = table[~bad]
    if len(table):  # rows in the clips table's order, as when items were single clips
        pos = dict(zip(clips["clip_id"], range(len(clips))))
        table = table.iloc[np.argsort(table["clip_id"].map(pos).to_numpy(), kind="stable")]
    return table, errors


def finish_captions(table: pd.DataFrame, errors: pd.DataFrame, cfg: CaptionConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The CAPTIONS columns, with the captions rewritten by the VLM when ``caption.merge`` is ``rewrite``."""
    if not len(table):
        table = pd.DataFrame(columns=CAPTIONS.names)
    table = table[CAPTIONS.names].reset_index(drop=True)
    if cfg.merge == "rewrite" and len(table):
        prompts = F.load_prompts(cfg.prompts_file)
        requests = [F.rewrite_request(r, F.check_order(cfg.order), prompts) for r in table.to_dict("records")]
        table["caption"] = vlm.captioner(cfg.vlm).rewrite(requests)
    return table, errors


def caption_metrics(table: pd.DataFrame, errors: pd.DataFrame) -> dict:
    """Summary numbers for reports/metrics/caption.json (Fig. 4's statistics included)."""
    words = table["caption"].map(F.word_count) if len(table) else pd.Series(dtype=float)
    filled = {f: float((table[f].astype(str).str.len() > 0).mean()) if len(table) else 0.0 for f in CAPTION_FIELDS}
    return {
        "clips": int(len(table)),
        "errors": int(len(errors)),
        "mean_words": round(float(words.mean()), 2) if len(words) else float("nan"),
        "median_words": round(float(words.median()), 2) if len(words) else float("nan"),
        "paper_mean_words": 202.1,  # Table 1
        "field_filled_share": filled,
        "backend": str(table["backend"].iloc[0]) if len(table) else "",
    }


def input_table(params: Params, *, smoke: bool = False) -> Path:
    """The clips table the stage reads; in a smoke run without one, the sample videos as whole clips."""
    clips = Path(params.caption.clips_table)
    if clips.is_file() or not smoke:
        return clips
    log.info("smoke run: %s not found, captioning the sample videos as whole clips", clips)
    return Path(params.corpus.samples.table)


def clip_lengths(table: pd.DataFrame) -> np.ndarray:
    """Caption lengths in words (Fig. 4)."""
    return table["caption"].map(F.word_count).to_numpy() if len(table) else np.zeros(0, int)


STAGE_SCHEMA = CAPTIONS  # koala.stage.table_schema


def as_stage(clips: pd.DataFrame, params: Params, engine: EngineConfig) -> StageResult:
    """Six-field captions per clip (:func:`koala.caption.stage.caption_clips`); the table is ``CAPTIONS``.

    The score stage's ``text_area`` and ``border_fraction``, when they are columns of ``clips``,
    feed the measured backend as in the caption stage.
    """
    if not len(clips):
        return StageResult(empty_frame(CAPTIONS), empty_frame(ERRORS))
    keep = [c for c in SCORED if c in clips.columns]
    metrics = {str(r["clip_id"]): {k: float(r[k]) for k in keep} for r in clips[["clip_id"] + keep].to_dict("records")} if keep else {}
    table, errors = caption_clips(clips_frame(clips), params.caption, engine, metrics=metrics)
    return StageResult(table, errors, caption_metrics(table, errors))
