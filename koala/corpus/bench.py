"""The development transition benchmark: long videos chained from real clips, exact truth.

Planning is pure and seeded (one generator per video, so adding videos keeps the earlier ones
identical); rendering streams one shot at a time into the encoder, so memory does not grow
with video length. Every transition's first and last frame is known by construction.
"""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np

from koala.config import BenchConfig
from koala.corpus import transitions as tr
from koala.corpus.videos import video_row
from koala.io.video import probe, read_all
from koala.io.writer import VideoWriter


def _weights(cfg: BenchConfig) -> np.ndarray:
    w = np.array([getattr(cfg.mix, t) for t in tr.ALL_TYPES], dtype=np.float64)
    if (w < 0).any() or w.sum() <= 0:
        raise ValueError("corpus.bench.mix: weights must be >= 0 and not all zero")
    return w / w.sum()


def plan_video(index: int, source_lengths: dict[str, int], cfg: BenchConfig) -> dict:
    """Plan one chained video: its shots (source spans and looks) and transitions.

    Args:
        index: the video's number; with ``cfg.seed`` it seeds this video's generator.
        source_lengths: frames per source clip, at the benchmark frame rate.
        cfg: benchmark parameters.

    Returns:
        {"shots": [...], "transitions": [...], "truth": [...], "num_frames": int}
    """
    rng = np.random.default_rng([cfg.seed, index])
    fps = cfg.fps
    n_shots = cfg.shots_per_video
    t_min, t_max = max(1, round(cfg.transition_sec_min * fps)), max(1, round(cfg.transition_sec_max * fps))
    p_min, p_max = max(1, round(cfg.shot_sec_min * fps)), max(1, round(cfg.shot_sec_max * fps))
    kinds = rng.choice(len(tr.ALL_TYPES), size=max(0, n_shots - 1), p=_weights(cfg))
    transitions = []
    for k in kinds:
        kind = tr.ALL_TYPES[int(k)]
        n = 0 if kind == "cut" else int(rng.integers(t_min, t_max + 1))
        transitions.append({"type": kind, "n": n, "direction": str(rng.choice(tr.DIRECTIONS))})
    names = sorted(source_lengths)
    shots, prev = [], None
    for i in range(n_shots):
        n_in = transitions[i - 1]["n"] if i > 0 else 0
        n_out = transitions[i]["n"] if i < n_shots - 1 else 0
        fits = [s for s in names if s != prev and source_lengths[s] >= n_in + n_out + p_min]
        if not fits:
            raise ValueError(
                f"no source clip is long enough for a {p_min}-frame shot plus {n_in}+{n_out} transition frames; "
                "lower corpus.bench.shot_sec_min or transition_sec_max"
            )
        src = str(rng.choice(fits))
        length = source_lengths[src]
        pure = int(rng.integers(p_min, min(p_max, length - n_in - n_out) + 1))
        start = int(rng.integers(0, length - (n_in + pure + n_out) + 1))
        shots.append(
            {
                "source": src,
                "start": start,
                "n_in": n_in,
                "pure": pure,
                "n_out": n_out,
                "flip": bool(rng.random() < cfg.flip_prob),
                "zoom": float(rng.uniform(1.0, max(1.0, cfg.zoom_max))),
                "cx": float(rng.uniform(0.0, 1.0)),
                "cy": float(rng.uniform(0.0, 1.0)),
            }
        )
        prev = src
    truth, t = [], 0
    for i, shot in enumerate(shots):
        t += shot["pure"]
        if i < len(transitions):
            n = transitions[i]["n"]
            kind = transitions[i]["type"]
            truth.append({"type": kind, "first_frame": t - 1, "last_frame": t} if n == 0 else {"type": kind, "first_frame": t, "last_frame": t + n - 1})
            t += n
    return {"shots": shots, "transitions": transitions, "truth": truth, "num_frames": t}


def plan_negative(kind: str, index: int, source_lengths: dict[str, int], cfg: BenchConfig) -> dict:
    """Plan a single-shot negative: a short flash, or a fast pan over one still frame."""
    rng = np.random.default_rng([cfg.seed, 1000 if kind == "flash" else 2000, index])
    want = max(8, round(cfg.negative_sec * cfg.fps))
    src = str(rng.choice(sorted(source_lengths)))
    length = source_lengths[src]
    n = min(want, length)
    start = int(rng.integers(0, length - n + 1))
    plan = {"source": src, "start": start, "n": n, "kind": kind}
    if kind == "flash":
        plan["flash_at"] = int(rng.integers(n // 3, max(n // 3 + 1, 2 * n // 3 - cfg.flash_frames)))
        plan["flash_frames"] = cfg.flash_frames
    elif kind == "pan":
        plan["n"] = want
        plan["still"] = int(rng.integers(0, length))
        plan["direction"] = str(rng.choice(["left", "right"]))
    else:
        raise ValueError(f"unknown negative kind {kind!r}")
    return plan


@functools.lru_cache(maxsize=8)
def source_frames(path: str, width: int, height: int, fps: float) -> np.ndarray:
    """A source clip at the benchmark size (cover-cropped) and frame rate: (n, H, W, 3)."""
    info = probe(path)
    scale = max(width / info.width, height / info.height)
    dw, dh = max(width, round(info.width * scale / 2) * 2), max(height, round(info.height * scale / 2) * 2)
    frames = read_all(path, width=dw, height=dh, info=info)
    y0, x0 = (dh - height) // 2, (dw - width) // 2
    frames = frames[:, y0 : y0 + height, x0 : x0 + width]
    # Nearest-frame resampling in time to the benchmark rate.
    n_out = frames_at(len(frames), info.fps, fps)
    idx = np.minimum(np.round(np.arange(n_out) * info.fps / fps).astype(np.int64), len(frames) - 1)
    return np.ascontiguousarray(frames[idx])


def frames_at(num_frames: int, src_fps: float, fps: float) -> int:
    """Frames a clip of ``num_frames`` at ``src_fps`` yields when resampled to ``fps``."""
    return int(np.floor(num_frames * fps / src_fps))


def source_lengths(sources: dict[str, str], fps: float) -> dict[str, int]:
    """Frames each source clip yields at the benchmark rate (probe only, no decode)."""
    out = {}
    for name, path in sources.items():
        info = probe(path)
        out[name] = frames_at(info.num_frames, info.fps, fps)
    return out


def _look(frames: np.ndarray, shot: dict) -> np.ndarray:
    """Apply a shot's zoom (off-centre crop, resized back) and horizontal flip."""
    n, h, w, _ = frames.shape
    z = shot["zoom"]
    if z > 1.0001:
        ch, cw = int(round(h / z)), int(round(w / z))
        y0 = int(round((h - ch) * shot["cy"]))
        x0 = int(round((w - cw) * shot["cx"]))
        frames = np.stack([cv2.resize(f[y0 : y0 + ch, x0 : x0 + cw], (w, h), interpolation=cv2.INTER_LINEAR) for f in frames])
    if shot["flip"]:
        frames = frames[:, :, ::-1]
    return np.ascontiguousarray(frames)


def _shot_frames(shot: dict, sources: dict[str, str], cfg: dict) -> np.ndarray:
    src = source_frames(sources[shot["source"]], cfg["width"], cfg["height"], cfg["fps"])
    total = shot["n_in"] + shot["pure"] + shot["n_out"]
    return _look(src[shot["start"] : shot["start"] + total], shot)


def render_transitions(item: dict) -> dict:
    """Render and encode a planned chained video; return its VIDEOS row (engine item fn)."""
    plan, sources = item["plan"], item["sources"]
    shots, transitions = plan["shots"], plan["transitions"]
    with VideoWriter(item["out"], fps=item["fps"], width=item["width"], height=item["height"], crf=item["crf"]) as writer:
        cur = _shot_frames(shots[0], sources, item)
        for i, shot in enumerate(shots):
            pure = cur[shot["n_in"] : shot["n_in"] + shot["pure"]]
            writer.write(pure)
            if i == len(shots) - 1:
                break
            nxt = _shot_frames(shots[i + 1], sources, item)
            t = transitions[i]
            if t["n"]:
                a = cur[shot["n_in"] + shot["pure"] :]
                b = nxt[: t["n"]]
                writer.write(tr.render(t["type"], a, b, t["direction"]))
            cur = nxt
    if writer.frames_written != plan["num_frames"]:
        raise RuntimeError(f"{item['out']}: wrote {writer.frames_written} frames, planned {plan['num_frames']}")
    return video_row({"path": item["out"], "video_id": item["key"], "source": "bench_transitions", "truth": plan["truth"]})


def render_negative(item: dict) -> dict:
    """Render a single-shot negative (flash or pan); its truth is empty."""
    plan, sources = item["plan"], item["sources"]
    w, h, fps = item["width"], item["height"], item["fps"]
    src = source_frames(sources[plan["source"]], w, h, fps)
    with VideoWriter(item["out"], fps=fps, width=w, height=h, crf=item["crf"]) as writer:
        if plan["kind"] == "flash":
            frames = src[plan["start"] : plan["start"] + plan["n"]].copy()
            a, k = plan["flash_at"], plan["flash_frames"]
            frames[a : a + k] = tr.flash(frames[a : a + k])
            writer.write(frames)
        else:
            still = src[plan["still"]]
            speed = item["pan_px_per_frame"]
            strip = tr.pan_strip(still, int(np.ceil(w + speed * plan["n"])) + 1)
            for j in range(plan["n"]):
                x = int(round(speed * j))
                if plan["direction"] == "left":  # camera pans left: the window moves left along the strip
                    x = strip.shape[1] - w - x
                writer.write(strip[:, x : x + w])
    return video_row({"path": item["out"], "video_id": item["key"], "source": f"bench_negative_{plan['kind']}", "truth": []})


def bench_items(sources: dict[str, str], cfg: BenchConfig, *, lengths: dict[str, int] | None = None) -> list[dict]:
    """Engine items for every benchmark video (chained videos, then negatives).

    ``lengths`` (frames per source at the benchmark rate) saves probing the sources again when
    the caller already has them from the videos table.
    """
    lengths = lengths if lengths is not None else source_lengths(sources, cfg.fps)
    common = {"sources": sources, "width": cfg.width, "height": cfg.height, "fps": cfg.fps, "crf": cfg.crf}
    out_dir = Path(cfg.out_dir)
    items = []
    for i in range(cfg.n_videos):
        key = f"bench_{i:03d}"
        out = str(out_dir / f"{key}.mp4")
        items.append({"key": key, "kind": "transitions", "plan": plan_video(i, lengths, cfg), "out": out, "outputs": [out], **common})
    for kind, count in (("flash", cfg.n_flash), ("pan", cfg.n_pan)):
        for i in range(count):
            key = f"negative_{kind}_{i:02d}"
            out = str(out_dir / f"{key}.mp4")
            items.append({"key": key, "kind": kind, "plan": plan_negative(kind, i, lengths, cfg), "out": out, "outputs": [out],
                          "pan_px_per_frame": cfg.pan_px_per_frame, **common})
    return items


def render_item(item: dict) -> dict:
    """Engine entry point: render whichever benchmark video ``item`` plans."""
    return render_transitions(item) if item["kind"] == "transitions" else render_negative(item)
