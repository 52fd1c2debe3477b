"""Camera language on the five real Koala sample clips agrees with what a person sees.

The truth below was recorded by looking at each clip (frames at 0, 1/4, 1/2, 3/4 and the end, and
denser strips where something happens, compared side by side at 144-180 px):

* ``-KuN4XkUQBI_1``: a woman tasting food in a kitchen. The cabinets, tiles and utensils behind her
  stay at the same place in every frame: a static camera (she moves, the camera does not).
* ``0psDrM3mxx0_155``: an animated band on a stage (Curious George). The background stays put
  while the singer moves: static.
* ``J3JqVnOGfYA_3``: a screen recording. The first ~2 s show a desktop with one window switching to
  another (a change of content, not a camera move); from about frame 56 to 76 the view magnifies
  smoothly towards the upper-left timeline ("Visa storyboard"), then holds still: static, then a
  zoom in, then static.
* ``RIeEULN2r2U_18``: a handheld camera with a flashlight over a ditch at night. The wall at the top
  leaves the frame and returns twice (frames 0-40 down, 40-80 up, 90-120 down): the camera tilts
  down and up repeatedly and jitters: handheld, shaky, tilting.
* ``rKn-vWDMkwQ_33``: a man talking to camera in a studio. The wall decorations and the monitor stay
  fixed while he turns and gestures: static.
"""

import pytest

from koala.caption.measured import measure_clip
from koala.config import MeasuredCaptionConfig

MOVES = ["pans left", "pans right", "tilts up", "tilts down", "zooms in", "zooms out"]

TRUTH = {
    # clip: (words that must appear, words that must not)
    "-KuN4XkUQBI_1": (["static"], MOVES + ["handheld", "shaky"]),
    "0psDrM3mxx0_155": (["static"], MOVES + ["handheld", "shaky"]),
    "J3JqVnOGfYA_3": (["static", "zooms in"], ["pans", "tilts", "zooms out", "handheld", "shaky"]),
    "RIeEULN2r2U_18": (["handheld", "shaky", "tilt"], ["zoom", "pan", "is static"]),
    "rKn-vWDMkwQ_33": (["static"], MOVES + ["handheld", "shaky"]),
}


@pytest.mark.parametrize("clip", sorted(TRUTH))
def test_camera_language_matches_what_a_person_sees(sample_dir, clip):
    path = sample_dir / f"{clip}.mp4"
    cam = measure_clip(str(path), cfg=MeasuredCaptionConfig()).fields["camera_language"]
    must, must_not = TRUTH[clip]
    assert all(w in cam for w in must), cam
    assert not [w for w in must_not if w in cam], cam


def test_zoom_happens_where_it_is_seen(sample_dir):
    """J3Jq's zoom runs from about frame 56 to 76 at 30 fps (1.9-2.5 s)."""
    m = measure_clip(str(sample_dir / "J3JqVnOGfYA_3.mp4"), cfg=MeasuredCaptionConfig())
    (zoom,) = [p for p in m.phases if p.label == "zoom_in"]
    assert 1.5 <= zoom.start_sec <= 2.3 and 2.4 <= zoom.end_sec <= 3.2
