"""Statement extraction from free caption prose (koala/caption/claims.py): each rule, its negations and its limits."""

from __future__ import annotations

import pytest

from koala.caption.claims import extract, sentences


def kinds(caption: str) -> list[tuple[str, str]]:
    return [(c.kind, c.value) for c in extract(caption)]


@pytest.mark.parametrize("caption, expected", [
    ("The camera is stationary, capturing a woman at a desk.", [("camera_static", "static")]),
    ("A static shot of a harbour at dusk.", [("camera_static", "static")]),
    ("The camera remains completely still.", [("camera_static", "static")]),
    ("The camera does not move.", [("camera_static", "static")]),
    ("The camera pans to the left, revealing the hills.", [("camera_move", "pan_left")]),
    ("The camera slowly pans from left to right.", [("camera_move", "pan_right")]),
    ("The camera pans from right to left.", [("camera_move", "pan_left")]),
    ("The camera tilts upward toward the sky.", [("camera_move", "tilt_up")]),
    ("The camera tilts from top to bottom.", [("camera_move", "tilt_down")]),
    ("The camera zooms in on the clock.", [("camera_move", "zoom_in")]),
    ("The camera pulls back to show the room.", [("camera_move", "zoom_out")]),
    ("The camera pushes in on her face.", [("camera_move", "zoom_in")]),
    ("The camera follows the cyclist.", [("camera_moving", "moving")]),
])
def test_camera_statements(caption, expected):
    assert kinds(caption) == expected


@pytest.mark.parametrize("caption", [
    "The camera is not static.",  # negated stillness: no claim
    "The camera never pans left.",  # negated move
    "The camera remains still, then pans right.",  # a sequence: the move is claimed, not stillness
])
def test_negations_and_sequences_are_not_static_claims(caption):
    assert ("camera_static", "static") not in kinds(caption)


def test_the_sequence_keeps_its_move():
    assert kinds("The camera remains still, then pans right.") == [("camera_move", "pan_right")]


def test_motion_text_and_stillness():
    assert ("subject_motion", "walks") in kinds("A man walks along the beach.")
    assert kinds("Nothing moves in the scene.") == [("scene_still", "still")]
    assert ("text_present", "present") in kinds("Subtitles appear at the bottom of the screen.")
    assert ("text_absent", "absent") in kinds("There is no text on screen.")
    assert ("subject_motion", "walks") not in kinds("The camera walks us through the room.")  # a camera sentence


def test_people_counts_are_claimed_only_when_stated():
    assert ("people_count", "3") in kinds("Two women talk to a man in a kitchen.")
    assert ("people_count", "1") in kinds("A single man stands on the pier.")
    assert not [k for k in kinds("A man talks to a crowd of people.") if k[0] == "people_count"]  # open-ended
    assert not [k for k in kinds("A man talks.") if k[0] == "people_count"]  # no count stated
    assert ("people_none", "0") in kinds("The street is deserted.")
    assert ("people_none", "0") in kinds("There are no people in the shot.")


def test_sentences_split_on_stops_and_lines():
    assert sentences("One. Two!\nThree? four") == ["One.", "Two!", "Three?", "four"]


def test_no_people_does_not_open_the_head_count():
    assert kinds("A single man stands alone on the beach. No people are around him.") == [("people_none", "0"), ("people_count", "1")]
