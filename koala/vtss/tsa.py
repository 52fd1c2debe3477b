"""The Training Suitability Assessment network (TSA; paper §4.3.2, Fig. 6; docs/koala36m-paper.md §2.5).

Three branches mirror the annotators' three criteria, as the official ``TSAN`` does:

- *dynamic*: the gated-bias video Swin of :mod:`koala.vtss.swin3d` on FAST-VQA fragments, then
  the official ``VARHead`` (3D average pool, linear to the feature size). Its module names are the
  released checkpoint's (``fragments_backbone``), so ``infer.pth`` can initialise it.
- *static*: torchvision's ConvNeXt (``weights=None``: no hub download; ConvNeXt-T sizes in the
  ``paper`` preset) on a few whole frames, its logits averaged over frames, then ``MLPhead_image``.
- *label*: an MLP over the sub-metric vector. A sub-metric can be NaN (no weights, too few
  frames), so the input is the standardised values with NaN set to 0 plus a 0/1 missing mask.

Fusion ``wcgb`` is the "Weight Cross-Gating Block": label features gate the dynamic and the static
features (``CrossGatingBlock``), and a linear layer on the gated pair gives two unnormalised weights
for their sum. ``cat`` concatenates the branch features instead (the official code's simpler
fusion, used by the Table 5 rows before "+ WCGB"); ``dover`` averages a score per video branch,
as DOVER combines its technical and aesthetic views (Table 6's DOVER row). The final MLP keeps a
GELU after every layer, the output included, as the released ``Final_MLP`` does.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import ConvNeXt
from torchvision.models.convnext import CNBlockConfig

from koala.config import VtssTsaSize
from koala.vtss.swin3d import SwinSpec, SwinTransformer3D

BRANCHES = ("dynamic", "static", "label")
FUSIONS = ("wcgb", "cat", "dover")

# Table 5 rows (App. C) and the DOVER-style baseline of Table 6: which branches, how they are fused.
VARIANTS: dict[str, tuple[tuple[str, ...], str]] = {
    "dynamic": (("dynamic",), "cat"),
    "static": (("dynamic", "static"), "cat"),
    "label": (("dynamic", "static", "label"), "cat"),
    "full": (("dynamic", "static", "label"), "wcgb"),
    "dover": (("dynamic", "static"), "dover"),
    "label_only": (("label",), "cat"),
}


@dataclass(frozen=True)
class TsaSpec:
    """Everything that fixes the network's shape (saved in the checkpoint, so a model rebuilds itself)."""

    size: VtssTsaSize
    n_metrics: int
    branches: tuple[str, ...] = BRANCHES
    fusion: str = "wcgb"
    dropout: float = 0.1

    def __post_init__(self):
        unknown = [b for b in self.branches if b not in BRANCHES]
        if unknown or not self.branches:
            raise ValueError(f"TSA branches must be a non-empty subset of {BRANCHES}, not {self.branches}")
        if self.fusion not in FUSIONS:
            raise ValueError(f"TSA fusion must be one of {FUSIONS}, not {self.fusion!r}")
        if self.fusion == "wcgb" and not {"label", "dynamic"} <= set(self.branches):
            raise ValueError("wcgb fusion gates the video branches by the label branch: it needs label and dynamic")
        if self.fusion == "dover" and "label" in self.branches:
            raise ValueError("dover fusion averages video-branch scores; it takes no label branch")

    def swin(self) -> SwinSpec:
        s = self.size
        side = s.grid * s.patch
        return SwinSpec(embed_dim=s.swin_embed_dim, depths=tuple(s.swin_depths), num_heads=tuple(s.swin_heads),
                        window=(s.swin_window_t, s.grid, s.grid), patch=tuple(s.swin_patch),
                        frag_biases=tuple(i < len(s.swin_depths) - 1 for i in range(len(s.swin_depths))),
                        base_input=(s.clip_len, side, side))


def mlp(sizes: list[int], *, dropout: float, last_act: bool) -> nn.Sequential:
    """Linear layers with GELU (and dropout) between; ``last_act`` also after the last, as Final_MLP has."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2 or last_act:
            layers.append(nn.GELU())
            if dropout and i < len(sizes) - 2:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class VARHead(nn.Module):
    """Official dynamic-branch head: 3D average pool of the Swin features, dropout, linear to the feature size."""

    def __init__(self, in_channels: int, out_channels: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(in_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, D, H, W) -> (B, out)."""
        return self.fc(self.dropout(x.mean(dim=(2, 3, 4))))


class CrossGatingBlock(nn.Module):
    """Label features gate a video feature: x' = x + out(proj_x(x) * GELU(gate(proj_y(y))))."""

    def __init__(self, dim: int):
        super().__init__()
        self.proj_x = nn.Linear(dim, dim)
        self.proj_y = nn.Linear(dim, dim)
        self.gate = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return x + self.out(self.proj_x(x) * F.gelu(self.gate(self.proj_y(y))))


class WeightFeatureFusion(nn.Module):
    """Two unnormalised weights from the concatenated pair (Linear(2D -> 2)), then their weighted sum."""

    def __init__(self, dim: int):
        super().__init__()
        self.weight = nn.Linear(2 * dim, 2)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        w = self.weight(torch.cat([a, b], -1))  # (B, 2)
        return w[:, :1] * a + w[:, 1:] * b


class TSA(nn.Module):
    """The TSA network; ``forward(fragments, frames, metrics, mask)`` returns (B,) scores on the label scale.

    Inputs (any branch not in the spec may be None):
        fragments: (B, 3, T, S, S) normalised fragment mosaics (S = grid * patch).
        frames: (B, F, 3, s, s) normalised static frames.
        metrics: (B, M) standardised sub-metrics with NaN replaced by 0; mask: (B, M), 1 where missing.
    """

    def __init__(self, spec: TsaSpec):
        super().__init__()
        self.spec = spec
        s, d, p = spec.size, spec.size.feature_dim, spec.dropout
        if "dynamic" in spec.branches:
            swin = spec.swin()
            self.fragments_backbone = SwinTransformer3D(swin)
            self.dynamic_head = VARHead(swin.num_features, d, p)
        if "static" in spec.branches:
            blocks = [CNBlockConfig(c, s.convnext_dims[i + 1] if i + 1 < len(s.convnext_dims) else None, n)
                      for i, (c, n) in enumerate(zip(s.convnext_dims, s.convnext_depths))]
            self.image_backbone = ConvNeXt(blocks, stochastic_depth_prob=0.1 if sum(s.convnext_depths) >= 18 else 0.0,  # ConvNeXt-T: 0.1
                                           num_classes=s.static_logits)
            self.image_head = mlp([s.static_logits, *s.image_hidden, d], dropout=p, last_act=False)
        if "label" in spec.branches:
            self.label_head = mlp([2 * spec.n_metrics, *s.label_hidden, d], dropout=p, last_act=False)
        if spec.fusion == "wcgb":
            self.gate_dynamic = CrossGatingBlock(d)
            if "static" in spec.branches:
                self.gate_static = CrossGatingBlock(d)
                self.fuse = WeightFeatureFusion(d)
            head_in = d
        elif spec.fusion == "dover":
            head_in = d  # one shared head scores each video branch; the scores are averaged
        else:
            head_in = d * len(spec.branches)
        self.final = mlp([head_in, *s.head_hidden, 1], dropout=0.0, last_act=True)

    def backbone_parameters(self) -> list[nn.Parameter]:
        """Parameters of the dynamic Swin (the part released weights can initialise; lower lr then)."""
        return list(self.fragments_backbone.parameters()) if hasattr(self, "fragments_backbone") else []

    def features(self, fragments=None, frames=None, metrics=None, mask=None) -> dict[str, torch.Tensor]:
        """Each branch's (B, D) feature."""
        out = {}
        if "dynamic" in self.spec.branches:
            out["dynamic"] = self.dynamic_head(self.fragments_backbone(fragments))
        if "static" in self.spec.branches:
            b, f = frames.shape[:2]
            logits = self.image_backbone(frames.flatten(0, 1)).view(b, f, -1).mean(1)  # (B, logits)
            out["static"] = self.image_head(logits)
        if "label" in self.spec.branches:
            out["label"] = self.label_head(torch.cat([metrics, mask], -1))
        return out

    def forward(self, fragments=None, frames=None, metrics=None, mask=None) -> torch.Tensor:
        f = self.features(fragments, frames, metrics, mask)
        if self.spec.fusion == "wcgb":
            dyn = self.gate_dynamic(f["label"], f["dynamic"])
            fused = self.fuse(dyn, self.gate_static(f["label"], f["static"])) if "static" in f else dyn
            return self.final(fused).squeeze(-1)
        if self.spec.fusion == "dover":
            return torch.stack([self.final(f[b]).squeeze(-1) for b in self.spec.branches]).mean(0)
        return self.final(torch.cat([f[b] for b in self.spec.branches], -1)).squeeze(-1)


def build_tsa(size: VtssTsaSize, n_metrics: int, variant: str = "full", *, dropout: float = 0.1) -> TSA:
    """A TSA for one Table 5/6 ``variant`` (see :data:`VARIANTS`).

    Raises:
        ValueError: an unknown variant.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown TSA variant {variant!r}; valid: {', '.join(VARIANTS)}")
    branches, fusion = VARIANTS[variant]
    return TSA(TsaSpec(size=size, n_metrics=n_metrics, branches=branches, fusion=fusion, dropout=dropout))


def init_dynamic_from_released(model: TSA, state: dict[str, torch.Tensor]) -> int:
    """Copy the released checkpoint's ``fragments_backbone.*`` tensors into the dynamic branch, strictly.

    Only meaningful for the ``paper`` size (the released Swin-T); returns the number of tensors copied.

    Raises:
        ValueError: the model has no dynamic branch, or names/shapes differ from the release.
    """
    if not hasattr(model, "fragments_backbone"):
        raise ValueError("this TSA variant has no dynamic branch to initialise")
    prefix = "fragments_backbone."
    sub = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    own = model.fragments_backbone.state_dict()
    bad = [k for k in own if k not in sub or tuple(sub[k].shape) != tuple(own[k].shape)]
    if bad or len(sub) != len(own):
        raise ValueError(f"released weights do not fit this dynamic branch ({len(bad)} missing or of another shape, "
                         f"e.g. {bad[:2]}); use the paper size to initialise from infer.pth")
    model.fragments_backbone.load_state_dict(sub, strict=True)
    return len(sub)
