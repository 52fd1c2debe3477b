"""The measured backend says only what is true of synthetic clips with a known camera, colour and text."""

import pytest

from koala.caption.measured import measure_clip, sample_step
from koala.config import MeasuredCaptionConfig
from koala.io.errors import VideoError

CFG = MeasuredCaptionConfig()
CAMERA_WORDS = ["static", "pans left", "pans right", "tilts up", "tilts down", "zooms in", "zooms out", "handheld", "shaky"]


@pytest.mark.parametrize(
    "move, words",
    [("static", "is static"), ("pan_left", "pans left"), ("pan_right", "pans right"), ("tilt_up", "tilts up"),
     ("tilt_down", "tilts down"), ("zoom_in", "zooms in"), ("zoom_out", "zooms out")],
)
def test_camera_language_names_the_known_move_and_no_other(synthetic_clip, move, words):
    m = measure_clip(str(synthetic_clip(move, move=move)), cfg=CFG)
    cam = m.fields["camera_language"]
    assert words in cam
    assert [w for w in CAMERA_WORDS if w in cam and w not in words] == [], cam
    # the camera's move is not mistaken for subjects moving
    assert "nothing in the frame moves" in m.fields["actions"]


def test_a_moving_object_on_a_still_camera_is_an_action_to_the_right(synthetic_clip):
    m = measure_clip(str(synthetic_clip("square", square=True)), cfg=CFG)
    assert "is static" in m.fields["camera_language"]
    assert "mostly to the right" in m.fields["actions"]
    assert m.motion.area < 0.2  # only the square moves


def test_dominant_colour_is_named(synthetic_clip):
    m = measure_clip(str(synthetic_clip("blue", tint=(40, 80, 200))), cfg=CFG)
    assert "blue" in m.fields["visual_language"]
    assert "grey" not in m.fields["visual_language"]
    grey = measure_clip(str(synthetic_clip("static", move="static")), cfg=CFG)
    assert "blue" not in grey.fields["visual_language"] and "black and white" in grey.fields["visual_language"]


def test_text_overlay_is_mentioned_only_when_present(synthetic_clip):
    with_text = measure_clip(str(synthetic_clip("text", text="SUBSCRIBE NOW 2024")), cfg=CFG)
    without = measure_clip(str(synthetic_clip("static", move="static")), cfg=CFG)
    assert "On-screen text" in with_text.fields["visual_language"]
    assert "text" not in without.fields["visual_language"]


def test_nothing_measured_says_nothing(synthetic_clip):
    m = measure_clip(str(synthetic_clip("static", move="static")), cfg=CFG)
    assert m.fields["subject"] == ""  # no face on a noise texture: nothing invented
    assert m.fields["environment"] == "" and m.fields["world_knowledge"] == ""
    assert "shot" not in m.fields["camera_language"]


def test_metrics_table_text_area_is_used(synthetic_clip):
    m = measure_clip(str(synthetic_clip("static", move="static")), cfg=CFG, metrics={"text_area": 0.05})
    assert "On-screen text covers about 5%" in m.fields["visual_language"]


def test_clip_range_and_bad_input(synthetic_clip, tmp_path):
    path = str(synthetic_clip("pan_left", move="pan_left"))
    m = measure_clip(path, start=10, end=40, cfg=CFG)
    assert "pans left" in m.fields["camera_language"]
    with pytest.raises(VideoError, match="fewer than two frames"):
        measure_clip(path, start=5, end=6, cfg=CFG)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all")
    with pytest.raises(VideoError, match="bad.mp4"):
        measure_clip(str(bad), cfg=CFG)


def test_sample_step_caps_pairs():
    assert sample_step(50, 25.0, CFG) == 2  # 10 pairs per second at 25 fps (rounded step)
    assert (3000 - 1) // sample_step(3000, 30.0, CFG) <= CFG.max_pairs


def test_measure_video_reads_once_and_equals_measure_clip(synthetic_clip):
    """Many clips of one video from one pass give the same fields as each clip measured on its own."""
    from koala.caption.measured import measure_video

    path = str(synthetic_clip("pan_right", move="pan_right"))
    clips = [{"clip_id": "b", "start": 20, "end": 45}, {"clip_id": "a", "start": 0, "end": 25},
             {"clip_id": "short", "start": 5, "end": 6}]
    got = dict(measure_video(path, clips, CFG))
    assert set(got) == {"a", "b", "short"}
    assert isinstance(got["short"], VideoError) and "fewer than two frames" in str(got["short"])
    for c in clips[:2]:
        assert got[c["clip_id"]].fields == measure_clip(path, start=c["start"], end=c["end"], cfg=CFG).fields
