"""Long edited videos built from the real footage's hand-checked shots, with exact truth.

Each long video chains pieces of real single shots (0.4-30 s each) at one size and rate, joined by
hard cuts and the benchmark's gradual transitions (dissolve, fades, wipe, slide: see
:mod:`koala.corpus.transitions`). Pieces come from inside hand-checked shots, so the only
transitions in the result are the ones made here, and every one's frames are known.

Planning is pure and seeded. Rendering streams: each piece is decoded from its source as it is
written (nearest-frame resampling to the output rate, cover-cropped to the output size), so memory
holds a few frames and the transitions' tails, whatever the video's length. Frames go to the
encoder as YUV 4:2:0 converted by OpenCV (``VideoWriter(opencv_yuv=True)``), about 1.5x faster than
PyAV's RGB path at 720p.
"""

from __future__ import annotations

import functools
import math
from collections import deque
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
import pandas as pd

from koala.config import LongConfig
from koala.corpus import transitions as tr
from koala.corpus.videos import video_row
from koala.io.video import VideoInfo, probe, read_frames
from koala.io.writer import VideoWriter, repeat_copy

LONG_SHOTS_COLUMNS = ["video_id", "piece", "start_frame", "end_frame", "shot_id", "source", "source_start", "source_end"]


def video_name(minutes: float) -> str:
    return f"long_{minutes:g}min"


def _mix_weights(cfg: LongConfig) -> np.ndarray:
    w = np.array([getattr(cfg.mix, t) for t in tr.ALL_TYPES], dtype=np.float64)
    if (w < 0).any() or w.sum() <= 0:
        raise ValueError("corpus.long.mix: weights must be >= 0 and not all zero")
    return w / w.sum()


def out_frames(num_frames: int, src_fps: float, fps: float) -> int:
    """Frames a span of ``num_frames`` at ``src_fps`` yields at ``fps``."""
    return int(math.floor(num_frames * fps / src_fps + 1e-9))


def plan_long(index: int, minutes: float, pool: pd.DataFrame, cfg: LongConfig) -> dict:
    """Plan one long video from the shots table ``pool`` (REAL shots with path, span and fps).

    Sources are drawn evenly (then a shot of the source evenly), so a source with many shots does
    not dominate; a piece's pure length is log-uniform in [shot_sec_min, shot_sec_max], capped by
    its shot. Returns {"pieces", "transitions", "truth", "num_frames"}.
    """
    rng = np.random.default_rng([cfg.seed, index])
    fps = cfg.fps
    target = int(round(minutes * 60 * fps))
    t_min, t_max = max(1, round(cfg.transition_sec_min * fps)), max(1, round(cfg.transition_sec_max * fps))
    p_min, p_max = max(1, round(cfg.shot_sec_min * fps)), max(1, round(cfg.shot_sec_max * fps))
    pool = pool.assign(out_len=[out_frames(n, f, fps) for n, f in zip(pool["num_frames"], pool["fps"])])
    pool = pool[pool["out_len"] >= p_min].reset_index(drop=True)
    if pool.empty:
        raise ValueError(f"no real shot lasts {cfg.shot_sec_min} s; fetch more sources (corpus.real.sources)")
    sources = sorted(pool["source"].unique())
    weights = _mix_weights(cfg)
    pieces: list[dict] = []
    transitions: list[dict] = []
    t, prev_source, n_in = 0, None, 0
    while t < target:
        # The transition out of this piece (none after the last).
        kind = tr.ALL_TYPES[int(rng.choice(len(tr.ALL_TYPES), p=weights))]
        n_out = 0 if kind == "cut" else int(rng.integers(t_min, t_max + 1))
        choices = [s for s in sources if s != prev_source] or sources
        for _ in range(50):
            src = str(rng.choice(choices))
            shots = pool[pool["source"] == src]
            shot = shots.iloc[int(rng.integers(len(shots)))]
            room = int(shot["out_len"]) - n_in - n_out
            if room >= p_min:
                break
        else:
            n_out, kind = 0, "cut"
            room = int(shot["out_len"]) - n_in
            if room < p_min:
                raise ValueError("no real shot is long enough for the planned transitions; lower corpus.long.transition_sec_max")
        want = int(round(math.exp(rng.uniform(math.log(p_min), math.log(p_max)))))
        pure = int(min(want, room, p_max))
        last = t + pure >= target
        if last:
            pure = int(min(room, max(p_min, target - t)))
            n_out, kind = 0, None
        total = n_in + pure + n_out
        offset = int(rng.integers(0, int(shot["out_len"]) - total + 1))
        pieces.append({"shot_id": str(shot["shot_id"]), "source": src, "path": str(shot["path"]), "src_fps": float(shot["fps"]),
                       "src_start": int(shot["start_frame"]), "src_end": int(shot["end_frame"]), "offset": offset,
                       "n_in": n_in, "pure": pure, "n_out": n_out})
        t += pure
        if kind is not None:
            transitions.append({"type": kind, "n": n_out, "direction": str(rng.choice(tr.DIRECTIONS))})
            t += n_out
        prev_source, n_in = src, n_out
    if len(transitions) == len(pieces):  # the length was reached inside a transition out of the last piece: end on it
        transitions.pop()
        pieces[-1]["n_out"] = 0
    truth, spans, t = [], [], 0
    for i, p in enumerate(pieces):
        spans.append((t, t + p["pure"]))
        t += p["pure"]
        if i < len(transitions):
            n, kind = transitions[i]["n"], transitions[i]["type"]
            truth.append({"type": kind, "first_frame": t - 1, "last_frame": t} if n == 0 else {"type": kind, "first_frame": t, "last_frame": t + n - 1})
            t += n
    return {"pieces": pieces, "transitions": transitions, "truth": truth, "spans": spans, "num_frames": t}


@functools.lru_cache(maxsize=64)
def _probe(path: str) -> VideoInfo:
    return probe(path)


def _cover_size(info: VideoInfo, width: int, height: int) -> tuple[int, int]:
    scale = max(width / info.width, height / info.height)
    return max(width, int(round(info.width * scale / 2)) * 2), max(height, int(round(info.height * scale / 2)) * 2)


def piece_frames(piece: dict, width: int, height: int, fps: float) -> Iterator[np.ndarray]:
    """The piece's frames (its transition-in, pure and transition-out frames) at the output size and rate."""
    info = _probe(piece["path"])
    total = piece["n_in"] + piece["pure"] + piece["n_out"]
    j = np.arange(piece["offset"], piece["offset"] + total)
    idx = np.minimum(piece["src_start"] + np.floor(j * piece["src_fps"] / fps + 1e-9).astype(np.int64), piece["src_end"] - 1)
    dw, dh = _cover_size(info, width, height)
    y0, x0 = (dh - height) // 2, (dw - width) // 2
    counts = np.bincount(idx - idx[0])
    # Downscaling goes through swscale while decoding; upscaling a small source is far cheaper with
    # OpenCV's bilinear resize after decoding at its own size.
    upscale = dw > info.width
    size = {"width": info.width, "height": info.height} if upscale else {"width": dw, "height": dh}
    for batch in read_frames(piece["path"], **size, start=int(idx[0]), end=int(idx[-1]) + 1, info=info):
        for i, frame in zip(batch.index, batch.frames):
            k = int(i - idx[0])
            if k < len(counts) and counts[k]:
                if upscale:
                    frame = cv2.resize(frame, (dw, dh), interpolation=cv2.INTER_LINEAR)
                crop = np.ascontiguousarray(frame[y0 : y0 + height, x0 : x0 + width])
                for _ in range(int(counts[k])):
                    yield crop


def render_long(item: dict) -> dict:
    """Render a planned long video; return its VIDEOS row (an engine item function)."""
    plan, w, h, fps = item["plan"], item["width"], item["height"], item["fps"]
    pieces, transitions = plan["pieces"], plan["transitions"]
    with VideoWriter(item["out"], fps=fps, width=w, height=h, crf=item["crf"], preset=item["preset"], opencv_yuv=True) as writer:
        tail: list[np.ndarray] = []  # the previous piece's transition-out frames
        for i, piece in enumerate(pieces):
            frames = piece_frames(piece, w, h, fps)
            if i > 0 and transitions[i - 1]["n"]:
                head = [next(frames) for _ in range(piece["n_in"])]
                t = transitions[i - 1]
                writer.write(tr.render(t["type"], np.stack(tail), np.stack(head), t["direction"]))
            out_buf: deque = deque()
            for frame in frames:
                out_buf.append(frame)
                if len(out_buf) > piece["n_out"]:
                    writer.write([out_buf.popleft()])
            tail = list(out_buf)
            if len(tail) != piece["n_out"]:
                raise RuntimeError(f"{piece['path']}: piece ended early ({len(tail)} of {piece['n_out']} transition frames)")
    if writer.frames_written != plan["num_frames"]:
        raise RuntimeError(f"{item['out']}: wrote {writer.frames_written} frames, planned {plan['num_frames']}")
    return video_row({"path": item["out"], "video_id": item["key"], "source": "long_edited", "truth": plan["truth"]})


def repeat_plan(plan: dict, times: int) -> dict:
    """``plan`` played ``times`` over: its pieces and transitions again, a hard cut at every join."""
    n, pieces, transitions, truth, spans = plan["num_frames"], [], [], [], []
    for k in range(times):
        pieces += plan["pieces"]
        spans += [(s + k * n, e + k * n) for s, e in plan["spans"]]
        truth += [{**t, "first_frame": t["first_frame"] + k * n, "last_frame": t["last_frame"] + k * n} for t in plan["truth"]]
        transitions += plan["transitions"]
        if k < times - 1:
            transitions.append({"type": "cut", "n": 0, "direction": ""})
            truth.append({"type": "cut", "first_frame": (k + 1) * n - 1, "last_frame": (k + 1) * n})
    return {"pieces": pieces, "transitions": transitions, "truth": truth, "spans": spans, "num_frames": n * times}


def render_repeat(item: dict) -> dict:
    """Write the first long video ``item['times']`` over by stream copy; return its VIDEOS row."""
    repeat_copy(item["src"], item["out"], item["times"])
    return video_row({"path": item["out"], "video_id": item["key"], "source": "long_edited", "truth": item["plan"]["truth"]})


def long_items(pool: pd.DataFrame, cfg: LongConfig) -> list[dict]:
    """Engine items, one per long video in ``cfg.minutes``.

    With ``cfg.repeat_first``, a video whose length is a whole multiple (above 1) of the first one's
    is an item for :func:`render_repeat` (``"src"``: the first video); run those after the others.
    """
    items: list[dict] = []
    for i, minutes in enumerate(cfg.minutes):
        key = video_name(minutes)
        out = str(Path(cfg.out_dir) / f"{key}.mp4")
        times = minutes / cfg.minutes[0] if i else 1.0
        if cfg.repeat_first and i and times > 1 and abs(times - round(times)) < 1e-9:
            first = items[0]
            items.append({"key": key, "plan": repeat_plan(first["plan"], int(round(times))), "src": first["out"], "out": out,
                          "outputs": [out], "times": int(round(times)),
                          "encoding": {k: first[k] for k in ("width", "height", "fps", "crf", "preset")}})
            continue
        items.append({"key": key, "plan": plan_long(i, minutes, pool, cfg), "out": out, "outputs": [out],
                      "width": cfg.width, "height": cfg.height, "fps": cfg.fps, "crf": cfg.crf, "preset": cfg.preset})
    return items


def pieces_table(items: list[dict]) -> pd.DataFrame:
    """Where every piece of every long video sits, and which hand-labelled shot it comes from."""
    rows = []
    for it in items:
        for k, (p, (s, e)) in enumerate(zip(it["plan"]["pieces"], it["plan"]["spans"])):
            rows.append({"video_id": it["key"], "piece": k, "start_frame": s, "end_frame": e, "shot_id": p["shot_id"],
                         "source": p["source"], "source_start": p["src_start"], "source_end": p["src_end"]})
    return pd.DataFrame(rows, columns=LONG_SHOTS_COLUMNS)
