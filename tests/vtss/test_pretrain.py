"""koala/vtss/pretrain.py: the degradation pretext task's targets, and pretrained weights that fit the TSA."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from koala.vtss.degrade import DEGRADATIONS
from koala.vtss.pretrain import base_variant, kind_targets, load_video_state, pretrain_video
from koala.vtss.train import TsaData
from koala.vtss.tsa import build_tsa
from tests.vtss.test_tsa import TINY


def test_kind_targets_read_the_proxy_names():
    t = kind_targets(["clean", "blur3", "noise1+text2"])
    kinds = list(DEGRADATIONS)
    assert t.shape == (3, len(kinds)) and t[0].sum() == 0
    assert t[1, kinds.index("blur")] == 3 and t[2, kinds.index("noise")] == 1 and t[2, kinds.index("text")] == 2
    with pytest.raises(ValueError, match="unknown degradation"):
        kind_targets(["smear2"])


def test_base_variant():
    assert base_variant("full_ssl") == ("full", True) and base_variant("dynamic") == ("dynamic", False)


def test_pretrained_video_weights_load_into_the_tsa():
    rng = np.random.default_rng(0)
    n, side = 6, TINY.grid * TINY.patch
    data = TsaData(rng.integers(0, 255, (n, TINY.num_clips, TINY.clip_len, side, side, 3), dtype=np.uint8),
                   rng.integers(0, 255, (n, TINY.static_frames, TINY.static_size, TINY.static_size, 3), dtype=np.uint8),
                   rng.normal(size=(n, 16)), np.full(n, 3.0))
    state, hist = pretrain_video(data, kind_targets(["clean", "blur1", "noise2", "text1", "blur4", "still3"]),
                                 variant="static", size=TINY, epochs=1, device=torch.device("cpu"))
    assert len(hist) == 1 and np.isfinite(hist[0]["loss"])
    assert any(k.startswith("fragments_backbone.") for k in state) and any(k.startswith("image_backbone.") for k in state)
    torch.manual_seed(1)
    model = build_tsa(TINY, 16, "full")
    assert load_video_state(model, state) == len(state)
    k = next(iter(state))
    assert torch.equal(model.state_dict()[k], state[k])
    with pytest.raises(ValueError, match="no video branch"):
        pretrain_video(data, np.zeros((n, 9), np.float32), variant="label_only", size=TINY, epochs=1, device=torch.device("cpu"))
