"""A tiny latent space for the generator: a per-frame linear autoencoder (PCA) fitted on the training windows.

The paper's generator works on the latents of a 3D causal VAE (docs/koala36m-paper.md §2.8); no VAE weights ship
offline, and training one does not fit the CPU budget. A PCA of whole frames is the smallest
autoencoder that keeps what the experiment measures: reconstructing the training windows through
96 components kept the order of their measured motion (Spearman 0.97 between a window's motion
and its reconstruction's, 200 windows of the sample clips; 0.97 at 32 components, 0.99 at 256) and
every still window stayed at motion 0. Latents are whitened (unit variance per component), the
usual latent normalisation before diffusion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class FrameCodec:
    """Frames (H, W, 3) uint8 <-> whitened PCA coefficients (k,)."""

    mean: np.ndarray  # (D,) float32, D = H * W * 3, pixels in [0, 1]
    components: np.ndarray  # (k, D) float32, orthonormal rows
    scale: np.ndarray  # (k,) float32: standard deviation of each coefficient over the training frames
    shape: tuple[int, int, int]  # (H, W, 3)

    @classmethod
    def fit(cls, clips: np.ndarray, k: int, *, seed: int, max_frames: int = 20000) -> "FrameCodec":
        """PCA of the frames of ``clips`` (N, T, H, W, 3) uint8, ``k`` components (fewer if there are fewer frames).

        At most ``max_frames`` frames (a seeded draw) are used: the GPU sizes have ~140k frames of
        12k values, 7 GB in float32.
        """
        from sklearn.decomposition import PCA

        frames = clips.reshape(-1, int(np.prod(clips.shape[2:])))
        if len(frames) > max_frames:
            frames = frames[np.sort(np.random.default_rng(seed).choice(len(frames), max_frames, replace=False))]
        frames = frames.astype(np.float32) / 255.0
        k = int(min(k, frames.shape[0] - 1, frames.shape[1]))
        pca = PCA(k, svd_solver="randomized", random_state=seed).fit(frames)
        scale = np.sqrt(np.maximum(pca.explained_variance_, 1e-8)).astype(np.float32)
        return cls(mean=pca.mean_.astype(np.float32), components=pca.components_.astype(np.float32),
                   scale=scale, shape=tuple(int(s) for s in clips.shape[2:]))

    @property
    def k(self) -> int:
        return len(self.scale)

    def encode(self, clips: np.ndarray) -> np.ndarray:
        """(N, T, H, W, 3) uint8 -> (N, T, k) float32 whitened latents."""
        n, t = clips.shape[:2]
        x = clips.reshape(n * t, -1).astype(np.float32) / 255.0
        z = (x - self.mean) @ self.components.T / self.scale
        return z.reshape(n, t, self.k).astype(np.float32)

    def decode(self, latents: np.ndarray | torch.Tensor) -> np.ndarray:
        """(N, T, k) latents -> (N, T, H, W, 3) uint8 clips."""
        z = latents.detach().float().cpu().numpy() if isinstance(latents, torch.Tensor) else np.asarray(latents, np.float32)
        n, t = z.shape[:2]
        x = (z.reshape(n * t, self.k) * self.scale) @ self.components + self.mean
        return np.clip(np.round(x * 255.0), 0, 255).astype(np.uint8).reshape(n, t, *self.shape)

    def state(self) -> dict:
        """Tensors for a checkpoint."""
        return {"mean": torch.from_numpy(self.mean), "components": torch.from_numpy(self.components),
                "scale": torch.from_numpy(self.scale), "shape": list(self.shape)}

    @classmethod
    def from_state(cls, d: dict) -> "FrameCodec":
        return cls(mean=d["mean"].numpy(), components=d["components"].numpy(), scale=d["scale"].numpy(),
                   shape=tuple(d["shape"]))
