"""The score stage: every clip of a clips table scored from one decode, through the engine.

Work is mapped per source video (one item = one video and its clips): the video is decoded once,
at the reduced size, through :func:`koala.io.clip_reader.read_clips`, which routes each clip's
sampled frames to it as they stream past (seeking over long gaps), so a video with many clips is
not decoded once per clip. A clip is scored and its frames dropped as soon as the stream passes
its last sample, so memory holds the samples of the clips in flight. A bad video goes to the errors
table with its path; the other videos go on; a killed run resumes per video.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa

from koala.config import EngineConfig, Params, ScoreConfig, build, to_dict
from koala.engine import code_version, map_items
from koala.engine.core import ItemOutput
from koala.io.errors import VideoError
from koala.io.tables import CLIPS, ERRORS, empty_frame, failures, read_table, write_table
from koala.io.clip_reader import ClipRequest, Reading, read_alone, read_clips
from koala.io.video import probe
from koala.metrics.clip import DecodedClip, KeptFrames, evenly, full_size_samples, small_gray
from koala.metrics.registry import METRIC_NAMES
from koala.metrics.scorer import score
from koala.motion import analysis_shape
from koala.stage import StageResult

log = logging.getLogger(__name__)

# metrics.parquet: clip_id, video_id, one float column per metric (registry order), and why any is NaN.
METRICS_TABLE = pa.schema(
    [("clip_id", pa.string()), ("video_id", pa.string())]
    + [(name, pa.float64()) for name in METRIC_NAMES]
    + [("frames_scored", pa.int64()), ("nan_reasons", pa.string())]
)
TIMING_PREFIX = "ms_"  # per-metric timings travel with the rows from workers, then are split off


@dataclass
class ScoreResult:
    table: pd.DataFrame  # METRICS_TABLE rows
    errors: pd.DataFrame
    timings: pd.DataFrame  # clip_id + ms per metric and shared step (benchmark, notebook)
    metrics: dict


@lru_cache(maxsize=64)
def _probe(path: str, size: int, mtime_ns: int):
    return probe(path)


def cached_probe(path: str):
    """probe(), once per process per file version (clips of one video share it)."""
    st = Path(path).stat() if Path(path).exists() else None
    return _probe(path, st.st_size if st else -1, st.st_mtime_ns if st else -1)


def video_items(clips: pd.DataFrame, cfg: ScoreConfig) -> list[dict]:
    """Engine items: per source video, its clips' frame ranges and the score config; a long video is cut
    into consecutive runs of clips (``item_sec``) so the engine's workers share it."""
    missing = [c for c in ("clip_id", "video_id", "start_frame", "end_frame", "video") if c not in clips.columns]
    if missing:
        raise ValueError(f"the clips table lacks columns {missing}; expected the split stage's schema ({', '.join(CLIPS.names)})")
    items = []
    conf = to_dict(cfg)
    code = code_version("koala.metrics", "koala.motion", "koala.camera_path", "koala.io")
    for (video_id, path), group in clips.groupby(["video_id", "video"], sort=False):
        group = group.sort_values("start_frame")
        recs = [{"clip_id": str(r.clip_id), "start": int(r.start_frame), "end": int(r.end_frame)} for r in group.itertuples()]
        parts = _parts(group, cfg.item_sec)
        spans = [[c["start"], c["end"]] for c in recs] if len(parts) > 1 else None
        for k, (a, b) in enumerate(parts):
            item = {"key": str(video_id) if len(parts) == 1 else f"{video_id}#{k}", "video_id": str(video_id),
                    "path": str(path), "clips": recs[a:b], "cfg": conf, "code": code}
            if spans:
                item["video_spans"] = spans  # the sampling step is chosen over the whole video
            items.append(item)
    return items


def _parts(group: pd.DataFrame, item_sec: float) -> list[tuple[int, int]]:
    """Consecutive runs of a video's clips (sorted by start) spanning about ``item_sec`` seconds each.

    Each run is one engine item, read in one pass that seeks to its first frame, so the engine's
    workers share a long video; the runs together still decode each frame about once.
    """
    n = len(group)
    if item_sec <= 0 or n < 2 or not {"start_sec", "end_sec"} <= set(group.columns):
        return [(0, n)]
    starts, ends = group["start_sec"].to_numpy(float), group["end_sec"].to_numpy(float)
    parts, a = [], 0
    for i in range(n):
        if ends[i] - starts[a] >= item_sec and i + 1 < n:
            parts.append((a, i + 1))
            a = i + 1
    parts.append((a, n))
    if len(parts) > 1 and ends[-1] - starts[parts[-1][0]] < item_sec / 2:  # a short tail joins the run before it
        parts[-2:] = [(parts[-2][0], n)]
    return parts


def _wanted(start: int, end: int, base: int, step: int, cap: int) -> np.ndarray:
    """The frame numbers a clip keeps: the shared sampling grid inside [start, end), at most ``cap``."""
    first = base + int(math.ceil(max(0, start - base) / step)) * step
    grid = np.arange(first, end, step, dtype=np.int64)
    if len(grid) == 0 and end > start:  # a clip shorter than the step: keep its middle frame
        grid = np.array([(start + end - 1) // 2], dtype=np.int64)
    return grid[evenly(len(grid), cap)] if cap > 1 and len(grid) > cap else grid


@dataclass
class DecodePlan:
    """How one video is read for its clips: one pass, one size, one sampling grid."""

    start: int
    stop: int
    step: int
    height: int
    width: int
    spans: dict[str, tuple[int, int]]  # clip_id -> [start, end) within the video
    wanted: dict[str, np.ndarray]  # clip_id -> the frame numbers it keeps


def decode_plan(clips: list[dict], info, cfg: ScoreConfig, *, all_spans: list | None = None) -> DecodePlan:
    """The single decode of a video that serves all its clips.

    One sampling grid per video, anchored at frame 0 (so a clip gets the same samples whatever
    other clips share its video), about ``sample_fps`` per second; a long clip keeps an even subset
    of it (``max_frames``); a clip shorter than one step makes the grid every frame.

    ``all_spans``: [start, end) of every clip of the video when ``clips`` is a part of them (one
    engine item of several), so the step is the one the whole video would get.
    """
    step = max(1, int(round(info.fps / cfg.sample_fps))) if cfg.sample_fps > 0 else 1
    spans = {c["clip_id"]: (int(c["start"]), min(int(c["end"]), info.num_frames)) for c in clips}
    cap = max(cfg.max_frames, 2)
    wanted = {cid: _wanted(s, e, 0, step, cap) for cid, (s, e) in spans.items()}
    every = [(int(s), min(int(e), info.num_frames)) for s, e in all_spans] if all_spans else list(spans.values())
    if any((len(w) < 2 <= e - s) or (w % step).any() for w, (s, e) in ((_wanted(s, e, 0, step, cap), (s, e)) for s, e in every)):
        step = 1
        wanted = {cid: _wanted(s, e, 0, step, cap) for cid, (s, e) in spans.items()}
    needed = np.unique(np.concatenate(list(wanted.values())))
    short = min(cfg.decode_short_side, info.height, info.width)
    h, w = analysis_shape(info.height, info.width, short_side=short)
    return DecodePlan(start=int(needed[0]), stop=max(e for _, e in spans.values()), step=step, height=h, width=w,
                      spans=spans, wanted=wanted)


class _Reducer:
    """A clip's frames as the reader hands them over: each shrunk to the flow size in grey at once, and
    kept at the decode size only where a metric reads it (:func:`koala.metrics.clip.full_size_samples`),
    so a clip in flight holds a few full frames, not all its samples."""

    def __init__(self, wanted: np.ndarray, cfg: ScoreConfig):
        self.cfg = cfg
        self.pos = {int(f): k for k, f in enumerate(wanted)}
        self.keep = set(full_size_samples(len(wanted), cfg).tolist())
        self.kept: dict[int, np.ndarray] = {}
        self.small: list[np.ndarray] = []
        self.shape: tuple[int, ...] = ()

    def __call__(self, i: int, frame: np.ndarray) -> None:
        k = self.pos[i]
        self.shape = frame.shape
        self.small.append(small_gray(frame, self.cfg.flow_short_side))  # (h, w) uint8
        if k in self.keep:
            self.kept[k] = frame

    def result(self, got, path: str, info, plan: "DecodePlan") -> tuple[KeptFrames | np.ndarray, np.ndarray]:
        """(frames, small) of the delivered samples; a clip cut short by the stream's end is read again
        whole (its full-size samples are spread over the frames it has, not those it wanted)."""
        if got.complete:
            return KeptFrames(len(got.index), self.kept, self.shape), np.stack(self.small)
        again = next(read_clips(path, [ClipRequest(got.key, got.index, height=plan.height, width=plan.width)], info=info))
        return again.frames, np.stack(self.small)


def score_video(item: dict) -> "list[dict] | ItemOutput":
    """Engine item function: decode one video once and score each of its clips.

    A video cut off mid-stream is scored over the frames that are there (a clip past the cut
    is an error, one that reaches into it is scored on its frames before the cut), with a
    warning saying how much is missing.

    Raises:
        VideoError: the video cannot be read (the engine records it; the batch goes on).
    """
    return read_alone(item["path"], lambda info: score_reading(item, info), info=cached_probe(item["path"]))


def score_reading(item: dict, info, *, on_row: Callable[[dict], None] | None = None) -> Reading:
    """The score stage's share of a pass over the item's video (:func:`koala.io.clip_reader.read_into`):
    each clip scored, and its frames dropped, as soon as it is read; ``on_row`` sees each clip's row.

    Raises:
        VideoError: a clip's frame range is empty or outside the video (before anything is decoded),
            or (from ``take``) no frame of a clip decoded.
    """
    cfg = build(ScoreConfig, item["cfg"])
    path = item["path"]
    clips = item["clips"]
    for c in clips:
        if c["start"] < 0 or c["end"] <= c["start"]:
            raise VideoError(path, f"clip {c['clip_id']} has an empty frame range {c['start']}:{c['end']}")
        if c["start"] >= info.num_frames:
            raise VideoError(path, f"clip {c['clip_id']} starts at frame {c['start']} but the video has {info.num_frames}")
    plan = decode_plan(clips, info, cfg, all_spans=item.get("video_spans"))
    sinks = {cid: _Reducer(w, cfg) for cid, w in plan.wanted.items()}
    requests = [ClipRequest(cid, w, height=plan.height, width=plan.width, sink=sinks[cid]) for cid, w in plan.wanted.items()]
    rows: list[dict] = []

    def take(got) -> None:
        cid = got.key
        if not len(got.index):
            raise VideoError(path, f"clip {cid}: no frames decoded in its range")
        frames, small = sinks.pop(cid).result(got, path, info, plan)
        clip = DecodedClip(frames=frames, index=got.index, fps=float(info.fps), cfg=cfg,
                           source_size=(info.height, info.width), path=path)
        clip.__dict__["small"] = small  # the flow-size luma, reduced as the frames passed (the same pixels)
        res = score(clip)
        row = {"clip_id": cid, "video_id": item.get("video_id", item["key"]), **res.values, "frames_scored": clip.n,
               "nan_reasons": "; ".join(f"{k}: {v}" for k, v in res.reasons.items())}
        row.update({TIMING_PREFIX + k: v for k, v in res.ms.items()})
        rows.append(row)
        if on_row is not None:
            on_row(row)

    def result() -> "list[dict] | ItemOutput":
        order = {c["clip_id"]: k for k, c in enumerate(clips)}
        done = sorted(rows, key=lambda r: order[r["clip_id"]])
        return ItemOutput(done, [("PartialVideo", f"{path}: {info.missing}")]) if info.missing else done

    return Reading(requests, take, result)


def score_clips(clips: pd.DataFrame, cfg: ScoreConfig, params: Params, *, desc: str = "scoring clips") -> ScoreResult:
    """Score every clip of ``clips`` (the CLIPS schema) on the configured engine."""
    items = video_items(clips, cfg)
    return score_result(map_items(score_video, items, stage="score", cfg=params.engine, desc=desc), clips, items)


def score_result(res, clips: pd.DataFrame, items: list[dict]) -> ScoreResult:
    """The score stage's tables and summary from its items' rows (a :class:`koala.engine.MapResult`)."""
    table = res.table
    if len(table):
        timing_cols = [c for c in table.columns if c.startswith(TIMING_PREFIX)]
        timings = table[["clip_id"] + timing_cols].rename(columns=lambda c: c.removeprefix(TIMING_PREFIX))
        table = table[METRICS_TABLE.names].reset_index(drop=True)
    else:
        table = METRICS_TABLE.empty_table().to_pandas()
        timings = pd.DataFrame(columns=["clip_id"])
    metrics = {
        "clips": int(len(clips)),
        "scored": int(len(table)),
        "videos": int(len(items)),
        "errors": int(len(failures(res.errors))),
        "warnings": int(len(res.errors) - len(failures(res.errors))),
        "nan_counts": {n: int(table[n].isna().sum()) for n in METRIC_NAMES} if len(table) else {},
        "medians": {n: (round(float(table[n].median()), 4) if table[n].notna().any() else None) for n in METRIC_NAMES} if len(table) else {},
    }
    if len(table):
        from koala.metrics.report import table7_json

        metrics["table7"] = table7_json(table)
    return ScoreResult(table=table, errors=res.errors, timings=timings, metrics=metrics)


def clips_from_truth(videos: pd.DataFrame) -> pd.DataFrame:
    """A clips table cut at the ground-truth transitions (the shots between them), for videos with truth.

    Used when the split stage has not run (tests, smoke runs): gradual-transition frames belong
    to no clip, a cut ends one clip and starts the next; a video without transitions is one clip.
    """
    rows = []
    for v in videos.itertuples():
        bounds, start = [], 0
        truth = sorted(v.truth if v.truth is not None else [], key=lambda t: t["first_frame"])
        for t in truth:
            last_of_shot = t["first_frame"] if t["type"] == "cut" else t["first_frame"] - 1
            bounds.append((start, last_of_shot + 1))
            start = t["last_frame"] if t["type"] == "cut" else t["last_frame"] + 1
        bounds.append((start, int(v.num_frames)))
        k = 0
        for s, e in bounds:
            if e - s < 2:
                continue
            rows.append({"clip_id": f"{v.video_id}-{k:04d}", "video_id": v.video_id, "clip_index": k,
                         "start_frame": s, "end_frame": e, "start_sec": s / v.fps, "end_sec": e / v.fps,
                         "fps": float(v.fps), "method": "truth", "video": v.path})
            k += 1
    return pd.DataFrame(rows, columns=CLIPS.names)


def fallback_clips(params: Params, out: str | Path) -> Path:
    """Write a clips table cut at the corpus's ground truth (or one clip per sample video) to ``out``.

    For smoke runs of the score notebook without the split stage; under DVC the split stage's
    clips table is always used.
    """
    table = params.corpus.videos_table if Path(params.corpus.videos_table).exists() else params.corpus.samples.table
    videos = read_table(table)
    write_table(clips_from_truth(videos), out, CLIPS)
    log.warning("no clips table at %s: scoring clips cut at the ground truth of %s instead (%s)",
                params.score.clips_table, table, out)
    return Path(out)


STAGE_SCHEMA = METRICS_TABLE  # koala.stage.table_schema


def as_stage(clips: pd.DataFrame, params: Params, engine: EngineConfig) -> StageResult:
    """Sub-metrics per clip (:func:`koala.metrics.stage.score_clips`); the table is ``METRICS_TABLE``."""
    if not len(clips):
        return StageResult(METRICS_TABLE.empty_table().to_pandas(), empty_frame(ERRORS))
    res = score_clips(clips, params.score, dataclasses.replace(params, engine=engine), desc="score")
    return StageResult(res.table, res.errors, res.metrics, res.timings)
