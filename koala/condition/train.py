"""Train one conditioning variant with rectified flow; checkpoints let a killed run continue exactly.

Every random draw of step ``k`` (batch, timesteps, noise) comes from a generator seeded with
(seed, k), and the learning rate is a function of the step, so a run resumed from a checkpoint
takes the same steps as one never interrupted.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from koala.condition.model import ModelSpec, VideoDiT, flow_loss
from koala.io.atomic import atomic_path

log = logging.getLogger(__name__)


@dataclass
class TrainSet:
    """Tensors one variant trains on."""

    latents: torch.Tensor  # (N, T, k) float32 whitened frame latents of the training windows
    text_index: torch.Tensor  # (N,) long: row of ``text`` each clip's prompt is
    text: torch.Tensor  # (U, L, 384) float16 token features of the distinct prompts
    mask: torch.Tensor  # (U, L) bool
    metrics: torch.Tensor | None  # (N, M) float32 normalised conditions (adaln variant), else None


@dataclass
class TrainState:
    model: VideoDiT
    step: int
    losses: list[float] = field(default_factory=list)  # mean loss per logged interval
    seconds: float = 0.0  # training wall time summed over runs
    cpu_seconds: float = 0.0  # process CPU time of training: the wall time on an unshared core at threads = 1


def learning_rate(step: int, *, steps: int, lr: float) -> float:
    """Linear warm-up over the first 5 % of steps, then cosine decay to a tenth (ours)."""
    warm = max(1, steps // 20)
    if step < warm:
        return lr * (step + 1) / warm
    frac = (step - warm) / max(1, steps - warm)
    return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))


def step_batch(data: TrainSet, step: int, *, seed: int, batch_size: int) -> tuple:
    """The batch, timesteps and noise of step ``step``: a pure function of (seed, step)."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + step)
    idx = torch.randint(len(data.latents), (batch_size,), generator=g)
    t = torch.sigmoid(torch.randn(batch_size, generator=g))  # logit-normal timesteps (SD3; ours)
    x0 = data.latents[idx]
    noise = torch.randn(x0.shape, generator=g)
    ti = data.text_index[idx]
    m = None if data.metrics is None else data.metrics[idx]
    return x0, noise, t, data.text[ti].float(), data.mask[ti], m


def save_checkpoint(path: Path, state: TrainState, optim: torch.optim.Optimizer, meta: dict) -> None:
    """Model, optimiser, step and metadata, written atomically (a kill mid-write leaves the old one)."""
    blob = {"step": state.step, "model": state.model.state_dict(), "optim": optim.state_dict(),
            "spec": state.model.spec.as_dict(), "losses": state.losses, "seconds": state.seconds,
            "cpu_seconds": state.cpu_seconds, "meta": meta}
    with atomic_path(path) as tmp:
        torch.save(blob, tmp)


def load_checkpoint(path: str | Path, device: str = "cpu") -> tuple[VideoDiT, dict]:
    """A trained model (eval mode) and its checkpoint's metadata."""
    blob = torch.load(path, map_location=device, weights_only=False)
    model = VideoDiT(ModelSpec(**blob["spec"])).to(device)
    model.load_state_dict(blob["model"])
    return model.eval(), blob


def train(spec: ModelSpec, data: TrainSet | Callable[[], TrainSet], *, steps: int, batch_size: int, lr: float, seed: int,
          checkpoint: str | Path, checkpoint_every: int, meta: dict, device: str = "cpu",
          stop_at: int | None = None) -> TrainState:
    """Train (or resume) one variant to ``steps`` optimiser steps.

    Args:
        data: the training set, or a function making it (called only when there are steps left:
            a finished checkpoint is reused without encoding the prompts again).
        meta: saved in the checkpoint; a checkpoint whose ``meta["fingerprint"]`` differs (other
            data or settings) is not resumed but replaced.
        stop_at: stop after this step (as a kill would), leaving a checkpoint to resume from.

    Returns:
        The final state (model in eval mode).
    """
    checkpoint = Path(checkpoint)
    torch.manual_seed(seed)
    model = VideoDiT(spec).to(device)
    optim = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    state = TrainState(model=model, step=0)
    if checkpoint.exists():
        blob = torch.load(checkpoint, map_location=device, weights_only=False)
        if blob["meta"].get("fingerprint") == meta.get("fingerprint") and blob["spec"] == spec.as_dict():
            model.load_state_dict(blob["model"])
            optim.load_state_dict(blob["optim"])
            state = TrainState(model=model, step=blob["step"], losses=list(blob["losses"]), seconds=blob["seconds"],
                               cpu_seconds=blob.get("cpu_seconds", 0.0))
            log.info("%s: resuming at step %d of %d", checkpoint, state.step, steps)
        else:
            log.info("%s: saved for other settings; training from scratch", checkpoint)
    end = steps if stop_at is None else min(steps, stop_at)
    if state.step >= end:
        return _finish(state)
    if callable(data):
        data = data()
    from tqdm.auto import tqdm

    model.train()
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.startswith("cuda") else contextlib.nullcontext()
    bar = tqdm(total=end, initial=state.step, desc=f"train {meta.get('variant', '')}", unit="step")
    running, t0, c0 = [], time.perf_counter(), time.process_time()
    while state.step < end:
        for group in optim.param_groups:
            group["lr"] = learning_rate(state.step, steps=steps, lr=lr)
        x0, noise, t, text, mask, m = (None if v is None else v.to(device) for v in
                                       step_batch(data, state.step, seed=seed, batch_size=batch_size))
        with autocast:
            loss = flow_loss(model, x0, noise, t, text, mask, m)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        state.step += 1
        running.append(loss.item())
        bar.update(1)
        if state.step % 25 == 0 or state.step == end:
            state.losses.append(float(np.mean(running)))
            bar.set_postfix(loss=f"{state.losses[-1]:.4f}")
            running = []
        if state.step % checkpoint_every == 0 or state.step == end:
            state.seconds += time.perf_counter() - t0
            state.cpu_seconds += time.process_time() - c0
            t0, c0 = time.perf_counter(), time.process_time()
            save_checkpoint(checkpoint, state, optim, meta)
    bar.close()
    log.info("%s: step %d of %d, loss %.4f, %.0f s of training", checkpoint.name, state.step, steps,
             state.losses[-1] if state.losses else float("nan"), state.seconds)
    return _finish(state)


def _finish(state: TrainState) -> TrainState:
    state.model.eval()
    return state

