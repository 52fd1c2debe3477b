"""Self-supervised pretraining of the TSA's video branches on the degradations themselves (issue 17, part 3).

The paper's dynamic and static branches start from pretrained weights (the released Swin, Kinetics
and ImageNet); none ship offline, and trained from random weights on a few hundred proxy clips they
memorise clips instead of learning the damage. Pretext task: from a clip's fragments (dynamic) and
whole frames (static), predict *which* degradations were applied (one logit per kind of
:mod:`koala.vtss.degrade`, multi-label: two-flaw mixes have two) and *how strong* each is (severity
0-4 per kind). The target is known by construction, so no human label is needed. The branches are
then fine-tuned on the proxy labels like any other variant (``<variant>_ssl``).

Leakage: the severity *is* the proxy label, so pretraining sees only the fold's training sources
(the caller passes them); a held-out source is never seen, clean or damaged.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Sequence

import numpy as np
import torch
from torch import nn

from koala.config import VtssTsaSize
from koala.vtss.degrade import DEGRADATIONS
from koala.vtss.train import TsaData, normalise_fragments, normalise_frames
from koala.vtss.tsa import build_tsa

log = logging.getLogger(__name__)

SSL_SUFFIX = "_ssl"  # a variant name ending in this: the base variant, video branches pretrained first
VIDEO_MODULES = ("fragments_backbone", "dynamic_head", "image_backbone", "image_head")  # what pretraining hands on


def base_variant(variant: str) -> tuple[str, bool]:
    """``full_ssl`` -> (``full``, True); ``full`` -> (``full``, False)."""
    if variant.endswith(SSL_SUFFIX):
        return variant[: -len(SSL_SUFFIX)], True
    return variant, False


def kind_targets(degradations: Sequence[str], kinds: Sequence[str] = tuple(DEGRADATIONS)) -> np.ndarray:
    """Severity of each kind per proxy clip, from its name (``blur3+text1``; ``clean``): (N, K) float32.

    Raises:
        ValueError: a step names an unknown kind.
    """
    out = np.zeros((len(degradations), len(kinds)), np.float32)
    for i, name in enumerate(degradations):
        if name == "clean":
            continue
        for step in name.split("+"):
            kind = step.rstrip("0123456789")
            if kind not in kinds:
                raise ValueError(f"proxy clip {name!r}: unknown degradation {kind!r}")
            out[i, list(kinds).index(kind)] = float(step[len(kind):])
    return out


class PretextModel(nn.Module):
    """The video branches of a TSA variant and a linear pretext head: (presence logits, severities) per kind."""

    def __init__(self, size: VtssTsaSize, n_metrics: int, variant: str, n_kinds: int):
        super().__init__()
        self.tsa = build_tsa(size, n_metrics, variant)
        self.video = [b for b in self.tsa.spec.branches if b != "label"]
        if not self.video:
            raise ValueError(f"variant {variant!r} has no video branch to pretrain")
        self.head = nn.Linear(size.feature_dim * len(self.video), 2 * n_kinds)

    def forward(self, fragments=None, frames=None) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.tsa.features(fragments=fragments, frames=frames)
        out = self.head(torch.cat([f[b] for b in self.video], -1))
        presence, severity = out.chunk(2, -1)
        return presence, severity


def pretrain_video(data: TsaData, targets: np.ndarray, *, variant: str, size: VtssTsaSize, epochs: int,
                   device: torch.device, seed: int = 0) -> tuple[dict[str, torch.Tensor], list[dict]]:
    """Train the video branches of ``variant`` to recognise the degradations; return their weights.

    Args:
        data: the training clips only (fragments, frames); labels are not used.
        targets: (N, K) severity per kind (:func:`kind_targets`).
        variant: the TSA variant whose video branches are pretrained.
        size: network sizes, learning rate and batch size.
        epochs: passes over ``data`` (one fragment clip drawn per clip and step, as in training).
        device: where to train.
        seed: torch and numpy seed.

    Returns:
        (state dict of the TSA's video-branch tensors, with their TSA names; history per epoch).
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = PretextModel(size, data.metrics.shape[1], variant, targets.shape[1]).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=size.lr, weight_decay=0.05)
    steps = max(1, epochs * math.ceil(len(data) / size.batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=size.lr, total_steps=steps, pct_start=0.1)
    present = torch.from_numpy((targets > 0).astype(np.float32))
    severity = torch.from_numpy(targets / 4.0)
    k = data.fragments.shape[1]
    history = []
    for epoch in range(epochs):
        model.train()
        t0, losses = time.perf_counter(), []
        order = rng.permutation(len(data))
        for s in range(0, len(order), size.batch_size):
            idx = order[s:s + size.batch_size]
            frag = normalise_fragments(data.fragments[idx, rng.integers(0, k, len(idx))]).to(device) if "dynamic" in model.video else None
            frames = normalise_frames(data.frames[idx]).to(device) if "static" in model.video else None
            logits, sev = model(frag, frames)
            loss = (nn.functional.binary_cross_entropy_with_logits(logits, present[idx].to(device))
                    + nn.functional.mse_loss(sev, severity[idx].to(device)))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
        history.append({"epoch": epoch + 1, "loss": float(np.mean(losses)), "seconds": time.perf_counter() - t0})
        log.info("pretrain %s: epoch %d loss %.3f", variant, epoch + 1, history[-1]["loss"])
    state = {k: v.detach().cpu() for k, v in model.tsa.state_dict().items() if k.split(".")[0] in VIDEO_MODULES}
    return state, history


def load_video_state(model: nn.Module, state: dict[str, torch.Tensor]) -> int:
    """Copy pretrained video-branch tensors into a TSA of the same size; returns how many were copied.

    Raises:
        ValueError: a tensor's shape differs (another size preset).
    """
    own = model.state_dict()
    bad = [k for k, v in state.items() if k in own and tuple(own[k].shape) != tuple(v.shape)]
    if bad:
        raise ValueError(f"pretrained video weights do not fit this TSA (e.g. {bad[:2]}); same size preset needed")
    sub = {k: v for k, v in state.items() if k in own}
    model.load_state_dict(sub, strict=False)
    return len(sub)
