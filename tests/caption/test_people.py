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


OBJECTS = MODEL.with_name("object_detection_ssd_mobilenetv2_oidv4_fp16.tflite")


def test_ssd_anchors_match_the_models_1917_outputs():
    from koala.caption.people import ssd_anchors

    a = ssd_anchors()
    assert a.shape == (1917, 4)  # 19x19x3 + (10x10 + 5x5 + 3x3 + 2x2 + 1x1) x 6
    assert np.allclose(a[0], [0.5 / 19, 0.5 / 19, 0.1, 0.1])  # the lowest layer's first box: scale 0.1, square
    assert np.allclose(a[1, 2:], [0.2 * np.sqrt(2), 0.2 / np.sqrt(2)])  # scale 0.2 at ratio 2: wide
    assert np.allclose(a[-1], [0.5, 0.5, np.sqrt(0.95), np.sqrt(0.95)])  # the 1x1 layer's last: mean of 0.95 and 1


class _Stub:
    """A stand-in interpreter that returns fixed SSD outputs."""

    def __init__(self, reg, cls):
        self.out = {0: reg[None], 1: cls[None]}

    def set_tensor(self, index, value):
        self.shape = value.shape

    def invoke(self):
        pass

    def get_tensor(self, index):
        return self.out[index]


def _stub_detector(reg, cls):
    from koala.caption.people import ObjectDetector, ssd_anchors

    det = object.__new__(ObjectDetector)
    det.interp, det.inp, det.reg, det.cls, det.anchors = _Stub(reg, cls), 2, 0, 1, ssd_anchors()
    return det


def test_object_detector_decodes_people_only_where_person_is_the_best_class():
    from koala.caption.people import OBJECT_LABELS, ssd_anchors

    person, dog = OBJECT_LABELS.index("Person"), OBJECT_LABELS.index("Dog")
    reg = np.zeros((1917, 4), np.float32)
    cls = np.full((1917, len(OBJECT_LABELS)), -10.0, np.float32)
    cls[:, 0] = 10.0  # background everywhere: ignored, never a detection
    a = ssd_anchors()
    k, j, d = 1916, 1000, 300  # a person on the 1x1 layer, a weaker one elsewhere, a dog
    cls[k, person], cls[j, person], cls[d, person], cls[d, dog] = 3.0, 0.5, 1.0, 2.0
    reg[j] = [5.0, -5.0, 5.0, 0.0]  # centre moved by half the anchor's height down, half its width left; height x e
    det = _stub_detector(reg, cls)
    bodies = det(np.zeros((180, 320, 3), np.uint8))
    assert det.interp.shape == (1, 300, 300, 3)
    assert [round(b.score, 3) for b in bodies] == [round(1 / (1 + np.exp(-3.0)), 3), round(1 / (1 + np.exp(-0.5)), 3)]
    assert np.allclose(bodies[0].extent(), np.clip([0.5 - a[k, 2] / 2, 0.5 - a[k, 3] / 2, 0.5 + a[k, 2] / 2, 0.5 + a[k, 3] / 2], 0, 1))
    cx, cy, w, h = a[j, 0] - 0.5 * a[j, 2], a[j, 1] + 0.5 * a[j, 3], a[j, 2], np.e * a[j, 3]
    assert np.allclose(bodies[1].extent(), np.clip([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 0, 1), atol=1e-5)
    boxes, scores, labels = det.detect(np.zeros((180, 320, 3), np.uint8))
    assert dog in labels.tolist() and len(labels) == 3  # the dog box is a dog, not also a person


def test_object_detector_keeps_nothing_under_the_graphs_threshold():
    from koala.caption.people import OBJECT_LABELS

    cls = np.full((1917, len(OBJECT_LABELS)), -0.1, np.float32)  # every class just under 0.5
    assert _stub_detector(np.zeros((1917, 4), np.float32), cls)(np.zeros((90, 160, 3), np.uint8)) == []


@pytest.mark.parametrize("box, framing", [((0.4, 0.3, 0.5, 0.7), "full body"), ((0.4, 0.5, 0.6, 1.0), "upper body"),
                                          ((0.4, 0.0, 0.5, 0.6), "upper body")])
def test_body_framing_from_its_box(box, framing):
    from koala.caption.people import Body

    b = Body(0.6, box)
    assert b.framing == framing and b.located == 1.0 and b.box == tuple(int(1000 * v) for v in (box[0], box[1], box[2] - box[0], box[3] - box[1]))


def test_packed_member_reads_the_range_the_loader_lists():
    from koala.caption.people import packed_member

    loader = ('...loadPackage({"files": [{"filename": "/labels.txt", "start": 0, "end": 3}, '
              '{"filename": "/third_party/m/model.tflite", "start": 3, "end": 7}], "remote_package_size": 7});\n})();')
    data = b"abcDEFG"
    assert packed_member(loader, data, "model.tflite") == b"DEFG"
    assert packed_member(loader, data, "labels.txt") == b"abc"
    with pytest.raises(RuntimeError, match="no other.tflite"):
        packed_member(loader, data, "other.tflite")
    with pytest.raises(RuntimeError, match="lists no files"):
        packed_member("nothing here", data, "model.tflite")


def test_a_group_from_the_object_detector_replaces_blazeposes_people():
    """A frame's people are the object detector's when it finds a group (3 or more) and more than BlazePose."""
    from koala.caption.people import OBJECT_MIN_GROUP, Body, PersonDetector

    det = object.__new__(PersonDetector)
    one = Person(0.9, (0.4, 0.1, 0.6, 0.2), (0.5, 0.5), 0.4, (0.5, 0.3))
    frame = np.zeros((90, 160, 3), np.uint8)
    group = [Body(0.6, (0.1 * k, 0.2, 0.1 * k + 0.05, 0.6)) for k in range(OBJECT_MIN_GROUP)]
    det.blazepose = lambda rgb: [one]
    det.objects = lambda rgb: group
    assert det(frame) == group
    det.objects = lambda rgb: group[:2]  # two found: maybe two of more, so not counted (a floor under "many" only)
    assert det(frame) == [one]
    det.blazepose = lambda rgb: [one] * OBJECT_MIN_GROUP
    det.objects = lambda rgb: group  # a tie: BlazePose's, with their keypoints
    assert det(frame) == [one] * OBJECT_MIN_GROUP
    det.objects = None
    assert det(frame) == [one] * OBJECT_MIN_GROUP


@pytest.mark.skipif(not OBJECTS.is_file(), reason=f"no object detector at {OBJECTS} (python -m koala.caption.people fetches it)")
def test_object_detector_on_the_real_samples(sample_dir):
    """Nobody in J3JqVnOGfYA_3 (a screen recording) and RIeEULN2r2U_18 (a ditch at night), in any of 4 frames."""
    from koala.caption.people import ObjectDetector
    from koala.io.video import probe, read_all

    det = ObjectDetector(OBJECTS)
    for name in ("J3JqVnOGfYA_3", "RIeEULN2r2U_18"):
        p = sample_dir / f"{name}.mp4"
        info = probe(p)
        for i in np.linspace(0, info.num_frames - 1, 4).round().astype(int):
            assert det(read_all(p, height=180, width=320, start=int(i), end=int(i) + 1, info=info)[0]) == [], (name, i)


def test_fetching_the_object_detector_without_npm_fails_clearly(monkeypatch, tmp_path):
    import subprocess

    from koala.caption import people

    def no_npm(*args, **kwargs):
        raise FileNotFoundError("npm")

    monkeypatch.setattr(subprocess, "run", no_npm)
    with pytest.raises(RuntimeError, match="npm is needed"):
        people.fetch_object_model(tmp_path / people.OBJECT_MODEL)
    assert not (tmp_path / people.OBJECT_MODEL).exists()
