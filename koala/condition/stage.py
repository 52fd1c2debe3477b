"""The condition stage: training windows -> both variants trained on the same budget -> motion sweep.

Outputs under ``condition.out_dir``: ``windows/`` (cached training windows), ``checkpoints/<variant>.pt``
(resumable), ``eval/sweep.parquet`` (every generated clip measured), ``eval/<variant>.npy`` (the
generated clips) and ``eval/grid_<variant>.png`` (sample strips); summary numbers go to a JSON file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from koala.condition import evaluate as E
from koala.condition.data import MetricScaler, Windows, build_windows
from koala.condition.latent import FrameCodec
from koala.condition.model import ModelSpec
from koala.condition.text import TEXT_DIM, TextEncoder, prompt_parts
from koala.condition.train import TrainSet, TrainState, load_checkpoint, train
from koala.config import ConditionScale, Params, build, to_dict
from koala.engine import item_fingerprint, map_items
from koala.engine.core import code_version, write_errors
from koala.io.atomic import write_json
from koala.io.tables import read_table, write_table

log = logging.getLogger(__name__)

VARIANTS = ("adaln", "text")

# Paper, Table 2 (VBench), the two metric-conditioned rows and their unconditioned counterparts (docs/koala36m-paper.md §3).
PAPER_TABLE2 = pd.DataFrame(
    [
        ("Koala-w/o TSA", 0.4222, 0.9857, 0.4808, 0.7758, 0.7140),
        ("Koala-36M", 0.5750, 0.9766, 0.4832, 0.7819, 0.7156),
        ("Koala-w/o TSA (condition)", 0.9833, 0.9210, 0.5272, 0.7823, 0.7433),
        ("Koala-36M (condition)", 0.9194, 0.9246, 0.5318, 0.7846, 0.7460),
    ],
    columns=["model", "dynamic_degree", "temporal_flickering", "aesthetic_quality", "quality_score", "total_score"],
)


@dataclass
class Prepared:
    windows: Windows
    scaler: MetricScaler
    codec: FrameCodec
    latents: torch.Tensor  # (N, T, k) the windows' frame latents
    scale: ConditionScale
    device: str
    encoder: TextEncoder


@dataclass
class ConditionResult:
    sweep: pd.DataFrame  # every generated clip, measured
    summary: dict  # per-variant controllability + training facts
    clips: dict  # variant -> (P, S, L, T, H, W, 3) uint8
    windows: pd.DataFrame


def resolve_device(name: str) -> str:
    """``auto``: CUDA when present, else the CPU."""
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"condition.device is {name!r} but no CUDA device is present; use auto or cpu")
    return name


def smoke_scale(scale: ConditionScale) -> ConditionScale:
    """The smallest run that still passes every code path (notebook smoke runs, CI checks)."""
    return dataclasses.replace(scale, samples_per_clip=4, dim=32, depth=1, heads=2, latent_dim=8, steps=6, batch_size=4, sample_steps=3)


def input_clips(params: Params, *, smoke: bool = False) -> pd.DataFrame:
    """Clip rows (clip_id, path, start, end); a smoke run without a clips table uses the sample videos whole."""
    from koala.caption.stage import clips_frame

    path = Path(params.condition.clips_table)
    if not path.is_file():
        if not smoke:
            raise FileNotFoundError(f"{path}: no clips table (run the split stage: `dvc repro split`)")
        path = Path(params.corpus.samples.table)
        log.info("smoke run: %s not found, using the sample videos as whole clips", params.condition.clips_table)
    clips = clips_frame(read_table(path))
    return clips.head(3) if smoke else clips


def captions_of(params: Params, *, smoke: bool = False) -> dict[str, str]:
    """clip_id -> caption from the caption stage's table."""
    path = Path(params.condition.captions_table)
    if not path.is_file():
        if not smoke:
            raise FileNotFoundError(f"{path}: no captions table (run the caption stage: `dvc repro caption`)")
        log.warning("smoke run: %s not found, training with empty captions", path)
        return {}
    table = read_table(path)
    return dict(zip(table["clip_id"].astype(str), table["caption"].astype(str)))


def prepare(params: Params, *, smoke: bool = False, quiet: bool = False) -> Prepared:
    """Device, sizes, training windows (cached), metric normalisation, the frame latent and the text encoder."""
    cfg = params.condition
    unknown = set(cfg.variants) - set(VARIANTS)
    if unknown:
        raise ValueError(f"condition.variants: unknown {sorted(unknown)} (choose from {', '.join(VARIANTS)})")
    if "motion_score" not in cfg.metrics:
        raise ValueError("condition.metrics must include motion_score: the sweep asks for motion")
    device = resolve_device(cfg.device)
    if cfg.threads > 0 and device == "cpu":
        torch.set_num_threads(cfg.threads)
    scale = cfg.gpu if device.startswith("cuda") else cfg.cpu
    scale = smoke_scale(scale) if smoke else scale
    log.info("condition: %s, %d frames at %d px, %d steps per variant", device, scale.frames, scale.size, scale.steps)
    windows = build_windows(input_clips(params, smoke=smoke), captions_of(params, smoke=smoke), params, scale)
    if not quiet:  # a training worker's prepare() repeats the main process's; only the main one writes
        write_errors(windows.errors, cfg.errors_table)
    log.info("condition: %d training windows from %d clips (%d clips failed)", len(windows.table),
             windows.table["clip_id"].nunique(), len(windows.errors))
    scaler = MetricScaler.fit(windows.table, cfg.metrics, cfg.log_metrics)
    codec = FrameCodec.fit(windows.frames, scale.latent_dim, seed=cfg.seed)
    latents = torch.from_numpy(codec.encode(windows.frames))
    log.info("condition: frame latents of %d PCA components", codec.k)
    return Prepared(windows=windows, scaler=scaler, codec=codec, latents=latents, scale=scale, device=device,
                    encoder=TextEncoder(max_tokens=cfg.text_tokens, device=device))


def train_set(prep: Prepared, params: Params, variant: str) -> TrainSet:
    """The windows with their prompts encoded for ``variant`` (each distinct prompt encoded once)."""
    cfg, table = params.condition, prep.windows.table
    parts = [prompt_parts(c, {m: float(v[m]) for m in cfg.metrics}, variant=variant, decimals=cfg.decimals)
             for c, v in zip(table["caption"], table[list(cfg.metrics)].to_dict("records"))]
    uniq = list(dict.fromkeys(parts))
    where = {p: i for i, p in enumerate(uniq)}
    feats, mask = prep.encoder.encode(uniq)
    metrics = torch.from_numpy(prep.scaler(table[list(cfg.metrics)].to_numpy())) if variant == "adaln" else None
    return TrainSet(latents=prep.latents, text_index=torch.tensor([where[p] for p in parts]),
                    text=torch.from_numpy(feats), mask=torch.from_numpy(mask), metrics=metrics)


def model_spec(scale: ConditionScale, variant: str, n_metrics: int, latent_dim: int) -> ModelSpec:
    return ModelSpec(frames=scale.frames, latent_dim=latent_dim, dim=scale.dim, depth=scale.depth, heads=scale.heads,
                     text_dim=TEXT_DIM, n_metrics=n_metrics if variant == "adaln" else 0)


def checkpoint_path(params: Params, variant: str) -> Path:
    return Path(params.condition.out_dir) / "checkpoints" / f"{variant}.pt"


def windows_digest(windows: Windows) -> str:
    """What a model is trained on: the windows' table (clips, cuts, captions, metric values) and their frames."""
    h = hashlib.blake2b(digest_size=16)
    h.update(pd.util.hash_pandas_object(windows.table, index=False).to_numpy().tobytes())
    h.update(np.ascontiguousarray(windows.frames).tobytes())
    return h.hexdigest()


def train_variant(prep: Prepared, params: Params, variant: str, *, stop_at: int | None = None) -> TrainState:
    """Train (or resume, or reuse) one variant; both variants get the same steps, batch and seed."""
    cfg, scale = params.condition, prep.scale
    meta = {
        "variant": variant, "metrics": list(cfg.metrics), "scaler": prep.scaler.as_dict(), "codec": prep.codec.state(),
        "fps": cfg.fps,
        "decimals": cfg.decimals, "text_tokens": cfg.text_tokens,
        "fingerprint": item_fingerprint({
            "variant": variant, "scale": to_dict(scale), "cfg": {k: v for k, v in to_dict(cfg).items() if not k.startswith("sweep")},
            "windows": windows_digest(prep.windows),  # a checkpoint trained on other windows is not resumed
            "code": code_version("koala.condition.model", "koala.condition.embeddings", "koala.condition.train",
                                 "koala.condition.text", "koala.condition.latent"),
        }),
    }
    return train(model_spec(scale, variant, len(cfg.metrics), prep.codec.k), lambda: train_set(prep, params, variant), steps=scale.steps, batch_size=scale.batch_size,
                 lr=scale.lr, seed=cfg.seed, checkpoint=checkpoint_path(params, variant),
                 checkpoint_every=cfg.checkpoint_every, meta=meta, device=prep.device, stop_at=stop_at)


def train_item(item: dict) -> dict:
    """One variant trained in its own process (engine item): rebuilds the params, prepares, trains to its checkpoint."""
    params = build(Params, item["params"])
    prep = prepare(params, smoke=item["smoke"], quiet=True)
    state = train_variant(prep, params, item["variant"])
    return {"variant": item["variant"], "steps": state.step, "train_seconds": state.seconds}


def train_parallel(params: Params, variants: tuple[str, ...], *, smoke: bool) -> None:
    """Train the variants side by side, one process and one thread each (the CPU default: two variants, two cores).

    The checkpoints are the results: the caller's :func:`train_variant` then finds them finished
    (or, if a process failed, trains what is left itself).
    """
    items = [{"key": v, "variant": v, "smoke": smoke, "params": to_dict(params),
              "outputs": [str(checkpoint_path(params, v))],
              "code": code_version("koala.condition")} for v in variants]
    res = map_items(train_item, items, stage="condition_train", cfg=params.engine, desc="condition training")
    for row in res.errors.itertuples():
        log.warning("training %s in its own process failed (%s); training it here", row.key, row.message)


def evaluate_variant(state_model, prep: Prepared, params: Params, variant: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The motion sweep of one trained variant: generated clips and their measured metrics."""
    cfg = params.condition
    levels = E.sweep_levels(prep.windows.table, cfg)
    prompts = E.sweep_prompts(prep.windows.table, cfg)
    clips = E.generate(state_model, variant=variant, prompts=prompts, levels=levels, seeds=cfg.sweep_seeds,
                       scaler=prep.scaler, codec=prep.codec, encoder=prep.encoder, cfg=cfg, sample_steps=prep.scale.sample_steps,
                       device=prep.device)
    names = tuple(dict.fromkeys(("motion_score",) + cfg.drift_metrics + cfg.metrics))
    table = E.measure_sweep(clips, variant=variant, prompts=prompts, levels=levels, names=names, fps=cfg.fps,
                            score_cfg=params.score)
    return table, clips


def run_condition(params: Params, *, smoke: bool = False, metrics_path: str | Path | None = None,
                  variants: tuple[str, ...] | None = None, evaluate: bool = True) -> ConditionResult:
    """The whole experiment: windows, training of each variant (resumable), sweep, summary JSON."""
    from koala.condition import figures

    cfg = params.condition
    variants = tuple(variants or cfg.variants)
    prep = prepare(params, smoke=smoke)
    out = Path(cfg.out_dir) / "eval"
    summary: dict = {"device": prep.device, "scale": to_dict(prep.scale), "windows": len(prep.windows.table),
                     "clips": int(prep.windows.table["clip_id"].nunique()), "smoke": smoke, "variants": {}}
    sweeps, clips = [], {}
    if cfg.parallel and prep.device == "cpu" and len(variants) > 1 and params.engine.workers > 1 and params.engine.kind == "local":
        train_parallel(params, variants, smoke=smoke)
    for variant in variants:
        state = train_variant(prep, params, variant)
        info = {"steps": state.step, "train_seconds": round(state.seconds, 1), "train_cpu_seconds": round(state.cpu_seconds, 1),
                "parameters": sum(p.numel() for p in state.model.parameters()),
                "final_loss": state.losses[-1] if state.losses else float("nan")}
        if evaluate:
            table, gen = evaluate_variant(state.model, prep, params, variant)
            info.update(E.controllability(table, prep.windows.table, cfg.drift_metrics))
            sweeps.append(table)
            clips[variant] = gen
            out.mkdir(parents=True, exist_ok=True)
            np.save(out / f"{variant}.npy", gen)
            figures.grid(gen[0, 0], table[(table.prompt == 0) & (table.seed == 0)]).savefig(out / f"grid_{variant}.png", dpi=110)
        summary["variants"][variant] = info
        log.info("condition %s: %s", variant, {k: (round(v, 3) if isinstance(v, float) else v) for k, v in info.items()})
    sweep = pd.concat(sweeps, ignore_index=True) if sweeps else pd.DataFrame()
    if evaluate and len(sweep):
        write_table(sweep, out / "sweep.parquet")
        v = summary["variants"]
        if {"adaln", "text"} <= set(v):
            summary["targets"] = {
                "adaln_spearman_at_least_0.8": bool(v["adaln"]["spearman"] >= 0.8),
                "adaln_spearman_above_text": bool(v["adaln"]["spearman"] > v["text"]["spearman"]),
                "adaln_drift_below_text": bool(v["adaln"]["drift"] < v["text"]["drift"]),
                "adaln_drift_per_response_below_text": bool(v["adaln"]["drift_per_response"] < v["text"]["drift_per_response"]),
            }
    if metrics_path:
        write_json(metrics_path, summary)
    return ConditionResult(sweep=sweep, summary=summary, clips=clips, windows=prep.windows.table)


def summary_frame(summary: dict) -> pd.DataFrame:
    """One row per variant: controllability, drift and training facts from :func:`run_condition`'s summary."""
    cols = ["spearman", "spearman_min", "spearman_pooled", "drift", "motion_response", "drift_per_response", "steps", "train_seconds", "train_cpu_seconds",
            "parameters", "final_loss"]
    frame = pd.DataFrame(summary["variants"]).T
    drift_cols = sorted(c for c in frame.columns if c.startswith("drift_"))
    return frame[[c for c in cols if c in frame.columns] + drift_cols]


def table2_frame(sweep: pd.DataFrame, windows: pd.DataFrame) -> pd.DataFrame:
    """The paper's Table 2 rows (Dynamic Degree, no condition vs condition) beside our dynamic share at low and high asks."""
    ours = E.dynamic_share(sweep, windows)
    paper = PAPER_TABLE2[["model", "dynamic_degree"]].rename(columns={"dynamic_degree": "paper_dynamic_degree"})
    return pd.concat([paper.assign(source="paper, VBench (Table 2)"),
                      ours.assign(source="ours, motion_score > median training window")], ignore_index=True)


def sample_clips(checkpoint: str | Path, *, caption: str, motions: list[float], seed: int = 0,
                 values: dict[str, float] | None = None, steps: int | None = None, device: str = "cpu") -> np.ndarray:
    """Clips (len(motions), T, H, W, 3) uint8 from a trained checkpoint, one per asked motion, same noise.

    Args:
        values: the other conditioned metrics (default: the middle of their training range).
    """
    model, blob = load_checkpoint(checkpoint, device)
    meta = blob["meta"]
    scaler = MetricScaler.from_dict(meta["scaler"])
    mid = {n: float(np.expm1((lo + hi) / 2) if lg else (lo + hi) / 2)
           for n, lo, hi, lg in zip(scaler.names, scaler.lo, scaler.hi, scaler.log)}
    base = {**mid, **(values or {})}
    asked = [{**base, "motion_score": float(m)} for m in motions]
    enc = TextEncoder(max_tokens=meta["text_tokens"], device=device)
    feats, mask = enc.encode([prompt_parts(caption, a, variant=meta["variant"], decimals=meta["decimals"]) for a in asked])
    metrics = torch.from_numpy(scaler(np.array([[a[n] for n in scaler.names] for a in asked]))).to(device) if model.spec.n_metrics else None
    spec = model.spec
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn((1, spec.frames, spec.latent_dim), generator=g).expand(len(motions), -1, -1)
    from koala.condition.model import sample

    z = sample(model, noise.to(device), torch.from_numpy(feats).float().to(device), torch.from_numpy(mask).to(device),
               metrics, steps=steps or 24)
    return FrameCodec.from_state(meta["codec"]).decode(z)
