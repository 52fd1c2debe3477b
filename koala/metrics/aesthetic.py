"""LAION aesthetic predictor: a linear (or small MLP) head on the L2-normalised CLIP ViT-L/14 image embedding.

The release's aesthetic_score is on the LAION-aesthetic 0-10 scale (2.28-6.56 in the CSV, docs/koala36m-paper.md
§2.3/§5). Neither CLIP ViT-L/14 nor the LAION head ships offline, so both come from local paths in
params (``score.aesthetic.clip_path``: a transformers CLIP folder; ``head_path``: the head's
weights). Without them the metric is NaN and the reason is logged. Two head formats are common
and both load: ``sa_0_4_vit_l_14_linear.pth`` (one ``nn.Linear(768, 1)``: ``weight``, ``bias``) and
the improved predictor's ``sac+logos+ava1-l14-linearMSE.pth`` (``layers.{0,2,4,6,7}`` linear
layers with dropout between and no activations); optionally wrapped in ``state_dict``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from koala.metrics.clip import evenly
from koala.metrics.registry import MetricSpec, Unavailable, metric

log = logging.getLogger(__name__)

_PREDICTORS: dict[tuple, "AestheticPredictor"] = {}


def _head_layers(state: dict) -> list[tuple[np.ndarray, np.ndarray]]:
    """(weight, bias) pairs of a LAION head state dict, in the order they apply.

    Raises:
        ValueError: the file holds no linear layers, or their shapes do not chain to one output.
    """
    if "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    weights = {k[: -len("weight")]: v for k, v in state.items() if k.endswith("weight")}

    def order(prefix: str):
        nums = [int(n) for n in re.findall(r"\d+", prefix)]
        return nums, prefix

    layers = []
    for prefix in sorted(weights, key=order):
        w = np.asarray(weights[prefix].detach().cpu().numpy() if hasattr(weights[prefix], "detach") else weights[prefix], np.float32)
        b = state.get(prefix + "bias")
        b = np.zeros(w.shape[0], np.float32) if b is None else np.asarray(b.detach().cpu().numpy() if hasattr(b, "detach") else b, np.float32)
        if w.ndim != 2:
            raise ValueError(f"head layer {prefix!r} weight has shape {w.shape}, expected 2-D")
        layers.append((w, b.reshape(-1)))
    if not layers:
        raise ValueError("no linear layers (keys ending in 'weight') in the head file")
    for (w1, _), (w2, _) in zip(layers, layers[1:]):
        if w2.shape[1] != w1.shape[0]:
            raise ValueError(f"head layers do not chain: {w1.shape} then {w2.shape}")
    if layers[-1][0].shape[0] != 1:
        raise ValueError(f"the head's last layer has {layers[-1][0].shape[0]} outputs, expected 1")
    return layers


def load_head(path: str | Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """Read a LAION aesthetic head (.pth/.pt via torch, or .safetensors)."""
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.numpy import load_file

        return _head_layers(load_file(str(path)))
    import torch

    return _head_layers(torch.load(str(path), map_location="cpu", weights_only=True))


class AestheticPredictor:
    """CLIP image embedding -> L2 normalise -> head. Built lazily, once per process."""

    def __init__(self, clip_path: str, head_path: str, device: str = "cpu"):
        import torch
        from transformers import AutoConfig, CLIPImageProcessor, CLIPModel, CLIPVisionModelWithProjection

        self.torch = torch
        self.device = device
        conf = AutoConfig.from_pretrained(clip_path)
        # A whole CLIP folder (text + vision, as openai/clip-vit-large-patch14 ships) must load as
        # CLIPModel: loaded as a vision-only model, its projection takes the vision config's default
        # width and is silently re-initialised at random.
        cls = CLIPModel if conf.model_type == "clip" else CLIPVisionModelWithProjection
        model, info = cls.from_pretrained(clip_path, output_loading_info=True)
        bad = [k for k in list(info.get("missing_keys", [])) + [m[0] if isinstance(m, tuple) else m for m in info.get("mismatched_keys", [])]
               if "text" not in str(k)]
        if bad:
            raise ValueError(f"{clip_path}: CLIP weights missing or of the wrong shape: {bad[:5]}")
        self.model = model.to(device).eval()
        self.full = cls is CLIPModel
        self.processor = CLIPImageProcessor.from_pretrained(clip_path)
        self.layers = load_head(head_path)
        dim = conf.projection_dim
        if self.layers[0][0].shape[1] != dim:
            raise ValueError(
                f"{head_path}: the head takes {self.layers[0][0].shape[1]}-d embeddings but {clip_path} gives {dim}-d "
                "(the LAION heads need CLIP ViT-L/14)"
            )

    def embed(self, frames: np.ndarray) -> np.ndarray:
        """(N, D) L2-normalised image embeddings of RGB uint8 frames (N, H, W, 3)."""
        inputs = self.processor(images=list(frames), return_tensors="pt")
        pixels = inputs["pixel_values"].to(self.device)
        with self.torch.no_grad():
            if self.full:
                emb = self.model.get_image_features(pixel_values=pixels)
                emb = getattr(emb, "pooler_output", emb)  # transformers 5 may wrap it in an output object
            else:
                emb = self.model(pixel_values=pixels).image_embeds
        emb = emb.float().cpu().numpy()
        return emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """(N,) aesthetic scores (LAION 0-10 scale) of RGB frames."""
        x = self.embed(frames)
        for w, b in self.layers:  # the heads have no activations between their linear layers
            x = x @ w.T + b
        return x[:, 0]


def predictor(cfg) -> AestheticPredictor:
    """The configured predictor, or :class:`Unavailable` saying which weights are missing."""
    a = cfg.aesthetic
    if not a.clip_path or not a.head_path:
        raise Unavailable(
            "no LAION aesthetic weights configured (set score.aesthetic.clip_path to a local CLIP ViT-L/14 "
            "folder and score.aesthetic.head_path to the LAION head .pth; none ship offline)"
        )
    for p in (a.clip_path, a.head_path):
        if not Path(p).exists():
            raise Unavailable(f"aesthetic weights not found at {p}")
    key = (a.clip_path, a.head_path, a.device)
    if key not in _PREDICTORS:
        _PREDICTORS[key] = AestheticPredictor(a.clip_path, a.head_path, a.device)
    return _PREDICTORS[key]


@metric(MetricSpec(
    name="aesthetic_score", unit="LAION aesthetic (0-10)", lo=0.0, hi=10.0, direction="higher_better", version=1,
    description="LAION aesthetic predictor (CLIP ViT-L/14 + head) averaged over a few frames; NaN without local weights",
    reference="docs/koala36m-paper.md §2.3/§5 (release 2.28-6.56, LAION scale)", needs_weights=True,
))
def aesthetic_score(clip, cfg) -> float:
    pred = predictor(cfg)
    return float(np.mean(pred(clip.frames[evenly(clip.n, cfg.aesthetic.frames)])))
