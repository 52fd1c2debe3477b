"""Timestep and metric embeddings: the paper's metric path (docs/koala36m-paper.md §2.7, Fig. 8).

Each metric value goes through a sinusoidal (frequency) embedding and its own MLP; the results are
added to the timestep embedding, and that sum conditions every transformer block through adaptive
layer norm. The embedding is the same construction DiT uses for the diffusion timestep.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def sinusoidal(x: torch.Tensor, dim: int, *, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal features of scalars ``x`` (B,) -> (B, dim), as the DiT/ADM timestep embedding.

    Frequencies are geometric from 1 to 1/max_period; inputs are expected on a 0-1000 scale (a
    timestep in [0, 1] or a metric normalised to [0, 1] is multiplied by 1000 before this).
    """
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=x.device) / half)
    args = x.float()[:, None] * freqs[None]  # (B, half)
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


class ScalarEmbedder(nn.Module):
    """A scalar in [0, 1] -> sinusoidal features -> a two-layer MLP -> (B, dim)."""

    def __init__(self, dim: int, *, freq_dim: int = 256):
        super().__init__()
        self.freq_dim = freq_dim
        self.mlp = nn.Sequential(nn.Linear(freq_dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(sinusoidal(x * 1000.0, self.freq_dim))


class MetricEmbedder(nn.Module):
    """One :class:`ScalarEmbedder` per metric; their sum is added to the timestep embedding.

    The paper says the metrics pass "through an MLP to obtain several embeddings" (one per
    metric); whether the MLP is shared is not stated: ours has one per metric.
    """

    def __init__(self, n_metrics: int, dim: int, *, freq_dim: int = 256):
        super().__init__()
        self.embedders = nn.ModuleList(ScalarEmbedder(dim, freq_dim=freq_dim) for _ in range(n_metrics))

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        """``values`` (B, M) normalised metrics -> (B, dim)."""
        return sum(e(values[:, i]) for i, e in enumerate(self.embedders))
