"""Proxy labels: a documented stand-in for the paper's 200K human-labelled clips, on real footage.

The paper trains the TSA on clips scored 1-5 by 8 experts (§4.3.1, App. B). This project has five
real labelled clips, far too few to train on, so it trains on **proxy** labels instead. Protocol:

1. Sources: every hand-labelled shot of the real-footage corpus (``corpus.real.shots_table``,
   ``kind == "shot"``, at least ``vtss.proxy.min_window_sec`` long; 21 real sources) and the five
   real 720p sample clips (one shot each). ``windows_per_source`` windows of up to ``window_sec`` are
   cut per source, spread over its shots and always inside one shot (never across a cut), decoded
   once at ``decode_short_side``. Without the corpus table the five samples are used alone (logged).
2. Each window yields one clean clip (proxy label 5), degradations of :mod:`koala.vtss.degrade`
   at severities 1-4 (every one at every severity, or ``singles_per_window`` random ones) and
   ``pairs_per_window`` random mixes of two different degradations at severities 1-2. The label
   is ``severity_labels[total severity]``: 5 for a clean clip, lower for more damage.
3. Each proxy clip's sub-metrics are computed by the project's own scorer
   (:func:`koala.metrics.scorer.score`), exactly as for real clips.
4. Splits are by *source*: every variant of a held-out source is in the test split, so no pixel of
   a test clip (nor of its clean original) is seen in training.

The proxy labels measure how well a model recovers *known, controlled* damage, not human
judgement of content (subject, composition, aesthetics): the clean clips are all labelled 5
whatever their real label. Everything derived from them is called "proxy" (columns, tables,
report rows), and the five real labels are reported separately.
"""

from __future__ import annotations

import json
import logging
import os
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from koala.config import Params, ScoreConfig, VtssProxyConfig, VtssTsaSize, build, to_dict
from koala.engine import code_version, map_items
from koala.io.tables import read_table, write_table
from koala.io.video import probe
from koala.vtss.features import FEATURE_NAMES
from koala.vtss.degrade import DEGRADATIONS, apply
from koala.vtss.inputs import clip_inputs, decode_clip

log = logging.getLogger(__name__)

# proxy.parquet: one row per proxy clip (the tensors live in the window's .npz, row inputs_index).
PROXY_TABLE = pa.schema(
    [("proxy_id", pa.string()), ("source", pa.string()), ("shot_id", pa.string()), ("window", pa.int64()),
     ("start_frame", pa.int64()),
     ("end_frame", pa.int64()), ("degradations", pa.string()), ("severity", pa.int64()), ("label_proxy", pa.float64()),
     ("inputs_file", pa.string()), ("inputs_index", pa.int64()), ("metric_reasons", pa.string())]
    + [(n, pa.float64()) for n in FEATURE_NAMES]
)


class SourcesUnavailable(FileNotFoundError):
    """The real sample clips the proxy set is made from are not on disk."""


def sample_sources(params: Params, env=None) -> pd.DataFrame:
    """The five real sample clips: video_id, path, fps, num_frames, label (their released VTSS).

    Uses the corpus stage's copies when they exist, else the mirror folder named by the
    samples' ``mirror_env`` variable (read in place, never copied).

    Raises:
        SourcesUnavailable: neither is there.
    """
    from koala.corpus.samples import SAMPLE_CLIPS

    env = os.environ if env is None else env
    cfg = params.corpus.samples
    mirror = env.get(cfg.mirror_env, "").strip()
    labels = {c.video_id: c.vtss_label for c in SAMPLE_CLIPS}
    if Path(cfg.labels_table).is_file():
        tab = read_table(cfg.labels_table)
        labels.update(dict(zip(tab["video_id"], tab["vtss_label"].astype(float))))
    rows = []
    for clip in SAMPLE_CLIPS:
        here = Path(cfg.out_dir) / clip.name
        path = here if here.is_file() else (Path(mirror) / clip.name if mirror else None)
        if path is None or not path.is_file():
            raise SourcesUnavailable(f"{here}: sample clip missing; run the corpus stage, or set ${cfg.mirror_env} to a "
                                     "folder holding the five sample clips (../shared/data/koala_tsa_samples here)")
        info = probe(path)
        rows.append({"video_id": clip.video_id, "path": str(path), "fps": info.fps, "num_frames": info.num_frames,
                     "label": float(labels[clip.video_id])})
    return pd.DataFrame(rows)


def variants(cfg: VtssProxyConfig, rng: np.random.Generator) -> list[tuple[tuple[str, int], ...]]:
    """Degradation steps of every proxy clip of one window: clean, singles, random pairs.

    Singles: every degradation at every severity 1..levels (``singles_per_window`` 0), or that many
    drawn without repeats, the degradations taken in turn (a random order) so each appears.

    Raises:
        ValueError: an unknown degradation name.
    """
    unknown = [d for d in cfg.degradations if d not in DEGRADATIONS]
    if unknown:
        raise ValueError(f"vtss.proxy.degradations: unknown {unknown}; valid: {', '.join(DEGRADATIONS)}")
    out: list[tuple[tuple[str, int], ...]] = [()]
    every = [((d, s),) for d in cfg.degradations for s in range(1, cfg.levels + 1)]
    if cfg.singles_per_window <= 0 or cfg.singles_per_window >= len(every):
        out += every
    else:
        kinds = rng.permutation(len(cfg.degradations))
        levels = {d: list(rng.permutation(np.arange(1, cfg.levels + 1))) for d in range(len(cfg.degradations))}
        for k in range(cfg.singles_per_window):
            d = int(kinds[k % len(kinds)])
            out.append(((cfg.degradations[d], int(levels[d].pop())),))
    for _ in range(cfg.pairs_per_window if len(cfg.degradations) > 1 else 0):
        a, b = rng.choice(len(cfg.degradations), size=2, replace=False)
        out.append(((cfg.degradations[a], int(rng.integers(1, 3))), (cfg.degradations[b], int(rng.integers(1, 3)))))
    return out


def proxy_label(steps: tuple[tuple[str, int], ...], severity_labels: tuple[float, ...] = (5.0, 4.0, 3.0, 2.0, 1.0)) -> float:
    """The proxy label on the 1-5 scale by total severity: ``severity_labels[0]`` (5) for a clean clip.

    Raises:
        ValueError: labels outside 1-5, not starting at 5, or rising with severity.
    """
    lab = np.asarray(severity_labels, float)
    if len(lab) < 2 or lab[0] != 5.0 or (lab < 1).any() or (lab > 5).any() or (np.diff(lab) > 0).any():
        raise ValueError(f"vtss.proxy.severity_labels {list(severity_labels)}: must start at 5 (clean), stay in 1-5 "
                         "and never rise with severity")
    return float(lab[min(sum(s for _, s in steps), len(lab) - 1)])


def steps_name(steps: tuple[tuple[str, int], ...]) -> str:
    return "+".join(f"{d}{s}" for d, s in steps) or "clean"


def windows(num_frames: int, fps: float, cfg: VtssProxyConfig, *, count: int | None = None) -> list[tuple[int, int]]:
    """``count`` (default ``windows_per_source``) windows of up to ``window_sec`` spread evenly over a shot (start, end exclusive)."""
    count = cfg.windows_per_source if count is None else count
    length = min(num_frames, max(2, int(round(cfg.window_sec * fps))))
    starts = np.linspace(0, num_frames - length, num=max(1, count)).round().astype(int)
    return [(int(s), int(s + length)) for s in starts]


def shot_windows(shots: pd.DataFrame, cfg: VtssProxyConfig) -> list[tuple[str, int, int]]:
    """Windows of one source: (shot_id, start, end) in source frames, each inside one shot.

    Shots shorter than ``min_window_sec`` are skipped. With at least ``windows_per_source`` shots,
    that many shots evenly spread in time give one window each (in their middle); with fewer, the
    windows are dealt out over the shots in turn and spread evenly inside each. Identical windows
    (a shot shorter than the window, asked for twice) are kept once.
    """
    ok = shots[(shots["end_frame"] - shots["start_frame"]) >= np.maximum(2, cfg.min_window_sec * shots["fps"])]
    ok = ok.sort_values("start_frame")
    if not len(ok):
        return []
    n = max(1, cfg.windows_per_source)
    if len(ok) >= n:
        pick = ok.iloc[np.unique(((np.arange(n) + 0.5) * len(ok) / n).astype(int))]  # the middle of n equal runs of shots
        counts = [1] * len(pick)
    else:
        pick = ok
        counts = [n // len(ok) + (1 if k < n % len(ok) else 0) for k in range(len(ok))]
    out: list[tuple[str, int, int]] = []
    for shot, count in zip(pick.itertuples(), counts):
        length = int(shot.end_frame - shot.start_frame)
        if count == 1:
            w = min(length, max(2, int(round(cfg.window_sec * float(shot.fps)))))
            starts = [(length - w) // 2]
            spans = [(s, s + w) for s in starts]
        else:
            spans = windows(length, float(shot.fps), cfg, count=count)
        for a, b in dict.fromkeys(spans):
            out.append((str(shot.shot_id), int(shot.start_frame + a), int(shot.start_frame + b)))
    return out


SHOT_COLUMNS = ["source", "shot_id", "path", "fps", "start_frame", "end_frame"]


def real_shots(params: Params) -> pd.DataFrame:
    """The corpus's hand-labelled shots (``kind == "shot"``) as SHOT_COLUMNS; empty (with a logged reason) without the table.

    Paths in the table are relative to the project root (the working directory of the stages).
    A source whose file is missing is left out with a warning.
    """
    path = Path(params.corpus.real.shots_table)
    if not path.is_file():
        log.warning("vtss proxy: %s is missing (run `koala corpus real`); the proxy set uses the five samples only", path)
        return pd.DataFrame(columns=SHOT_COLUMNS)
    tab = read_table(path)
    tab = tab[tab["kind"] == "shot"]
    missing = sorted({p for p in tab["path"] if not Path(p).is_file()})
    if missing:
        log.warning("vtss proxy: %d real source files are missing (%s); their shots are left out", len(missing),
                    ", ".join(missing[:3]))
        tab = tab[~tab["path"].isin(missing)]
    return tab[SHOT_COLUMNS].reset_index(drop=True)


def proxy_shots(params: Params, env=None) -> pd.DataFrame:
    """Every shot the proxy set may cut windows from (SHOT_COLUMNS): the five samples (one shot each) and,
    with ``vtss.proxy.sources: corpus``, the real corpus's shots.

    Raises:
        SourcesUnavailable: the sample clips are not on disk.
        ValueError: an unknown ``vtss.proxy.sources``.
    """
    cfg = params.vtss.proxy
    if cfg.sources not in ("corpus", "samples"):
        raise ValueError(f"vtss.proxy.sources must be corpus or samples, not {cfg.sources!r}")
    samples = sample_sources(params, env)
    rows = pd.DataFrame({"source": samples["video_id"], "shot_id": samples["video_id"], "path": samples["path"],
                         "fps": samples["fps"], "start_frame": 0, "end_frame": samples["num_frames"]})
    if cfg.sources == "corpus":
        real = real_shots(params)
        clash = set(real["source"]) & set(rows["source"])
        if clash:
            raise ValueError(f"{params.corpus.real.shots_table}: real sources {sorted(clash)} share a name with a sample")
        rows = pd.concat([rows, real], ignore_index=True) if len(real) else rows
    return rows.astype({"fps": float, "start_frame": int, "end_frame": int}).reset_index(drop=True)


def build_window(item: dict) -> list[dict]:
    """Engine item: decode one window of a source, make its proxy clips, save their tensors, return their rows."""
    cfg = build(VtssProxyConfig, item["proxy"])
    size = build(VtssTsaSize, item["size"])
    score_cfg = build(ScoreConfig, item["score"])
    start, end = item["window"]
    frames = decode_clip(item["path"], start, end, cfg.decode_short_side)
    rng = np.random.default_rng([cfg.seed, item["seed_key"]])
    shot_id = item.get("shot_id", item["video_id"])
    frags, stills, rows = [], [], []
    for k, steps in enumerate(variants(cfg, rng)):
        clip = frames
        for name, level in steps:
            clip = apply(clip, name, level, rng)
        inp = clip_inputs(clip, item["fps"], size, score_cfg, rng)
        frags.append(inp.fragments)
        stills.append(inp.frames)
        row = {"proxy_id": f"{item['key']}-{steps_name(steps)}", "source": item["video_id"], "shot_id": shot_id,
               "window": item["window_index"],
               "start_frame": start, "end_frame": end, "degradations": steps_name(steps),
               "severity": int(sum(s for _, s in steps)), "label_proxy": proxy_label(steps, cfg.severity_labels),
               "inputs_file": item["outputs"][0], "inputs_index": k, "metric_reasons": json.dumps(inp.reasons, sort_keys=True)}
        row.update({n: float(v) for n, v in zip(FEATURE_NAMES, inp.metrics)})
        rows.append(row)
    out = Path(item["outputs"][0])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.npz")
    np.savez(tmp, fragments=np.stack(frags), frames=np.stack(stills))
    os.replace(tmp, out)
    return rows


# The size fields a proxy clip's cached tensors depend on; the network's widths and the training
# schedule are left out of the item, so retuning them reuses the (slow to build) proxy set.
INPUT_FIELDS = ("grid", "patch", "clip_len", "frame_interval", "num_clips", "static_frames", "static_size")


def input_fields(size: VtssTsaSize) -> dict:
    return {k: getattr(size, k) for k in INPUT_FIELDS}


# Evaluation settings: which sources are held out changes no proxy clip, so it is left out of the item.
EVALUATION_FIELDS = ("folds", "test_sources", "sources", "severity_labels")  # which sources, and the label table
# (applied to the severities when the table is assembled): a window's clips are the same either way


def making_fields(cfg: VtssProxyConfig) -> dict:
    return {k: v for k, v in to_dict(cfg).items() if k not in EVALUATION_FIELDS}


def proxy_items(shots: pd.DataFrame, params: Params, size_name: str, size: VtssTsaSize) -> list[dict]:
    """One engine item per source window (:func:`shot_windows`); the item carries everything its result depends on.

    ``shots``: SHOT_COLUMNS rows (:func:`proxy_shots`); the older sources table (video_id, path, fps,
    num_frames: one shot per source) is taken too.
    """
    cfg = params.vtss.proxy
    if "shot_id" not in shots.columns:
        shots = pd.DataFrame({"source": shots["video_id"], "shot_id": shots["video_id"], "path": shots["path"],
                              "fps": shots["fps"], "start_frame": 0, "end_frame": shots["num_frames"]})
    version = code_version("koala.vtss.degrade", "koala.vtss.inputs", "koala.vtss.proxy", "koala.vtss.fragments", "koala.vtss.features",
                           "koala.metrics", "koala.split.css")
    items = []
    for source, group in shots.groupby("source", sort=True):
        fps = {r.shot_id: (r.path, float(r.fps)) for r in group.itertuples()}
        for wi, (shot_id, start, end) in enumerate(shot_windows(group, cfg)):
            key = f"{source}-w{wi}"
            path, rate = fps[shot_id]
            items.append({"key": key, "path": path, "video_id": source, "shot_id": shot_id, "fps": rate,
                          "window": [start, end], "window_index": wi,
                          "seed_key": zlib.crc32(str(source).encode()) % 100_000 * 1000 + wi,  # stable whatever the other sources
                          "proxy": making_fields(cfg), "size": input_fields(size), "score": to_dict(params.score),
                          "code_version": version,
                          "outputs": [str(Path(cfg.out_dir) / size_name / f"{key}.npz")]})
    return items


def assign_folds(table: pd.DataFrame, cfg: VtssProxyConfig) -> list[tuple[str, list[str]]]:
    """Test sources of each evaluation fold: (name, sources). Every fold holds out whole sources.

    Raises:
        ValueError: a test source that is not in the proxy set, or more folds than sources.
    """
    sources = sorted(table["source"].unique())
    if cfg.folds <= 1:
        missing = [s for s in cfg.test_sources if s not in sources]
        if missing or not cfg.test_sources:
            raise ValueError(f"vtss.proxy.test_sources {list(cfg.test_sources)}: each must be one of the sources {sources}")
        if len(cfg.test_sources) >= len(sources):
            raise ValueError("vtss.proxy.test_sources holds out every source; nothing is left to train on")
        return [("holdout", list(cfg.test_sources))]
    if cfg.folds > len(sources):
        raise ValueError(f"vtss.proxy.folds={cfg.folds} but there are only {len(sources)} sources")
    order = np.random.default_rng(cfg.seed).permutation(np.array(sources, dtype=object))  # samples and real sources mixed
    return [(f"fold{k}", sorted(str(x) for x in part)) for k, part in enumerate(np.array_split(order, cfg.folds))]


def build_proxy(params: Params, size_name: str, size: VtssTsaSize, *, sources: pd.DataFrame | None = None) -> pd.DataFrame:
    """Make (or reuse) every proxy clip and write ``<out_dir>/<size>/proxy.parquet``; return that table.

    ``sources``: the shots to cut windows from (default :func:`proxy_shots`).

    Raises:
        SourcesUnavailable: the sample clips are not on disk.
        RuntimeError: no proxy clip could be made (the errors say why).
    """
    sources = proxy_shots(params) if sources is None else sources
    items = proxy_items(sources, params, size_name, size)
    res = map_items(build_window, items, stage=f"vtss_proxy_{size_name}", cfg=params.engine, desc="proxy clips")
    if len(res.errors):
        for e in res.errors.itertuples():
            log.warning("proxy window %s failed: %s", e.key, e.message)
    if not len(res.table):
        raise RuntimeError(f"no proxy clip could be made from {len(items)} windows; see the warnings above")
    table = res.table.reset_index(drop=True)
    labels = np.asarray(params.vtss.proxy.severity_labels, float)
    proxy_label((), tuple(labels))  # the table is checked once
    table["label_proxy"] = labels[np.minimum(table["severity"].to_numpy(int), len(labels) - 1)]
    write_table(table, Path(params.vtss.proxy.out_dir) / size_name / "proxy.parquet", PROXY_TABLE)
    log.info("proxy set: %d proxy clips from %d windows of %d sources (%d reused)", len(table), len(items),
             table["source"].nunique(), res.n_reused)
    return table


def load_tensors(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Fragments (N, K, T, S, S, 3) and static frames (N, F, s, s, 3) of the proxy rows, in row order."""
    frags, stills = [], []
    cache: dict[str, dict] = {}
    for f, i in zip(table["inputs_file"], table["inputs_index"]):
        if f not in cache:
            with np.load(f) as z:
                cache[f] = {"fragments": z["fragments"], "frames": z["frames"]}
        frags.append(cache[f]["fragments"][i])
        stills.append(cache[f]["frames"][i])
    return np.stack(frags), np.stack(stills)
