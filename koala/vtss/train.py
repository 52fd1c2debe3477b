"""Training and evaluating the TSA (paper App. C; docs/koala36m-paper.md §2.5), and its Table 5/6 ablations.

Recipe: AdamW (weight decay 0.05), linear warm-up then cosine decay per step, an EMA of the
weights (the EMA model is the one evaluated and saved), loss MSE + ``corr_weight`` x (1 - PLCC) of
each batch (FAST-VQA trains on correlation; MSE keeps the output on the 1-5 scale), seeded,
CUDA when present. A resumable checkpoint is written every ``checkpoint_every`` epochs, so a
killed run continues from its last one. Training draws one of a clip's fragment clips at random
per step (augmentation); evaluation averages the prediction over all of them, as the released
scorer averages its 4 clips.

Evaluation follows the official code: predictions are linearly rescaled to the labels' mean and
standard deviation, then PLCC, SRCC, KRCC (scipy.stats) and RMSE.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy import stats
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm.auto import tqdm

from koala.config import VtssConfig, VtssTsaSize, build
from koala.io.atomic import write_json
from koala.vtss.features import FEATURE_NAMES
from koala.vtss.calibrate import Calibration
from koala.vtss.fragments import MEAN, STD
from koala.vtss.released import CheckpointError
from koala.vtss.tsa import TSA, TsaSpec, build_tsa, init_dynamic_from_released

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MetricScaler:
    """Robust standardisation of the sub-metrics, fitted on training clips only (kept in the checkpoint).

    (x - median) / IQR, clipped to [-clip, clip] (5 for the networks): motion scores span 0.01-267 with a long tail, which a
    mean/std would let a few clips dominate. A metric missing everywhere gets centre 0, scale 1.
    """

    center: tuple[float, ...]
    scale: tuple[float, ...]
    clip: float = 5.0  # |z| bound; the tree model (koala.vtss.trees) keeps the tails: a split needs no bound

    @classmethod
    def fit(cls, metrics: np.ndarray) -> "MetricScaler":
        """metrics: (N, M) with NaN."""
        with warnings.catch_warnings():  # a metric NaN for every clip (no aesthetic weights) is expected
            warnings.simplefilter("ignore", RuntimeWarning)
            q1, med, q3 = np.nanpercentile(metrics, [25, 50, 75], axis=0)
            span = np.nanmax(metrics, axis=0) - np.nanmin(metrics, axis=0)
        iqr = q3 - q1
        iqr = np.where(np.isfinite(iqr) & (iqr > 1e-9), iqr, np.where(np.isfinite(span) & (span > 1e-9), span, 1.0))
        med = np.where(np.isfinite(med), med, 0.0)
        return cls(center=tuple(float(v) for v in med), scale=tuple(float(v) for v in iqr))

    def transform(self, metrics: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, M) with NaN -> (values with NaN at 0, mask 1 where missing), float32."""
        mask = ~np.isfinite(metrics)
        z = (np.where(mask, 0.0, metrics) - np.array(self.center)) / np.array(self.scale)
        z = np.where(mask, 0.0, np.clip(z, -self.clip, self.clip))
        return z.astype(np.float32), mask.astype(np.float32)


def normalise_fragments(fragments: np.ndarray) -> torch.Tensor:
    """(B, T, S, S, 3) uint8 -> (B, 3, T, S, S) float32, ImageNet mean/std on the 0-255 scale."""
    x = (torch.from_numpy(np.ascontiguousarray(fragments)).float() - torch.from_numpy(MEAN)) / torch.from_numpy(STD)
    return x.permute(0, 4, 1, 2, 3).contiguous()


def normalise_frames(frames: np.ndarray) -> torch.Tensor:
    """(B, F, s, s, 3) uint8 -> (B, F, 3, s, s) float32, ImageNet mean/std (torchvision's ConvNeXt convention)."""
    x = (torch.from_numpy(np.ascontiguousarray(frames)).float() - torch.from_numpy(MEAN)) / torch.from_numpy(STD)
    return x.permute(0, 1, 4, 2, 3).contiguous()

SIZES = ("tiny", "paper", "auto")


@dataclass
class TsaData:
    """Inputs and labels of a set of clips, compact: uint8 pixels, raw sub-metrics."""

    fragments: np.ndarray  # (N, K, T, S, S, 3) uint8
    frames: np.ndarray  # (N, F, s, s, 3) uint8
    metrics: np.ndarray  # (N, M) float64 raw, NaN where missing
    labels: np.ndarray  # (N,) float64 on 1-5 (NaN when unlabelled)

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, idx: np.ndarray) -> "TsaData":
        return TsaData(self.fragments[idx], self.frames[idx], self.metrics[idx], self.labels[idx])


def resolve_size(cfg: VtssConfig, device: torch.device | None = None) -> tuple[str, VtssTsaSize]:
    """The size preset in use: ``auto`` is ``paper`` with CUDA, else ``tiny``.

    Raises:
        ValueError: an unknown size name.
    """
    name = cfg.train.size
    if name not in SIZES:
        raise ValueError(f"vtss.train.size must be one of {SIZES}, not {name!r}")
    if name == "auto":
        cuda = (device.type == "cuda") if device is not None else torch.cuda.is_available()
        name = "paper" if cuda else "tiny"
    return name, getattr(cfg, name)


def linear_rescale(pred: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Predictions moved to the labels' mean and standard deviation (the official evaluation)."""
    pred = np.asarray(pred, np.float64)
    sd = pred.std()
    z = (pred - pred.mean()) / sd if sd > 0 else np.zeros_like(pred)
    return z * np.std(labels) + np.mean(labels)


def evaluate(pred: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """PLCC, SRCC, KRCC and RMSE after the linear rescale; NaN (with too few clips or constant input)."""
    pred, labels = np.asarray(pred, np.float64), np.asarray(labels, np.float64)
    ok = np.isfinite(pred) & np.isfinite(labels)
    pred, labels = pred[ok], labels[ok]
    out = {"n": int(len(labels))}
    if len(labels) < 3 or np.std(pred) == 0 or np.std(labels) == 0:
        return out | {"plcc": math.nan, "srcc": math.nan, "krcc": math.nan, "rmse": math.nan}
    r = linear_rescale(pred, labels)
    return out | {"plcc": float(stats.pearsonr(r, labels)[0]), "srcc": float(stats.spearmanr(r, labels)[0]),
                  "krcc": float(stats.kendalltau(r, labels)[0]), "rmse": float(np.sqrt(np.mean((r - labels) ** 2)))}


def plcc_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1 - Pearson correlation of a batch (0 when the batch is too small or constant)."""
    if pred.numel() < 3:
        return pred.sum() * 0
    p, t = pred - pred.mean(), target - target.mean()
    denom = p.norm() * t.norm()
    return 1 - (p * t).sum() / denom.clamp_min(1e-8)


def batch_tensors(data: TsaData, idx: np.ndarray, draw: np.ndarray, scaler: MetricScaler, spec: TsaSpec,
                  device: torch.device) -> dict[str, torch.Tensor | None]:
    """Model inputs of clips ``idx`` with fragment clip ``draw`` of each; branches the model lacks stay None."""
    out: dict[str, torch.Tensor | None] = {"fragments": None, "frames": None, "metrics": None, "mask": None}
    if "dynamic" in spec.branches:
        out["fragments"] = normalise_fragments(data.fragments[idx, draw]).to(device)  # (B, 3, T, S, S)
    if "static" in spec.branches:
        out["frames"] = normalise_frames(data.frames[idx]).to(device)  # (B, F, 3, s, s)
    if "label" in spec.branches:
        z, m = scaler.transform(data.metrics[idx])
        out["metrics"], out["mask"] = torch.from_numpy(z).to(device), torch.from_numpy(m).to(device)
    return out


@torch.no_grad()
def predict_data(model: torch.nn.Module, data: TsaData, scaler: MetricScaler, device: torch.device, *, batch: int = 16) -> np.ndarray:
    """Mean prediction over every fragment clip of each clip: (N,) float64."""
    return predict_draws(model, data, scaler, device, batch=batch).mean(1)


@torch.no_grad()
def predict_draws(model: torch.nn.Module, data: TsaData, scaler: MetricScaler, device: torch.device, *, batch: int = 16) -> np.ndarray:
    """Prediction with each fragment clip of each clip: (N, K) float64 (K equal columns without a dynamic branch)."""
    spec: TsaSpec = model.spec if hasattr(model, "spec") else model.module.spec
    model.eval()
    k = data.fragments.shape[1]
    preds = np.zeros((len(data), k))
    for start in range(0, len(data), batch):
        idx = np.arange(start, min(start + batch, len(data)))
        for j in range(k if "dynamic" in spec.branches else 1):
            preds[idx, j] = model(**batch_tensors(data, idx, np.full(len(idx), j), scaler, spec, device)).double().cpu().numpy()
        if "dynamic" not in spec.branches:
            preds[idx, 1:] = preds[idx, :1]
    return preds


def lr_lambda(total_steps: int, warmup_steps: int):
    """Linear warm-up to 1, then cosine decay to 0 (FAST-VQA's schedule)."""
    def f(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(1, warmup_steps)
        prog = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, prog)))
    return f


def data_digest(data: TsaData) -> str:
    """The training data's contents: a rebuilt proxy set whose pixels or sub-metrics differ is new data."""
    h = hashlib.sha256()
    for a in (data.fragments, data.frames, data.metrics, data.labels):
        h.update(str(a.shape).encode())
        h.update(np.ascontiguousarray(a).data)
    return h.hexdigest()[:16]


def run_fingerprint(variant: str, size: VtssTsaSize, cfg: VtssConfig, train_ids: list[str], init: str,
                    data: str = "") -> str:
    """What a checkpoint depends on: resuming from a checkpoint of another setting (or data) would be wrong."""
    blob = json.dumps({"variant": variant, "size": asdict(size), "train": asdict(cfg.train), "ids": sorted(train_ids),
                       "init": init, "data": data}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass
class TrainResult:
    model: torch.nn.Module  # the EMA model, eval mode
    scaler: MetricScaler
    history: pd.DataFrame  # epoch, loss, lr, seconds
    resumed_from: int  # epoch a checkpoint was resumed at (0: from scratch)


def train_tsa(data: TsaData, *, variant: str, size: VtssTsaSize, cfg: VtssConfig, device: torch.device,
              run_dir: str | Path, train_ids: list[str], released_state: dict | None = None,
              init_state: dict | None = None, init_name: str = "", epochs: int | None = None,
              stop_after: int | None = None) -> TrainResult:
    """Train one TSA variant on ``data`` (all of it is training data), resuming from ``run_dir`` when possible.

    Args:
        data: training clips (labels on 1-5).
        variant: a key of :data:`koala.vtss.tsa.VARIANTS`.
        size: network and schedule sizes.
        cfg: the vtss section (train: optimiser, EMA, loss, seed, checkpoints).
        device: where to train.
        run_dir: checkpoints (``last.pt``) and ``history.csv``.
        train_ids: names of the training clips (part of the checkpoint's fingerprint).
        released_state: the released infer.pth tensors to initialise the dynamic branch (paper size only).
        init_state: pretrained video-branch tensors (:func:`koala.vtss.pretrain.pretrain_video`), copied in
            before training; ``init_name`` names them in the checkpoint's fingerprint.
        epochs: overrides ``size.epochs`` (smoke runs); part of the schedule, so of the checkpoint's identity.
        stop_after: stop (with a checkpoint) after this epoch, as a killed run would; a later call resumes.
    """
    tc = cfg.train
    epochs = size.epochs if epochs is None else epochs
    torch.manual_seed(tc.seed)
    rng = np.random.default_rng(tc.seed)
    scaler = MetricScaler.fit(data.metrics)
    model = build_tsa(size, data.metrics.shape[1], variant, dropout=tc.fusion_dropout)
    init = "scratch"
    if released_state is not None and hasattr(model, "fragments_backbone"):
        init_dynamic_from_released(model, released_state)
        init = "released"
    if init_state is not None:
        from koala.vtss.pretrain import load_video_state

        load_video_state(model, init_state)
        init = f"pretrained:{init_name}"
    model.to(device)
    backbone = {id(p) for p in model.backbone_parameters()} if init == "released" else set()
    groups = [{"params": [p for p in model.parameters() if id(p) not in backbone], "lr": size.lr}]
    if backbone:
        groups.append({"params": [p for p in model.parameters() if id(p) in backbone], "lr": size.lr * tc.backbone_lr_mult})
    opt = torch.optim.AdamW(groups, weight_decay=tc.weight_decay)
    steps_per_epoch = max(1, math.ceil(len(data) / size.batch_size))
    total = epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(total, int(round(size.warmup_epochs * steps_per_epoch))))
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(tc.ema_decay))
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = run_dir / "last.pt"
    fp = run_fingerprint(variant, size, cfg, train_ids, f"{init}:{epochs}", data_digest(data))
    start_epoch, history = 0, []
    if ckpt_path.is_file():
        ck = torch.load(ckpt_path, map_location=device, weights_only=False)  # our own file: optimiser state, RNG
        if ck.get("fingerprint") == fp:
            model.load_state_dict(ck["model"])
            ema.load_state_dict(ck["ema"])
            opt.load_state_dict(ck["opt"])
            sched.load_state_dict(ck["sched"])
            rng.bit_generator.state = ck["np_rng"]
            torch.set_rng_state(ck["torch_rng"])
            start_epoch, history = int(ck["epoch"]), list(ck["history"])
            log.info("%s: resumed at epoch %d of %d from %s", variant, start_epoch, epochs, ckpt_path)
        else:
            log.info("%s: %s is from another setting; training from scratch", variant, ckpt_path)
    labels = torch.from_numpy(data.labels.astype(np.float32))
    k = data.fragments.shape[1]
    bar = tqdm(range(start_epoch, epochs), desc=f"train {variant}", leave=False, initial=start_epoch, total=epochs)
    for epoch in bar:
        model.train()
        t0, losses = time.perf_counter(), []
        order = rng.permutation(len(data))
        for s in range(0, len(order), size.batch_size):
            idx = order[s:s + size.batch_size]
            if len(idx) < 2:  # BatchNorm-free, but a 1-clip batch has no correlation to learn from
                continue
            x = batch_tensors(data, idx, rng.integers(0, k, size=len(idx)), scaler, model.spec, device)
            y = labels[idx].to(device)
            pred = model(**x)
            loss = torch.nn.functional.mse_loss(pred, y) + tc.corr_weight * plcc_loss(pred, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            ema.update_parameters(model)
            losses.append(float(loss.detach()))
        history.append({"epoch": epoch + 1, "loss": float(np.mean(losses)) if losses else math.nan,
                        "lr": float(sched.get_last_lr()[0]), "seconds": time.perf_counter() - t0})
        bar.set_postfix(loss=f"{history[-1]['loss']:.3f}")
        stop = stop_after is not None and epoch + 1 >= stop_after
        if (epoch + 1) % max(1, tc.checkpoint_every) == 0 or epoch + 1 == epochs or stop:
            tmp = ckpt_path.with_suffix(".tmp")
            torch.save({"fingerprint": fp, "epoch": epoch + 1, "model": model.state_dict(), "ema": ema.state_dict(),
                        "opt": opt.state_dict(), "sched": sched.state_dict(), "np_rng": rng.bit_generator.state,
                        "torch_rng": torch.get_rng_state(), "history": history}, tmp)
            tmp.replace(ckpt_path)
        if stop:
            break
    pd.DataFrame(history).to_csv(run_dir / "history.csv", index=False)
    final = ema.module
    final.eval()
    return TrainResult(model=final, scaler=scaler, history=pd.DataFrame(history), resumed_from=start_epoch)


def save_model(path: str | Path, model, scaler: MetricScaler, *, size_name: str, variant: str, decode_short_side: int,
               info: dict, calibration: Calibration | None = None) -> Path:
    """The trained TSA as predict loads it: weights, the shape spec, the metric scaler, provenance, and
    optionally the calibration of its raw output to 1-5 (:mod:`koala.vtss.calibrate`).

    ``model``: a :class:`TSA`, or the ``label_trees`` / ``label_kinds`` ensemble (:class:`koala.vtss.trees.TreeTsa`,
    saved as node arrays)."""
    from koala.vtss.trees import TreeTsa

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    spec = model.spec
    trees = isinstance(model, TreeTsa)
    state = model.trees.to_tensors() if trees else {k: v.detach().cpu() for k, v in model.state_dict().items()}
    obj = {"kind": "koala-tsa", "model_type": "trees" if trees else "tsa", "state_dict": state,
           "size": asdict(spec.size), "size_name": size_name, "n_metrics": spec.n_metrics, "branches": list(spec.branches),
           "fusion": spec.fusion, "dropout": spec.dropout, "variant": variant, "metric_names": list(FEATURE_NAMES),
           "scaler_center": list(scaler.center), "scaler_scale": list(scaler.scale), "scaler_clip": float(scaler.clip),
           "decode_short_side": int(decode_short_side), "info": json.loads(json.dumps(info, default=str)),
           "calibration": calibration.to_dict() if calibration is not None else None}
    if trees and model.severity_labels is not None:  # label_kinds: the label table its summed severities are read through
        obj["severity_labels"] = list(model.severity_labels)
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)
    return path


class NotATsaModel(CheckpointError):
    """A file given as the trained TSA is something else."""


def attach_calibration(path: str | Path, calibration: Calibration, info: dict | None = None) -> Path:
    """Store a calibration (and extra provenance) in a model file written by :func:`save_model`."""
    path = Path(path)
    obj = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(obj, dict) or obj.get("kind") != "koala-tsa":
        raise NotATsaModel(f"{path}: not a koala TSA model")
    obj["calibration"] = calibration.to_dict()
    obj["info"] = {**obj.get("info", {}), **json.loads(json.dumps(info or {}, default=str))}
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)
    return path


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[TSA, MetricScaler, dict]:
    """A TSA saved by :func:`save_model`, in eval mode, with its metric scaler and the saved metadata.

    Raises:
        NotATsaModel: unreadable, or not a koala TSA file, or trained on other sub-metrics.
    """
    path = Path(path)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any load failure means the same to the user
        raise NotATsaModel(f"{path}: not a readable TSA model file ({type(exc).__name__}: {exc})") from None
    if not isinstance(obj, dict) or obj.get("kind") != "koala-tsa":
        raise NotATsaModel(f"{path}: not a koala TSA model (for the released infer.pth use --checkpoint)")
    if list(obj["metric_names"]) != list(FEATURE_NAMES):
        raise NotATsaModel(f"{path}: trained on label-branch inputs {obj['metric_names']}, they are now {list(FEATURE_NAMES)}; "
                           "retrain (and `koala vtss ship` for the packaged model)")
    size = build(VtssTsaSize, obj["size"])
    if obj.get("model_type", "tsa") == "trees":  # the label_trees variant (koala.vtss.trees)
        from koala.vtss.trees import TreeArrays, TreeTsa

        model = TreeTsa(TreeArrays.from_tensors(obj["state_dict"]), size, int(obj["n_metrics"]), obj.get("severity_labels"))
    else:
        spec = TsaSpec(size=size, n_metrics=int(obj["n_metrics"]), branches=tuple(obj["branches"]), fusion=obj["fusion"],
                       dropout=float(obj["dropout"]))
        model = TSA(spec)
        model.load_state_dict(obj["state_dict"], strict=True)
    scaler = MetricScaler(center=tuple(obj["scaler_center"]), scale=tuple(obj["scaler_scale"]),
                          clip=float(obj.get("scaler_clip", 5.0)))
    meta = {k: obj[k] for k in ("size_name", "variant", "decode_short_side", "info")}
    meta["calibration"] = Calibration.from_dict(obj.get("calibration"))  # None: an uncalibrated (older) model
    return model.to(device).eval(), scaler, meta
