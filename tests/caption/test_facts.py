"""No false fact: the measured caption states no camera move, text or people count that contradicts the truth.

Two truth sets: the synthetic camera set (camera moves filmed over real sample frames, exact labels;
koala.corpus.camera_moves), and the hand-labelled real shots of koala/corpus/real_truth.json with
their videos under data/corpus/real (the real-footage corpus, issue 14; the labels are read from the
truth file itself, the files from the corpus stage's data/corpus/real_manifest.parquet), when both exist.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from koala.caption import camera
from koala.caption.facts import camera_claims, contradictions, people_claim, text_claim
from koala.caption.measured import measure_clip, measure_frames, sample_step
from koala.config import MeasuredCaptionConfig
from koala.corpus.camera_moves import KINDS, sample_scenes, camera_set

ROOT = Path(__file__).resolve().parents[2]
REAL_SHOTS = ROOT / "data/corpus/real_manifest.parquet"  # the fetched files of koala/corpus/real_truth.json's sources
REAL_DIR = ROOT / "data/corpus/real"
CFG = MeasuredCaptionConfig()
STEP = sample_step(75, 25.0, CFG)  # frames between samples, as measure_clip samples a 3 s, 25 fps shot


def test_claims_are_read_back_from_the_caption_wording():
    assert camera_claims("The camera pans left slowly throughout the clip.") == {"pan_left"}
    assert camera_claims("The camera is static. It is a medium shot.") == {"static"}
    assert camera_claims("The camera is handheld and shaky but stays roughly in place.") == {"handheld"}
    assert camera_claims("The camera moves back and forth, mostly tilting down and zooming in. It is handheld and shaky.") == {
        "tilt_down", "zoom_in", "handheld"}
    assert people_claim("Two people are visible, centre-left, centre; the largest is at a moderate size.") == 2
    assert people_claim("One face is visible at the centre, small in the frame.") == 1
    assert people_claim("") is None
    assert text_claim("The image is dark. On-screen text covers about 3% of the frame.")


def test_contradictions_name_each_false_claim():
    fields = {"camera_language": "The camera zooms out throughout the clip.", "visual_language": "On-screen text covers about 2% of the frame.",
              "subject": "One person is visible at the centre, filling much of the frame."}
    truth = {"camera": "static", "overlay_text": False, "people": "2"}
    bad = contradictions(truth, fields)
    assert len(bad) == 3 and bad[0].startswith("camera") and bad[1].startswith("text") and bad[2].startswith("people")
    assert contradictions({"camera": "zoom_out", "overlay_text": True, "people": "1"}, fields) == []
    assert contradictions({"camera": "handheld"}, {"camera_language": "The camera is static."})  # still, said static: false
    assert contradictions({"people": "many"}, {"subject": "Four people are visible, left, centre, right."}) == []


@pytest.fixture(scope="module")
def synthetic_shots(request):
    from tests.conftest import SAMPLES_DIR

    if not SAMPLES_DIR.is_dir() or not any(SAMPLES_DIR.glob("*.mp4")):
        pytest.skip(f"real sample clips not found at {SAMPLES_DIR} (the camera set is filmed over their frames)")
    scenes = sample_scenes(SAMPLES_DIR)
    keep = {k: scenes[k] for k in sorted(scenes)[1::2]}  # two of the five scenes keep the suite fast
    return list(camera_set(keep, per_kind=1, seed=16, every=STEP))


def test_camera_set_meets_the_targets_and_states_no_false_move(synthetic_shots):
    """Accuracy >= 0.95, every kind >= 0.85, no still shot called moving, no contradicting claim."""
    rows = []
    for shot in synthetic_shots:
        m = measure_frames(shot.frames, fps=shot.move.fps / STEP, cfg=CFG)
        pred = camera.shot_label(m.phases, m.shake, CFG)
        rows.append((shot.shot_id, shot.camera, pred, contradictions({"camera": shot.camera}, m.fields)))
    truth = np.array([r[1] for r in rows])
    pred = np.array([r[2] for r in rows])
    assert set(truth) == set(KINDS)
    assert (truth == pred).mean() >= 0.95, [r for r in rows if r[1] != r[2]]
    for kind in KINDS:
        assert (pred[truth == kind] == kind).mean() >= 0.85, (kind, [r for r in rows if r[1] == kind])
    assert not ((truth == "static") & (pred != "static")).any()
    assert [r for r in rows if r[3]] == []


# Known false facts on the real corpus, each with its cause; a new one fails the test, and so does a
# listed one that no longer happens (the list only shrinks).
KNOWN: dict[str, str] = {}  # calais_1906_0039's 0.7 s "pan right" (the film settling after a splice) is fixed: brief moves must shift a lot
@pytest.mark.skipif(not REAL_SHOTS.is_file() or not REAL_DIR.is_dir(),
                    reason=f"the real-footage corpus is not here ({REAL_SHOTS.relative_to(ROOT)} and {REAL_DIR.relative_to(ROOT)}: "
                           "`koala corpus real`, issue 14)")
def test_real_shots_state_no_false_fact():
    """Every hand-labelled real shot with a camera or people label: no claim contradicts its truth."""
    from koala.caption.facts import labelled_shots, shot_truth
    from koala.io.errors import VideoError

    bad, measured = {}, 0
    for row in labelled_shots(ROOT).to_dict("records"):
        truth = shot_truth(row)
        if truth["camera"] is None and truth["people"] is None:
            continue
        try:
            m = measure_clip(str(ROOT / row["path"]), start=int(row["start_frame"]), end=int(row["end_frame"]), cfg=CFG)
        except VideoError:
            continue  # a file our reader rejects is the corpus stage's concern, not a caption's
        measured += 1
        wrong = contradictions(truth, m.fields)
        if wrong:
            bad[row["shot_id"]] = wrong
    assert measured >= 10
    assert set(bad) <= set(KNOWN), {k: v for k, v in bad.items() if k not in KNOWN}
    assert set(KNOWN) <= set(bad), f"no longer false, take them off KNOWN: {sorted(set(KNOWN) - set(bad))}"
