"""The TSA network: every Table 5/6 variant runs and trains, shapes, the released weights fit the paper size."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from koala.config import VtssConfig, VtssTsaSize
from koala.vtss.tsa import VARIANTS, TsaSpec, build_tsa, init_dynamic_from_released

TINY = VtssTsaSize(grid=2, patch=32, clip_len=4, frame_interval=2, num_clips=1, swin_embed_dim=8, swin_depths=(1, 1),
                   swin_heads=(1, 2), swin_window_t=2, swin_patch=(2, 8, 8), static_frames=2, static_size=32,
                   convnext_dims=(8, 16), convnext_depths=(1, 1), static_logits=8, feature_dim=8, image_hidden=(8,),
                   label_hidden=(8,), head_hidden=(8,))


def inputs(b: int = 3, m: int = 5):
    torch.manual_seed(0)
    side = TINY.grid * TINY.patch
    return dict(fragments=torch.randn(b, 3, TINY.clip_len, side, side), frames=torch.randn(b, TINY.static_frames, 3, 32, 32),
                metrics=torch.randn(b, m), mask=torch.zeros(b, m))


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_variant_scores_and_learns(variant):
    """One scalar per clip, and a gradient step lowers the loss on a fixed batch (the variant is trainable)."""
    model = build_tsa(TINY, 5, variant, dropout=0.0)
    x, y = inputs(), torch.tensor([1.0, 3.0, 5.0])
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(15):
        loss = torch.nn.functional.mse_loss(model(**x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert model(**x).shape == (3,)
    assert losses[-1] < losses[0]


def test_branches_are_used():
    """Changing a branch's input changes the full model's output (no branch is silently ignored)."""
    model = build_tsa(TINY, 5, "full", dropout=0.0).eval()
    x = inputs()
    base = model(**x)
    for key in ("fragments", "frames", "metrics"):
        y = dict(x)
        y[key] = x[key] + 1.0
        assert not torch.allclose(model(**y), base), key


def test_missing_mask_matters():
    model = build_tsa(TINY, 5, "label_only", dropout=0.0).eval()
    x = inputs()
    y = dict(x, mask=torch.ones_like(x["mask"]))
    assert not torch.allclose(model(**x), model(**y))


def test_bad_specs_fail_clearly():
    with pytest.raises(ValueError, match="variant"):
        build_tsa(TINY, 5, "nope")
    with pytest.raises(ValueError, match="wcgb"):
        TsaSpec(size=TINY, n_metrics=5, branches=("dynamic", "static"), fusion="wcgb")


def test_paper_size_matches_the_released_backbone(released_reference):
    """The paper preset's dynamic branch has exactly the released fragments backbone (names and shapes)."""
    paper = VtssConfig().paper
    model = build_tsa(paper, 16, "dynamic")
    want = {n: s for n, s in released_reference["state_dict"] if n.startswith("fragments_backbone.")}
    got = {f"fragments_backbone.{k}": list(v.shape) for k, v in model.fragments_backbone.state_dict().items()}
    assert got == want
    state = {k: torch.zeros(v) for k, v in want.items()}
    assert init_dynamic_from_released(model, state) == len(want)
    assert float(model.fragments_backbone.norm.weight.abs().sum()) == 0.0
    small = build_tsa(dataclasses.replace(TINY), 16, "dynamic")
    with pytest.raises(ValueError, match="paper size"):
        init_dynamic_from_released(small, state)
