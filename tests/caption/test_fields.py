"""Prompts file, merge order and the template merge."""

import pytest

from koala.caption import fields as F
from koala.config import CaptionConfig
from koala.io.tables import CAPTION_FIELDS


def test_bundled_prompts_have_one_prompt_per_field_and_a_rewrite_slot():
    p = F.load_prompts("")
    assert list(p.fields) == list(CAPTION_FIELDS) and len(set(p.fields.values())) == 6
    assert "camera" in p.fields["camera_language"] and "{fields}" not in F.rewrite_request({"actions": "x"}, CaptionConfig().order, p)


def test_bad_prompts_files_are_refused(tmp_path):
    with pytest.raises(F.PromptsError, match="no such prompts file"):
        F.load_prompts(tmp_path / "none.yaml")
    bad = tmp_path / "p.yaml"
    bad.write_text("fields: {subject: a}\nrewrite: 'x {fields}'\n")
    with pytest.raises(F.PromptsError, match="missing .*actions"):
        F.load_prompts(bad)


def test_template_merge_follows_the_released_order_and_skips_empty_fields():
    fields = {"subject": "a woman", "actions": "she cooks", "environment": "", "visual_language": "bright",
              "camera_language": "the camera is static", "world_knowledge": ""}
    text = F.merge_template(fields, CaptionConfig().order)
    assert text == "She cooks. A woman. Bright. The camera is static."
    assert text.index("She cooks") < text.index("A woman") < text.index("camera")  # action, subject, ..., camera last


def test_order_must_name_each_field_once():
    with pytest.raises(ValueError, match="missing"):
        F.check_order(("subject", "actions"))


def test_clean_drops_list_markers_and_ends_sentences():
    assert F.clean("- two people\n- walking") == "Two people walking."
    assert F.clean("") == "" and F.word_count("a b  c") == 3
