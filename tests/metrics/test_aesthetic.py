"""The LAION aesthetic predictor's loading path, with a tiny CLIP and tiny heads saved in tmp_path."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from koala.config import AestheticConfig, ScoreConfig
from koala.metrics import aesthetic
from koala.metrics.aesthetic import AestheticPredictor, aesthetic_score, load_head, predictor
from koala.metrics.registry import Unavailable

from .conftest import make_clip, pan


@pytest.fixture
def tiny_clip(tmp_path):
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(0)
    cfg = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                           image_size=32, patch_size=16, projection_dim=16)
    path = tmp_path / "clip"
    CLIPVisionModelWithProjection(cfg).save_pretrained(path)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(path)
    return path


def linear_head(tmp_path, dim=16):
    """The sa_0_4 format: one Linear(dim, 1) state dict."""
    torch.manual_seed(1)
    lin = torch.nn.Linear(dim, 1)
    path = tmp_path / "linear.pth"
    torch.save(lin.state_dict(), path)
    return path, lin


def mlp_head(tmp_path, dim=16):
    """The improved predictor's format: layers.{0,2,4,6,7} with dropout between, no activations."""
    torch.manual_seed(2)
    seq = torch.nn.Sequential(torch.nn.Linear(dim, 24), torch.nn.Dropout(0.2), torch.nn.Linear(24, 12), torch.nn.Dropout(0.2),
                              torch.nn.Linear(12, 8), torch.nn.Dropout(0.1), torch.nn.Linear(8, 4), torch.nn.Linear(4, 1))
    path = tmp_path / "mlp.pth"
    torch.save({("layers." + k): v for k, v in seq.state_dict().items()}, path)
    return path, seq.eval()


def cfg_with(clip_path, head_path):
    return dataclasses.replace(ScoreConfig(), aesthetic=AestheticConfig(clip_path=str(clip_path), head_path=str(head_path), frames=2))


@pytest.mark.parametrize("fmt", ["linear", "mlp"])
def test_both_laion_head_formats_load_and_match_torch(tiny_clip, tmp_path, fmt):
    head_path, module = (linear_head if fmt == "linear" else mlp_head)(tmp_path)
    pred = AestheticPredictor(str(tiny_clip), str(head_path))
    frames = pan(2, 48, 64, dx=1.0)
    emb = pred.embed(frames)
    assert emb.shape == (2, 16)
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)  # L2-normalised, as LAION trained the heads
    with torch.no_grad():
        want = module(torch.from_numpy(emb)).numpy()[:, 0]
    assert np.allclose(pred(frames), want, atol=1e-5)


def test_metric_uses_the_configured_weights(tiny_clip, tmp_path):
    head_path, _ = linear_head(tmp_path)
    cfg = cfg_with(tiny_clip, head_path)
    clip = make_clip(pan(5, 48, 64, dx=1.0), **{"aesthetic": cfg.aesthetic})
    a = aesthetic_score(clip, clip.cfg)
    assert math.isfinite(a) and a == aesthetic_score(clip, clip.cfg)


def test_no_weights_is_unavailable_with_the_reason(tmp_path):
    clip = make_clip(pan(3, 48, 64))
    with pytest.raises(Unavailable, match="clip_path"):
        aesthetic_score(clip, clip.cfg)
    missing = cfg_with(tmp_path / "nope", tmp_path / "nohead.pth")
    with pytest.raises(Unavailable, match="not found"):
        predictor(missing)


def test_head_of_the_wrong_width_or_shape_is_rejected(tiny_clip, tmp_path):
    head_path, _ = linear_head(tmp_path, dim=768)
    with pytest.raises(ValueError, match="768-d embeddings"):
        AestheticPredictor(str(tiny_clip), str(head_path))
    bad = tmp_path / "bad.pth"
    torch.save({"a.weight": torch.zeros(4, 16), "b.weight": torch.zeros(2, 5)}, bad)
    with pytest.raises(ValueError, match="do not chain"):
        load_head(bad)
    wrapped = tmp_path / "wrapped.pth"
    torch.save({"state_dict": torch.nn.Linear(16, 1).state_dict()}, wrapped)
    assert load_head(wrapped)[0][0].shape == (1, 16)


def test_predictor_is_cached_per_process(tiny_clip, tmp_path):
    head_path, _ = linear_head(tmp_path)
    cfg = cfg_with(tiny_clip, head_path)
    aesthetic._PREDICTORS.clear()
    assert predictor(cfg) is predictor(cfg)
    aesthetic._PREDICTORS.clear()


def test_a_full_clip_model_folder_loads_its_vision_tower(tmp_path):
    """openai/clip-vit-large-patch14 is saved as a whole CLIPModel (text + vision): that layout loads too."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    torch.manual_seed(0)
    cfg = CLIPConfig(
        text_config={"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "vocab_size": 50},
        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
                       "image_size": 32, "patch_size": 16},
        projection_dim=16,
    )
    full = CLIPModel(cfg).eval()
    path = tmp_path / "clip-full"
    full.save_pretrained(path)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(path)
    head_path, _ = linear_head(tmp_path)
    pred = AestheticPredictor(str(path), str(head_path))
    frames = pan(2, 48, 64, dx=1.0)
    inputs = pred.processor(images=list(frames), return_tensors="pt")
    with torch.no_grad():  # CLIP's image embedding by hand: pooled vision output through the projection
        pooled = full.vision_model(pixel_values=inputs["pixel_values"]).pooler_output
        want = full.visual_projection(pooled)
    want = (want / want.norm(dim=1, keepdim=True)).numpy()
    assert want.shape == (2, 16)
    assert np.allclose(pred.embed(frames), want, atol=1e-5)
