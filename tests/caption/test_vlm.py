"""The VLM backend end to end with a tiny randomly initialised LLaVA built here (no download)."""

import numpy as np
import pandas as pd
import pytest

from koala.caption import vlm
from koala.caption.fields import load_prompts, merge_template
from koala.caption.stage import caption_clips
from koala.config import CaptionConfig, EngineConfig, VLMCaptionConfig
from koala.io.tables import CAPTION_FIELDS, CAPTIONS


@pytest.fixture(scope="module")
def tiny_llava(tmp_path_factory):
    """A 138k-parameter LLaVA (CLIP vision tower + Llama) with a locally trained BPE tokenizer, saved to a folder."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import (CLIPImageProcessor, CLIPVisionConfig, LlamaConfig, LlavaConfig,
                              LlavaForConditionalGeneration, LlavaProcessor, PreTrainedTokenizerFast)

    torch.manual_seed(0)
    specials = ["<unk>", "<s>", "</s>", "<pad>", "<image>"]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = [p for p in load_prompts().fields.values()] + ["the camera pans left", "a person walks in a kitchen"]
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=300, special_tokens=specials))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    fast.add_special_tokens({"additional_special_tokens": ["<image>"]})
    vision = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                              image_size=64, patch_size=16, projection_dim=32)
    text = LlamaConfig(vocab_size=len(fast), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2)
    cfg = LlavaConfig(vision_config=vision, text_config=text, image_token_id=fast.convert_tokens_to_ids("<image>"),
                      vision_feature_select_strategy="default", image_seq_length=16)
    model = LlavaForConditionalGeneration(cfg)
    proc = LlavaProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": 64}, crop_size={"height": 64, "width": 64}),
                          tokenizer=fast, patch_size=16, vision_feature_select_strategy="default", image_token="<image>",
                          num_additional_image_tokens=1)
    folder = tmp_path_factory.mktemp("tiny_llava")
    model.save_pretrained(folder)
    proc.save_pretrained(folder)
    return folder


def test_frame_indices_are_uniform_and_inside_the_clip():
    idx = vlm.frame_indices(10, 50, 4)
    assert idx.tolist() == [15, 25, 35, 45]
    assert vlm.frame_indices(0, 3, 8).tolist() == [0, 1, 2]  # never more frames than the clip has


def test_sample_frames_returns_the_requested_frames(make_video):
    path = make_video("v.mp4", n=40, width=64, height=48)
    frames = vlm.sample_frames(str(path), 8, 40, 4, 48)
    assert [make_video.index_of(f) for f in frames] == vlm.frame_indices(8, 40, 4).tolist()


def test_missing_weights_are_a_clear_error(tmp_path):
    cap = vlm.VLMCaptioner(VLMCaptionConfig(model=str(tmp_path / "nowhere")))
    with pytest.raises(vlm.VLMUnavailable, match="not available locally.*never downloads"):
        cap.load()
    with pytest.raises(vlm.VLMUnavailable, match="no caption model configured"):
        vlm.VLMCaptioner(VLMCaptionConfig()).load()


def test_six_fields_from_six_prompts_batched_across_clips(tiny_llava, make_video, monkeypatch, tmp_path):
    cfg = CaptionConfig(backend="vlm", vlm=VLMCaptionConfig(model=str(tiny_llava), frames=3, frame_short_side=48,
                                                            batch_size=4, clips_per_item=2, max_new_tokens=5, device="cpu"))
    paths = [make_video(f"c{i}.mp4", n=30, width=64, height=48) for i in range(2)]
    clips = pd.DataFrame({"clip_id": ["a", "b", "c"], "path": [str(paths[0]), str(paths[1]), str(tmp_path / "missing.mp4")],
                          "start": [0, 5, 0], "end": [30, 25, 10]})
    seen = []
    real = vlm.VLMCaptioner.generate

    def spy(self, requests):
        seen.extend(requests)
        return real(self, requests)

    monkeypatch.setattr(vlm.VLMCaptioner, "generate", spy)
    vlm._CAPTIONERS.clear()
    table, errors = caption_clips(clips, cfg, EngineConfig(workers=1), cache_dir=tmp_path / "cache")
    assert list(table.columns) == CAPTIONS.names and table["clip_id"].tolist() == ["a", "b"]
    assert errors["key"].tolist() == ["c"] and "missing.mp4" in errors["path"].iloc[0]
    prompts = load_prompts().fields
    # every field was asked with its own prompt, once per good clip, each with 3 sampled frames
    assert sorted(p for _, p in seen) == sorted(list(prompts.values()) * 2)
    assert all(len(frames) == 3 and frames[0].shape[0] == 48 for frames, _ in seen)
    cap = vlm.captioner(cfg.vlm)
    assert cap.generate_calls == 3  # first item: 12 requests in batches of 4 (clip c failed to decode)
    for row in table.to_dict("records"):
        assert all(isinstance(row[f], str) for f in CAPTION_FIELDS)
        assert row["caption"] == merge_template(row, cfg.order)
        assert row["backend"] == "vlm" and row["model"] == str(tiny_llava)


def test_rewrite_merge_uses_the_model(tiny_llava, make_video, tmp_path):
    cfg = CaptionConfig(backend="measured", merge="rewrite",
                        vlm=VLMCaptionConfig(model=str(tiny_llava), max_new_tokens=4, device="cpu"))
    path = make_video("r.mp4", n=20, width=64, height=48)
    clips = pd.DataFrame({"clip_id": ["r"], "path": [str(path)], "start": [0], "end": [20]})
    vlm._CAPTIONERS.clear()
    table, errors = caption_clips(clips, cfg, EngineConfig(workers=1), cache_dir=tmp_path / "cache")
    assert len(table) == 1 and not len(errors)
    assert vlm.captioner(cfg.vlm).generate_calls == 1  # one text-only rewrite batch
    assert table["caption"].iloc[0] != merge_template(table.iloc[0].to_dict(), cfg.order)
    assert isinstance(table["caption"].iloc[0], str)
