"""The BlazePose person detector (model from the mediapipe wheel, run by LiteRT): decoding, framing, counts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from koala.caption.people import Person, anchors, person_detector, weighted_nms
from koala.caption.subjects import Track, describe
from koala.config import MeasuredCaptionConfig

MODEL = Path(__file__).resolve().parents[2] / MeasuredCaptionConfig().people_model


def test_anchors_match_the_models_2254_outputs():
    a = anchors()
    assert a.shape == (2254, 2)
    assert np.allclose(a[:2], 0.5 / 28) and not np.allclose(a[2], 0.5 / 28)  # stride 8: 28 x 28 cells, two anchors each
    assert np.allclose(a[-1], [6.5 / 7, 6.5 / 7])  # the three stride-32 layers share 7 x 7 cells


def test_weighted_nms_merges_overlaps_and_keeps_apart_boxes():
    boxes = np.array([[0, 0, 1, 1], [0.05, 0, 1.05, 1], [2, 2, 3, 3]], np.float32)
    groups = weighted_nms(boxes, np.array([0.9, 0.8, 0.7]))
    assert [sorted(g.tolist()) for g, _ in groups] == [[0, 1], [2]]


@pytest.mark.parametrize("hip, radius, framing", [((0.5, 0.5), 0.4, "full body"), ((0.5, 0.8), 0.5, "upper body"),
                                                  ((0.5, 1.3), 0.9, "head and shoulders")])
def test_framing_from_the_body_circle(hip, radius, framing):
    assert Person(0.9, (0.4, 0.1, 0.6, 0.2), hip, radius, (0.5, 0.3)).framing == framing


def test_people_are_described_by_count_place_and_framing():
    two = [Track("person", 0.1, 0.2, 0.2, 0.7, 4, "full body"), Track("person", 0.6, 0.2, 0.2, 0.7, 4, "full body"),
           Track("face", 0.15, 0.2, 0.05, 0.08, 4)]
    text = describe(two)
    assert text.startswith("Two people are visible") and "full body" in text and "face" not in text
    assert describe([Track("face", 0.4, 0.4, 0.2, 0.3, 3)]).startswith("One face")
    assert describe([]) == ""


@pytest.mark.skipif(not MODEL.is_file(), reason=f"no person-detector model at {MODEL} (python -m koala.caption.people fetches it)")
def test_people_on_the_real_samples(sample_dir):
    """-KuN4XkUQBI_1 (a woman in a kitchen) and rKn-vWDMkwQ_33 (a man in a studio): one person each, in
    every sampled frame; J3JqVnOGfYA_3 (a screen recording) and RIeEULN2r2U_18 (a ditch at night): nobody."""
    from koala.io.video import probe, read_all

    det = person_detector(str(MODEL))
    truth = {"-KuN4XkUQBI_1": 1, "rKn-vWDMkwQ_33": 1, "J3JqVnOGfYA_3": 0, "RIeEULN2r2U_18": 0}
    for name, n in truth.items():
        p = sample_dir / f"{name}.mp4"
        info = probe(p)
        for i in np.linspace(0, info.num_frames - 1, 4).round().astype(int):
            frame = read_all(p, height=360, width=640, start=int(i), end=int(i) + 1, info=info)[0]
            assert len(det(frame)) == n, (name, i)


def test_people_are_counted_per_frame_not_followed_by_place():
    from koala.caption.subjects import people_tracks

    def at(x):
        return Person(0.8, (x - 0.02, 0.2, x + 0.02, 0.25), (x, 0.5), 0.3, (x, 0.35))

    crossing = [[at(0.2)], [], [], [at(0.8)]]  # a cyclist rides through: two frames of four, two places
    assert len(people_tracks(crossing)) == 1
    group = [[at(0.1), at(0.5), at(0.9)], [at(0.1), at(0.5)], [at(0.5)], [at(0.1), at(0.5), at(0.9)]]
    tracks = people_tracks(group)
    assert len(tracks) == 3 and {t.framing for t in tracks} == {"full body"}
    assert people_tracks([[at(0.5)], [], [], [], []]) == []  # one frame of five: a false alarm


def test_nobody_is_counted_without_a_surely_located_detection():
    """Figures on a poster pass the landmark check at 0.53-0.57 now and then; a person is located surely once."""
    from dataclasses import replace

    from koala.caption.people import SURE_LOCATED
    from koala.caption.subjects import people_tracks

    def at(x, located):
        return Person(0.8, (x - 0.02, 0.2, x + 0.02, 0.25), (x, 0.5), 0.3, (x, 0.35), located)

    poster = [[at(0.8, 0.53)], [], [at(0.1, 0.57)], [at(0.8, 0.55)]]
    assert people_tracks(poster) == []
    person = [[replace(p, located=SURE_LOCATED + 0.05) if k == 2 else p for p in ps] for k, ps in enumerate(poster)]
    assert len(people_tracks(person)) == 1
