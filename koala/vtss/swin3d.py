"""FAST-VQA's video Swin-T with gated relative position bias ("swin_tiny_grpb"), in torch.

The released Koala VTSS scorer and the TSA's dynamic branch share this backbone, so its module
names and tensor shapes follow the released checkpoint exactly (``patch_embed``, ``layers.i.blocks.j
.attn.{relative,fragment}_position_bias_table``, ``layers.i.downsample``, ``norm``): a state dict
saved by the original loads here strictly.

What differs from a plain video Swin (written by hand, since no library has it):
- *Gated relative position bias*: a fragment mosaic is a 7x7 grid of unrelated 32-px patches, so
  two tokens of one attention window may come from different patches. Stages with a
  ``fragment_position_bias_table`` (all but the last) use it for token pairs inside one patch and
  the ordinary table for pairs across patches. As in the original, the gate is the L1 distance
  between the two tokens' patch coordinates (0, 1 or 2 inside a window), not a 0/1 flag: the bias
  is ``rel * g + frag * (1 - g)``. Reproducing that quirk is what makes released weights score as
  they were trained.
- *Adaptive windows*: the window scales with the input relative to the 32x224x224 the weights were
  trained on, then shrinks to the feature size where that is smaller (shift 0 there).
- Padded tokens (inputs not a multiple of the window) take part in attention unmasked, as in the
  original.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch
import torch.nn.functional as F
from einops import rearrange
from timm.layers import DropPath
from torch import nn

Size3 = tuple[int, int, int]


@dataclass(frozen=True)
class SwinSpec:
    """Sizes of a video Swin. The defaults are FAST-VQA's swin_tiny_grpb (the released VTSS)."""

    embed_dim: int = 96
    depths: tuple[int, ...] = (2, 2, 6, 2)
    num_heads: tuple[int, ...] = (3, 6, 12, 24)
    window: Size3 = (8, 7, 7)
    patch: Size3 = (2, 4, 4)
    frag_biases: tuple[bool, ...] = (True, True, True, False)
    mlp_ratio: float = 4.0
    base_input: Size3 = (32, 224, 224)  # input size the windows are defined for (adaptive windows)
    drop_path: float = 0.1  # stochastic depth at the last block (training only)

    @property
    def num_features(self) -> int:
        return self.embed_dim * 2 ** (len(self.depths) - 1)


def relative_position_index(window: Size3) -> torch.Tensor:
    """(N, N) index into a (2Wd-1)(2Wh-1)(2Ww-1)-row bias table for every token pair of a window."""
    coords = torch.stack(torch.meshgrid(*[torch.arange(w) for w in window], indexing="ij")).flatten(1)  # (3, N)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)  # (N, N, 3)
    rel = rel + torch.tensor([w - 1 for w in window])
    _, wh, ww = window
    return rel[..., 0] * (2 * wh - 1) * (2 * ww - 1) + rel[..., 1] * (2 * ww - 1) + rel[..., 2]


def window_partition(x: torch.Tensor, window: Size3) -> torch.Tensor:
    """(B, D, H, W, C) -> (B * nW, Wd*Wh*Ww, C), windows in (d, h, w) raster order."""
    wd, wh, ww = window
    return rearrange(x, "b (d wd) (h wh) (w ww) c -> (b d h w) (wd wh ww) c", wd=wd, wh=wh, ww=ww)


def window_reverse(windows: torch.Tensor, window: Size3, batch: int, size: Size3) -> torch.Tensor:
    """Inverse of :func:`window_partition`: (B * nW, N, C) -> (B, D, H, W, C)."""
    wd, wh, ww = window
    d, h, w = (s // k for s, k in zip(size, window))
    return rearrange(windows, "(b d h w) (wd wh ww) c -> b (d wd) (h wh) (w ww) c", b=batch, d=d, h=h, w=w, wd=wd, wh=wh)


def effective_window(size: Size3, window: Size3, shift: Size3) -> tuple[Size3, Size3]:
    """Window and shift actually used on a feature map: an axis no longer than the window is one window, unshifted."""
    win = tuple(s if s <= w else w for s, w in zip(size, window))
    sh = tuple(0 if s <= w else k for s, w, k in zip(size, window, shift))
    return win, sh  # type: ignore[return-value]


def _nearest(n_out: int, n_in: int) -> torch.Tensor:
    """Source index of each of ``n_out`` positions under nearest resizing from ``n_in`` (torch's rule)."""
    src = torch.arange(n_in, dtype=torch.float32)[None, None]
    return F.interpolate(src, size=n_out, mode="nearest")[0, 0].long()


@lru_cache(maxsize=64)
def _window_layout(padded: Size3, window: Size3, shift: Size3) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-window patch gate and shift mask of a padded feature map (computed once per shape).

    Returns:
        gate: (nW, N, N) float, L1 distance between the two tokens' fragment coordinates; the
            map is cut into ``window[1] x window[2]`` fragments by nearest resizing, then rolled
            with the cyclic shift, as the original does.
        mask: (nW, N, N) float, -100 between tokens from different regions of a shifted map,
            else 0; None when no axis is shifted.
    """
    dp, hp, wp = padded
    fh = _nearest(hp, window[1])  # (Hp,) fragment row of each token row
    fw = _nearest(wp, window[2])
    coords = torch.stack(torch.broadcast_tensors(fh[:, None], fw[None, :]), -1)  # (Hp, Wp, 2)
    coords = coords[None].expand(dp, hp, wp, 2)
    coords = torch.roll(coords, shifts=tuple(-s for s in shift), dims=(0, 1, 2))
    win = window_partition(coords[None].float(), window)  # (nW, N, 2)
    gate = (win[:, None, :, :] - win[:, :, None, :]).abs().sum(-1)  # (nW, N, N)
    if not any(shift):
        return gate, None
    labels = []
    for n, w, s in zip(padded, window, shift):
        pos = torch.arange(n)
        labels.append((pos >= n - w).long() + (pos >= n - s).long() if s else (pos >= n - w).long())
    region = labels[0][:, None, None] * 9 + labels[1][None, :, None] * 3 + labels[2][None, None, :]  # (Dp, Hp, Wp)
    reg = window_partition(region[None, ..., None].float(), window)[..., 0]  # (nW, N)
    mask = torch.where(reg[:, None, :] != reg[:, :, None], -100.0, 0.0)
    return gate, mask


class WindowAttention3D(nn.Module):
    """Multi-head self-attention inside 3D windows, with (gated) relative position bias."""

    def __init__(self, dim: int, window: Size3, num_heads: int, *, frag_bias: bool):
        super().__init__()
        self.window = window
        self.num_heads = num_heads
        rows = (2 * window[0] - 1) * (2 * window[1] - 1) * (2 * window[2] - 1)
        self.relative_position_bias_table = nn.Parameter(torch.zeros(rows, num_heads))
        if frag_bias:
            self.fragment_position_bias_table = nn.Parameter(torch.zeros(rows, num_heads))
        self.register_buffer("relative_position_index", relative_position_index(window))
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def _bias(self, table: torch.Tensor, window: Size3) -> torch.Tensor:
        """(nH, N, N) bias of a window that may be smaller than the one the table was built for."""
        n = window[0] * window[1] * window[2]
        idx = self.relative_position_index.view(*self.window, *self.window)
        idx = idx[: window[0], : window[1], : window[2], : window[0], : window[1], : window[2]]
        return table[idx.reshape(-1)].view(n, n, -1).permute(2, 0, 1)

    def forward(self, x: torch.Tensor, window: Size3, gate: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """x: (B * nW, N, C) windows; gate, mask: (nW, N, N) from :func:`_window_layout`."""
        bw, n, c = x.shape
        nw = gate.shape[0]
        bias = self._bias(self.relative_position_bias_table, window)  # (nH, N, N)
        if hasattr(self, "fragment_position_bias_table"):
            frag = self._bias(self.fragment_position_bias_table, window)
            # rel * g + frag * (1 - g), as frag + (rel - frag) * g: two passes over (nW, nH, N, N)
            base = frag[None] if mask is None else frag[None] + mask[:, None]
            bias = torch.addcmul(base, (bias - frag)[None], gate[:, None])  # (nW, nH, N, N)
        elif mask is not None:
            bias = bias[None] + mask[:, None]
        else:
            bias = bias[None].expand(nw, -1, -1, -1)
        bias = bias.to(x.dtype)
        qkv = self.qkv(x).view(bw // nw, nw, n, 3, self.num_heads, c // self.num_heads)
        q, k, v = qkv.permute(3, 0, 1, 4, 2, 5).unbind(0)  # each (B, nW, nH, N, hd)
        # One 4-D call per sample: the bias then needs no copy per sample, and 4-D inputs take
        # torch's fused kernel (about 5x faster on CPU than the 5-D broadcast, which falls back).
        out = torch.stack([F.scaled_dot_product_attention(q[i], k[i], v[i], attn_mask=bias) for i in range(q.shape[0])])
        return self.proj(out.permute(0, 1, 3, 2, 4).reshape(bw, n, c))  # (B * nW, N, C)


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class SwinBlock3D(nn.Module):
    """Pre-norm (shifted-)window attention then MLP, each with a residual."""

    def __init__(self, dim: int, num_heads: int, window: Size3, shift: Size3, *, mlp_ratio: float, drop_path: float, frag_bias: bool):
        super().__init__()
        self.shift = shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention3D(dim, window, num_heads, frag_bias=frag_bias)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def _attend(self, x: torch.Tensor, window: Size3) -> torch.Tensor:
        b, d, h, w, c = x.shape
        win, shift = effective_window((d, h, w), window, self.shift)
        x = self.norm1(x)
        pads = [(k - s % k) % k for s, k in zip((d, h, w), win)]
        if any(pads):
            x = F.pad(x, (0, 0, 0, pads[2], 0, pads[1], 0, pads[0]))  # zeros after the norm, as the original
        padded = tuple(x.shape[1:4])
        if any(shift):
            x = torch.roll(x, shifts=tuple(-s for s in shift), dims=(1, 2, 3))
        gate, mask = _window_layout(padded, win, shift)
        out = self.attn(window_partition(x, win), win, gate.to(x.device), None if mask is None else mask.to(x.device))
        x = window_reverse(out, win, b, padded)
        if any(shift):
            x = torch.roll(x, shifts=shift, dims=(1, 2, 3))
        return x[:, :d, :h, :w].contiguous() if any(pads) else x

    def forward(self, x: torch.Tensor, window: Size3) -> torch.Tensor:
        """x: (B, D, H, W, C)."""
        x = x + self.drop_path(self._attend(x, window))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class PatchMerging(nn.Module):
    """Halve H and W: concatenate each 2x2 neighbourhood (order (0,0), (1,0), (0,1), (1,1)), norm, project."""

    def __init__(self, dim: int):
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, _, h, w, _ = x.shape
        if h % 2 or w % 2:
            x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        x = torch.cat([x[:, :, 0::2, 0::2], x[:, :, 1::2, 0::2], x[:, :, 0::2, 1::2], x[:, :, 1::2, 1::2]], -1)
        return self.reduction(self.norm(x))


class SwinStage(nn.Module):
    def __init__(self, dim: int, depth: int, num_heads: int, window: Size3, *, mlp_ratio: float,
                 drop_path: list[float], frag_bias: bool, downsample: bool):
        super().__init__()
        shift = tuple(w // 2 for w in window)
        self.blocks = nn.ModuleList(
            SwinBlock3D(dim, num_heads, window, (0, 0, 0) if i % 2 == 0 else shift,  # type: ignore[arg-type]
                        mlp_ratio=mlp_ratio, drop_path=drop_path[i], frag_bias=frag_bias)
            for i in range(depth)
        )
        self.downsample = PatchMerging(dim) if downsample else None

    def forward(self, x: torch.Tensor, window: Size3) -> torch.Tensor:
        """x: (B, C, D, H, W) -> (B, C', D, H', W')."""
        x = rearrange(x, "b c d h w -> b d h w c")
        for blk in self.blocks:
            x = blk(x, window)
        if self.downsample is not None:
            x = self.downsample(x)
        return rearrange(x, "b d h w c -> b c d h w")


class PatchEmbed3D(nn.Module):
    def __init__(self, patch: Size3, embed_dim: int):
        super().__init__()
        self.patch = patch
        self.proj = nn.Conv3d(3, embed_dim, kernel_size=patch, stride=patch)
        self.norm = nn.LayerNorm(embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, H, W) -> (B, C, T/2, H/4, W/4); a ragged edge is zero-padded first."""
        t, h, w = x.shape[2:]
        pt, ph, pw = ((p - s % p) % p for s, p in zip((t, h, w), self.patch))
        if pt or ph or pw:
            x = F.pad(x, (0, pw, 0, ph, 0, pt))
        x = self.proj(x)
        return self.norm(x.permute(0, 2, 3, 4, 1)).permute(0, 4, 1, 2, 3)


class SwinTransformer3D(nn.Module):
    """The video Swin backbone: (B, 3, T, H, W) normalised frames -> (B, 8C, T/2, H/32, W/32) features."""

    def __init__(self, spec: SwinSpec = SwinSpec()):
        super().__init__()
        self.spec = spec
        self.patch_embed = PatchEmbed3D(spec.patch, spec.embed_dim)
        rates = torch.linspace(0, spec.drop_path, sum(spec.depths)).tolist()
        self.layers = nn.ModuleList()
        for i, depth in enumerate(spec.depths):
            first = sum(spec.depths[:i])
            self.layers.append(SwinStage(
                spec.embed_dim * 2**i, depth, spec.num_heads[i], spec.window, mlp_ratio=spec.mlp_ratio,
                drop_path=rates[first:first + depth], frag_bias=spec.frag_biases[i],
                downsample=i < len(spec.depths) - 1,
            ))
        self.norm = nn.LayerNorm(spec.num_features)
        self.apply(_init)

    def window_for(self, size: Size3) -> Size3:
        """The original's adaptive window: the base window scaled by input size / base input size."""
        return tuple(w * s // b for w, s, b in zip(self.spec.window, size, self.spec.base_input))  # type: ignore[return-value]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        window = self.window_for(tuple(x.shape[2:]))
        x = self.patch_embed(x)
        for layer in self.layers:
            x = layer(x, window)
        return self.norm(x.permute(0, 2, 3, 4, 1)).permute(0, 4, 1, 2, 3)


def _init(m: nn.Module) -> None:
    """Swin's initialisation (truncated normal linears, unit LayerNorms): only matters for training from scratch."""
    if isinstance(m, nn.Linear):
        nn.init.trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)
