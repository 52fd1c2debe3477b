"""Controllability: sweep the asked motion with text and seed fixed, measure what was generated.

For each (caption, noise seed), the asked motion runs from a low to a high quantile of the
training windows while every other input stays fixed; each generated clip is measured with the
project's own metrics (:func:`koala.condition.data.measure`). Reported: Spearman between asked
and measured motion (per sweep, then averaged, and pooled over all sweeps), and the drift of
the other metrics along a sweep (their spread across motion levels, in units of their spread
over the training windows): the paper's decoupling claim (docs/koala36m-paper.md §2.7, App. F, Fig. 13).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr

from koala.condition.data import MetricScaler, measure
from koala.condition.latent import FrameCodec
from koala.condition.model import VideoDiT, sample
from koala.condition.text import TextEncoder, prompt_parts
from koala.config import ConditionConfig, ScoreConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prompt:
    clip_id: str
    caption: str
    values: dict  # the conditioned metrics held fixed along the sweep (the clip's median window)


@dataclass
class Sweep:
    table: pd.DataFrame  # one row per generated clip: variant, prompt, seed, level, asked, <metric> measured
    clips: np.ndarray  # (P, S, L, T, H, W, 3) uint8: prompts x seeds x levels


def sweep_levels(windows: pd.DataFrame, cfg: ConditionConfig) -> np.ndarray:
    """Asked motion values: ``sweep_levels`` values evenly spaced in log(1 + motion) between two quantiles.

    Evenly spaced quantiles would repeat the value 0 (every still window measures exactly 0), and
    the motion embedding itself sees log(1 + motion), so even steps there are even steps for the model.
    """
    lo, hi = np.quantile(windows["motion_score"].to_numpy(np.float64), cfg.sweep_quantiles)
    if not hi > lo:
        raise ValueError(f"the training windows' motion has no spread between quantiles {cfg.sweep_quantiles}: nothing to sweep")
    return np.expm1(np.linspace(np.log1p(lo), np.log1p(hi), cfg.sweep_levels))


def sweep_prompts(windows: pd.DataFrame, cfg: ConditionConfig) -> list[Prompt]:
    """``sweep_prompts`` captions of distinct clips, spread over the clips (seeded), with their median metrics."""
    clips = sorted(windows["clip_id"].unique())
    rng = np.random.default_rng(cfg.seed)
    chosen = rng.choice(len(clips), size=min(cfg.sweep_prompts, len(clips)), replace=False)
    out = []
    for i in sorted(chosen):
        rows = windows[windows["clip_id"] == clips[i]]
        values = {m: float(rows[m].median()) for m in cfg.metrics}
        out.append(Prompt(clip_id=clips[i], caption=str(rows["caption"].iloc[0]), values=values))
    return out


def generate(model: VideoDiT, *, variant: str, prompts: list[Prompt], levels: np.ndarray, seeds: int,
             scaler: MetricScaler, codec: FrameCodec, encoder: TextEncoder, cfg: ConditionConfig, sample_steps: int,
             device: str = "cpu") -> np.ndarray:
    """Clips (P, S, L, T, H, W, 3) uint8 for every prompt x seed x asked motion; the noise depends on the seed only."""
    spec = model.spec
    h, w, _ = codec.shape
    out = np.zeros((len(prompts), seeds, len(levels), spec.frames, h, w, 3), np.uint8)
    for p, pr in enumerate(prompts):
        asked = [{**pr.values, "motion_score": float(v)} for v in levels]
        parts = [prompt_parts(pr.caption, a, variant=variant, decimals=cfg.decimals) for a in asked]
        feats, mask = encoder.encode(parts)
        raw = np.array([[a[m] for m in cfg.metrics] for a in asked])
        metrics = torch.from_numpy(scaler(raw)).to(device) if spec.n_metrics else None
        for s in range(seeds):
            g = torch.Generator().manual_seed(cfg.seed * 7919 + s)
            noise = torch.randn((1, spec.frames, spec.latent_dim), generator=g).expand(len(levels), -1, -1)
            z = sample(model, noise.to(device), torch.from_numpy(feats).float().to(device),
                       torch.from_numpy(mask).to(device), metrics, steps=sample_steps)
            out[p, s] = codec.decode(z)
    return out


def measure_sweep(clips: np.ndarray, *, variant: str, prompts: list[Prompt], levels: np.ndarray,
                  names: tuple[str, ...], fps: float, score_cfg: ScoreConfig) -> pd.DataFrame:
    """One row per generated clip with the asked motion and every measured metric."""
    rows = []
    for p, pr in enumerate(prompts):
        for s in range(clips.shape[1]):
            for li, asked in enumerate(levels):
                rows.append({"variant": variant, "prompt": p, "clip_id": pr.clip_id, "seed": s, "level": li,
                             "asked": float(asked), **measure(clips[p, s, li], names, fps=fps, score_cfg=score_cfg)})
    return pd.DataFrame(rows)


def controllability(table: pd.DataFrame, windows: pd.DataFrame, drift_metrics: tuple[str, ...]) -> dict:
    """Spearman(asked, measured motion) and the drift of the other metrics, for one variant's sweep table.

    Returns:
        ``spearman`` (mean over sweeps), ``spearman_min``, ``spearman_pooled`` (all clips of all
        sweeps), ``drift`` (mean over ``drift_metrics``) and ``drift_<metric>``: the standard
        deviation of a metric along a sweep divided by its standard deviation over the training
        windows, averaged over sweeps (0: untouched by the motion condition);
        ``motion_response``: the same ratio for log(1 + measured motion), i.e. how far the asked
        change moved what it asked for; ``drift_per_response``: drift / motion_response, the
        side effect per unit of effect (a model that ignores the condition has no drift but no
        response either).
    """
    per = []
    for _, g in table.groupby(["prompt", "seed"]):
        per.append(_spearman(g["asked"], g["motion_score"]))
    per = np.asarray(per, float)
    ok = np.isfinite(per)
    if not ok.any():
        log.warning("no sweep has a Spearman (measured motion constant or NaN along every sweep): NaN")
    out = {"spearman": float(per[ok].mean()) if ok.any() else float("nan"),
           "spearman_min": float(per[ok].min()) if ok.any() else float("nan"),
           "spearman_pooled": _spearman(table["asked"], table["motion_score"]), "sweeps": len(per),
           "sweeps_without_spearman": int((~ok).sum())}
    drifts = []
    for m in drift_metrics:
        ref = float(windows[m].std())
        d = table.groupby(["prompt", "seed"])[m].std().mean() / ref if ref > 0 else float("nan")
        out[f"drift_{m}"] = float(d)
        drifts.append(d)
    out["drift"] = float(np.nanmean(drifts)) if drifts else float("nan")
    # How far the measured motion itself moved, on the same scale (log(1 + motion), the embedding's):
    # a model that ignores the motion condition moves nothing, and so also drifts nothing.
    log_ref = float(np.log1p(windows["motion_score"].clip(lower=0)).std())
    moved = table.assign(_lm=np.log1p(table["motion_score"].clip(lower=0))).groupby(["prompt", "seed"])["_lm"].std().mean()
    out["motion_response"] = float(moved / log_ref) if log_ref > 0 else float("nan")
    out["drift_per_response"] = float(out["drift"] / out["motion_response"]) if out["motion_response"] > 0 else float("nan")
    return out


def _spearman(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.ptp(a[ok]) == 0 or np.ptp(b[ok]) == 0:
        return float("nan")
    return float(spearmanr(a[ok], b[ok]).statistic)


def dynamic_share(table: pd.DataFrame, windows: pd.DataFrame) -> pd.DataFrame:
    """Our stand-in for VBench's Dynamic Degree: the share of generated clips that move more than the median training window.

    VBench counts a video as dynamic when its RAFT flow passes a threshold; ours counts a clip
    whose measured ``motion_score`` exceeds the training windows' median, at the lowest and at
    the highest asked motion (the paper sets the conditions to their highest values at inference).
    """
    thr = float(windows["motion_score"].median())
    rows = []
    for variant, g in table.groupby("variant", sort=False):
        lo, hi = g["level"].min(), g["level"].max()
        rows.append({"variant": variant, "threshold": thr,
                     "dynamic_at_lowest_ask": float((g.loc[g.level == lo, "motion_score"] > thr).mean()),
                     "dynamic_at_highest_ask": float((g.loc[g.level == hi, "motion_score"] > thr).mean())})
    return pd.DataFrame(rows)
