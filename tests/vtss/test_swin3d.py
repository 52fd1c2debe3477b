"""The gated-bias video Swin: index, windows, the fragment gate, and a small model end to end."""

from __future__ import annotations

import torch

from koala.vtss.swin3d import (SwinSpec, SwinTransformer3D, _window_layout, effective_window, relative_position_index,
                               window_partition, window_reverse)


def test_relative_position_index_covers_the_table():
    idx = relative_position_index((8, 7, 7))
    assert idx.shape == (392, 392) and idx.dtype == torch.int64
    assert int(idx.min()) == 0 and int(idx.max()) == 15 * 13 * 13 - 1
    assert (idx.diagonal() == (15 * 13 * 13 - 1) // 2).all()  # zero offset: the table's centre row
    assert (idx + idx.T == 15 * 13 * 13 - 1).all()  # opposite offsets mirror around it


def test_window_partition_round_trips():
    x = torch.randn(2, 16, 14, 21, 5)
    w = window_partition(x, (8, 7, 7))
    assert w.shape == (2 * 2 * 2 * 3, 392, 5)
    assert torch.equal(w[0, :7, :], x[0, 0, 0, :7])  # first window, first row of tokens
    assert torch.equal(window_reverse(w, (8, 7, 7), 2, (16, 14, 21)), x)


def test_small_axes_use_one_unshifted_window():
    assert effective_window((16, 7, 7), (8, 7, 7), (4, 3, 3)) == ((8, 7, 7), (4, 0, 0))
    assert effective_window((4, 56, 56), (8, 7, 7), (4, 3, 3)) == ((4, 7, 7), (0, 3, 3))


def test_fragment_gate_is_the_patch_distance():
    """At the first stage a 32-px patch is 8x8 tokens: a gate is 0 inside one patch, else |dh| + |dw|."""
    gate, mask = _window_layout((16, 56, 56), (8, 7, 7), (0, 0, 0))
    assert mask is None and gate.shape == (2 * 8 * 8, 392, 392)
    assert set(gate.unique().tolist()) == {0.0, 1.0, 2.0}
    assert (gate[0] == 0).all()  # the first window lies inside the first patch
    # Window (h=1, w=0) covers token rows 7..13: row 7 is in patch 0, rows 8.. in patch 1.
    g = gate[8].view(8, 7, 7, 8, 7, 7)
    assert g[0, 0, 0, 0, 1, 0] == 1 and g[0, 1, 0, 0, 2, 0] == 0


def test_shifted_windows_mask_wrapped_regions():
    gate, mask = _window_layout((16, 56, 56), (8, 7, 7), (4, 3, 3))
    assert mask is not None and mask.shape == gate.shape
    assert set(mask.unique().tolist()) == {-100.0, 0.0}
    assert (mask[0] == 0).all()  # an interior window holds one region
    assert (mask[-1] == -100).any()  # the last window mixes wrapped-around regions


def test_a_small_variant_runs_on_odd_sizes_and_trains():
    """The TSA's dynamic branch reuses this backbone at other sizes: padding and gradients must work."""
    spec = SwinSpec(embed_dim=16, depths=(1, 1), num_heads=(1, 2), frag_biases=(True, False), drop_path=0.0)
    model = SwinTransformer3D(spec)
    x = torch.randn(2, 3, 10, 72, 88, requires_grad=True)
    out = model(x)
    assert out.shape == (2, 32, 5, 9, 11)
    out.mean().backward()
    table = model.layers[0].blocks[0].attn.fragment_position_bias_table
    assert table.grad is not None and x.grad is not None
