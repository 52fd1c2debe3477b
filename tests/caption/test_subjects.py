"""Faces and people from the offline detectors: persistence across frames and the early-stopping face search."""

import numpy as np

from koala.caption.subjects import face_boxes, persistent


def test_a_face_found_twice_in_one_frame_does_not_recur():
    # two nested boxes of one frame are one sighting: the track needs them in min_frames frames
    one_frame = [[(40, 40, 30, 30), (38, 38, 34, 34)], [], []]
    assert persistent(one_frame, (180, 320), kind="face", min_frames=2) == []
    two_frames = [[(40, 40, 30, 30), (38, 38, 34, 34)], [], [(42, 41, 30, 30)]]
    (track,) = persistent(two_frames, (180, 320), kind="face", min_frames=2)
    assert track.frames == 2 and abs(track.x - 40 / 320) < 0.01


def _skin_frames(n: int, face_at: set[int]) -> np.ndarray:
    frames = np.zeros((n, 90, 160, 3), np.uint8)
    for k in face_at:
        frames[k, 20:50, 30:60] = (224, 170, 140)  # skin-coloured patch (YCrCb inside the skin range)
    return frames


def test_face_search_stops_when_no_face_can_recur_and_finds_what_a_full_search_finds():
    calls = []

    def detect(gray, min_px):  # a stand-in detector: a box wherever the frame is bright
        calls.append(1)
        return [(30, 20, 30, 30)] if gray[35, 45] > 100 else []

    # no face in the first three of four frames: the fourth cannot make a face recur in 2 frames
    frames = _skin_frames(4, {3})
    got = face_boxes(frames, detect, 20, 2)
    assert len(calls) == 3 and got == [[], [], [], []]
    full = [[b for b in detect(np.asarray(f.mean(axis=2), np.uint8), 20)] for f in frames]
    assert persistent(got, (90, 160), kind="face", min_frames=2) == persistent(full, (90, 160), kind="face", min_frames=2) == []

    # a face in frames 1 and 3: every frame is searched and the track is kept
    calls.clear()
    got = face_boxes(_skin_frames(4, {1, 3}), detect, 20, 2)
    assert len(calls) == 4 and [len(b) for b in got] == [0, 1, 0, 1]
    (track,) = persistent(got, (90, 160), kind="face", min_frames=2)
    assert track.frames == 2
