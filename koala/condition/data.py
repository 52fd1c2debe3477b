"""Training windows: short, small clips cut from the corpus clips and measured with the project's metrics.

Each corpus clip is decoded once at a small size (one pass per video for all its clips) and cut into many windows of ``frames`` frames
with random source-frame steps (0 repeats one frame: a still clip), random square crops (a
zoom, which scales apparent motion), mirror and time reversal. The windows' motion therefore
spans stills to fast motion within every clip and caption, which is what lets a condition be
learned apart from the text. Every window is measured with :mod:`koala.metrics` (the same
functions the score stage runs), at the window's own size and nominal rate, so the values a
model is conditioned on and the values its outputs are measured with are on one scale.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from koala.config import ConditionConfig, ConditionScale, Params, ScoreConfig, build, to_dict
from koala.engine import item_fingerprint, map_items
from koala.engine.core import ItemOutput, code_version
from koala.io.atomic import atomic_path
from koala.io.clip_reader import ClipRequest, read_clips

log = logging.getLogger(__name__)


@dataclass
class Windows:
    """Training windows and what is known about each."""

    frames: np.ndarray  # (N, T, H, W, 3) uint8 RGB
    table: pd.DataFrame  # one row per window: clip_id, caption, stride, crop, flip, reverse, metric columns
    errors: pd.DataFrame  # clips that could not be read


def measure(frames: np.ndarray, names: tuple[str, ...], *, fps: float, score_cfg: ScoreConfig) -> dict[str, float]:
    """The project's metrics of one clip held in memory (T, H, W, 3) uint8, as the score stage computes them.

    NaN where a metric cannot be computed (the scorer logs why).
    """
    from koala.metrics.clip import DecodedClip
    from koala.metrics.scorer import score

    clip = DecodedClip(frames=np.ascontiguousarray(frames), index=np.arange(len(frames)), fps=fps, cfg=score_cfg)
    return score(clip, names).values


def cut_window(frames: np.ndarray, rng: np.random.Generator, *, length: int, size: int,
               strides: tuple[int, ...], crop_min: float) -> tuple[np.ndarray, dict]:
    """One random window (length, size, size, 3) of a decoded clip (N, H, W, 3), and how it was cut."""
    n, h, w = frames.shape[:3]
    fits = [s for s in strides if s == 0 or (length - 1) * s < n]
    stride = int(rng.choice(fits))
    start = int(rng.integers(0, n - (length - 1) * stride))
    idx = start + stride * np.arange(length)
    short = min(h, w)
    side = int(round(short * rng.uniform(crop_min, 1.0)))
    y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    crop = frames[idx, y:y + side, x:x + side]
    out = np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in crop])
    flip, reverse = bool(rng.random() < 0.5), bool(rng.random() < 0.5)
    if flip:
        out = out[:, :, ::-1]
    if reverse:
        out = out[::-1]
    return np.ascontiguousarray(out), {"stride": stride, "start": start, "crop": side / short, "flip": flip, "reverse": reverse}


def windows_item(item: dict) -> ItemOutput:
    """Cut and measure the windows of one video's clips, from one pass over the video
    (:func:`koala.io.clip_reader.read_clips`); each clip's windows go to its own .npy output (runs in
    workers). A clip that decodes to under 2 frames gets no windows (an empty array and a warning)."""
    score_cfg = build(ScoreConfig, item["score"])
    names = tuple(dict.fromkeys(item["metrics"]))
    clips = {c["key"]: c for c in item["clips"]}
    requests = [ClipRequest(c["key"], np.arange(c["start"], c["end"]), height=item["decode_short_side"]) for c in item["clips"]]
    rows, warnings = [], []
    for got in read_clips(item["path"], requests):
        key = got.key
        if len(got.index) < 2:
            warnings.append(("TooFewFrames", f"{item['path']}: clip {key} has {len(got.index)} frame(s); windows need 2"))
            _save(clips[key]["output"], np.zeros((0, item["frames"], item["size"], item["size"], 3), np.uint8))
            continue
        rng = np.random.default_rng([item["seed"], zlib.crc32(key.encode())])
        wins = []
        for k in range(item["samples"]):
            win, how = cut_window(got.frames, rng, length=item["frames"], size=item["size"], strides=tuple(item["strides"]),
                                  crop_min=item["crop_min"])
            rows.append({"clip_id": key, "window": k, **how, **measure(win, names, fps=item["fps"], score_cfg=score_cfg)})
            wins.append(win)
        _save(clips[key]["output"], np.stack(wins))
    order = {c["key"]: k for k, c in enumerate(item["clips"])}
    rows.sort(key=lambda r: (order[r["clip_id"]], r["window"]))
    return ItemOutput(rows, warnings)


def _save(path: str, array: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, array)


def window_items(clips: pd.DataFrame, cfg: ConditionConfig, scale: ConditionScale, score_cfg: ScoreConfig) -> list[dict]:
    """One work item per video, holding its clips (clip_id, path, start, end columns) and each clip's
    output file (named by what its windows depend on)."""
    folder = Path(cfg.out_dir) / "windows"
    common = {
        "seed": cfg.seed, "frames": scale.frames, "size": scale.size, "samples": scale.samples_per_clip,
        "strides": list(cfg.strides), "crop_min": cfg.crop_min, "fps": cfg.fps,
        "decode_short_side": cfg.decode_short_side, "metrics": list(dict.fromkeys(cfg.metrics + cfg.drift_metrics)),
        "score": to_dict(score_cfg), "code": code_version("koala.condition.data", "koala.metrics", "koala.io"),
    }
    items = []
    for path, group in clips.groupby("path", sort=False):
        per = [{"key": str(r.clip_id), "start": int(r.start), "end": int(r.end)} for r in group.sort_values("start").itertuples()]
        for c in per:
            c["output"] = str(folder / f"{c['key']}-{item_fingerprint({**common, **c, 'path': str(path)})}.npy")
        items.append({"key": str(per[0]["key"]), "path": str(path), "clips": per, **common,
                      "outputs": [c["output"] for c in per]})
    return items


def build_windows(clips: pd.DataFrame, captions: dict[str, str], params: Params, scale: ConditionScale) -> Windows:
    """Cut, measure and load every clip's windows (cached per clip: a killed run resumes).

    Windows whose conditioned metrics are NaN are dropped (logged): a model cannot be asked for NaN.
    """
    cfg = params.condition
    items = window_items(clips, cfg, scale, params.score)
    res = map_items(windows_item, items, stage="condition_windows", cfg=params.engine, desc="condition windows")
    table = res.table.reset_index(drop=True)
    if not len(table):
        raise ValueError(f"no training windows: every clip failed ({len(res.errors)} errors)")
    done = {c["key"]: c["output"] for it in items for c in it["clips"]}
    frames = np.concatenate([np.load(done[c]) for c in dict.fromkeys(table["clip_id"])])
    table["caption"] = table["clip_id"].map(lambda c: captions.get(c, ""))
    missing = table.loc[table["caption"] == "", "clip_id"].nunique()
    if missing:
        log.warning("%d clips have no caption in the captions table: their windows train with an empty caption", missing)
    ok = table[list(cfg.metrics)].notna().all(axis=1).to_numpy()
    if not ok.all():
        log.warning("dropping %d of %d windows whose conditioned metrics are NaN", int((~ok).sum()), len(ok))
    return Windows(frames=frames[ok], table=table[ok].reset_index(drop=True), errors=res.errors)


@dataclass(frozen=True)
class MetricScaler:
    """Maps raw metric values to about [0, 1] for the embedding: optional log1p, then the 1st-99th percentile range.

    The paper does not say how scores are normalised before the frequency embedding (docs/koala36m-paper.md §2.7);
    this is ours, fitted on the training windows and saved with the model.
    """

    names: tuple[str, ...]
    lo: tuple[float, ...]
    hi: tuple[float, ...]
    log: tuple[bool, ...]

    @classmethod
    def fit(cls, table: pd.DataFrame, names: tuple[str, ...], log_names: tuple[str, ...]) -> "MetricScaler":
        lo, hi, lg = [], [], []
        for n in names:
            x = table[n].to_numpy(np.float64)
            x = np.log1p(np.maximum(x, 0)) if n in log_names else x
            a, b = np.nanpercentile(x, [1, 99])
            lo.append(float(a))
            hi.append(float(b if b > a else a + 1.0))
            lg.append(n in log_names)
        return cls(tuple(names), tuple(lo), tuple(hi), tuple(lg))

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """(N, M) raw values in ``names`` order -> (N, M) float32 normalised."""
        v = np.array(values, dtype=np.float64, copy=True)
        for j, lg in enumerate(self.log):
            if lg:
                v[:, j] = np.log1p(np.maximum(v[:, j], 0))
        return ((v - np.array(self.lo)) / (np.array(self.hi) - np.array(self.lo))).astype(np.float32)

    def as_dict(self) -> dict:
        return {"names": list(self.names), "lo": list(self.lo), "hi": list(self.hi), "log": list(self.log)}

    @classmethod
    def from_dict(cls, d: dict) -> "MetricScaler":
        return cls(tuple(d["names"]), tuple(d["lo"]), tuple(d["hi"]), tuple(d["log"]))
