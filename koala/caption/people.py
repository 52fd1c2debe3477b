"""People from MediaPipe's BlazePose person detector, run offline by LiteRT.

The detector (``pose_detection.tflite``, Apache-2.0) ships inside the mediapipe 0.10.14 wheel on
PyPI. mediapipe itself cannot be installed beside our pins (it needs protobuf < 5 and the
non-headless OpenCV), so :func:`fetch_model` downloads the wheel without its dependencies and
takes the model out of it; LiteRT (``ai-edge-litert``, pinned) runs it. OpenCV's own TFLite
importer cannot (the model uses the DENSIFY op).

The model finds a person by the head and predicts four body keypoints: the mid-hip centre, a
point on the circle that holds the whole body, the mid-shoulder centre and a point on the
upper-body circle (MediaPipe's pose_detection graph). Decoding follows that graph: 2254 SSD
anchors (strides 8, 16, 32, 32, 32 on a 224 px input, fixed size), sigmoid scores above 0.5,
weighted non-maximum suppression at IoU 0.3, letterbox padding removed. Written here because no
installed library decodes it.

Each detection is then checked by the pose landmark model from the same wheel
(``pose_landmark_full.tflite``): the body's region, rotated upright from the hip and shoulder
keypoints, goes through it and its pose-presence score must reach 0.5 (MediaPipe's tracking
graph does the same). The detector alone fires on some plants and posters; the landmark model
seldom does. Its presence score alone still passes a Lego robot and figures drawn on a comic poster
(presence 0.92-1.0 on the real corpus, koala/corpus/real_truth.json), so the landmark model must
also *locate* the head or a shoulder: the peak of its heatmap for the nose or either shoulder (its
third output, 64 x 64 per landmark, logits) must reach 0.5 (logit 0). On the real corpus a person's
peak is 0.5-0.96; the robot's, a bird's, a plant's and a hand's are 0.3-0.55. Figures drawn on a
poster reach 0.53-0.57, so a shot counts people only when at least one detection is located surely (0.6,
:data:`SURE_LOCATED`; koala.caption.subjects.people_tracks): in the real corpus every shot with a
detected person has one at 0.64 or more. Two thresholds from about 20 shots: the margins are thin
(0.57 against 0.64), so recheck them when the corpus grows.

BlazePose finds a person by the face and misses people under about 30 px tall. A second detector
counts those: MediaPipe Objectron's first stage, an SSD MobileNetV2 trained on 24 Open Images
classes, Person among them (``object_detection_ssd_mobilenetv2_oidv4_fp16.tflite``, Apache-2.0).
It ships in no mediapipe wheel on PyPI (the wheels download it at run time), but the npm package
``@mediapipe/objectron`` packs it into ``objectron_solution_packed_assets.data``;
:func:`fetch_object_model` takes it out with ``npm pack``, at the offsets that package's loader
lists, and checks its SHA-256 against MediaPipe's own asset list. It runs exactly as the graph in
that package configures it (:class:`ObjectDetector`): the frame stretched to 300 x 300 in [-1, 1],
1917 SSD anchors (6 layers, scales 0.2-0.95, strides 16-512, aspect ratios 1, 2, 1/2, 3, 1/3, the
lowest layer reduced to 3 boxes), box coder scales 10, 10, 5, 5 with exponential sizes, sigmoid
scores with the background ignored, each box one class (its best), kept at 0.5, weighted NMS at
IoU 0.5. On the 14 real shots without people (koala/corpus/real_truth.json) it finds nobody in any
sampled frame; on close-ups it is unsure (0.4-0.5), where BlazePose is sure.

It counts a frame's people only when it finds a group, :data:`OBJECT_MIN_GROUP` (3) or more, and more
than BlazePose does; then the frame's people are its own, so no one is counted twice. Like any
detector it misses some small people, so its count is a floor: 3 or more found means the caption's
"many" (3 or more) holds, but 1 or 2 found among more people would state a false count. On the
corpus it found 1-2 of the 4 people of cyclist_group (caption: "One person", false); of the 74
unlabelled music-video shots it would have changed 8, 6 rightly (one singer BlazePose missed) and
2 with too few of a small group. The rule was set after seeing cyclist_group: one of 24 shots.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

WHEEL = "mediapipe==0.10.14"
MEMBERS = {  # file name in the model folder -> member of the wheel
    "pose_detection.tflite": "mediapipe/modules/pose_detection/pose_detection.tflite",
    "pose_landmark_full.tflite": "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
}
INPUT = 224
LANDMARK_INPUT = 256
MIN_PRESENCE = 0.5  # MediaPipe's pose landmark graph: below this the landmark model finds no body
MIN_LOCATED = 0.5  # ours: heatmap peak (probability) of the nose or a shoulder; below, no head or shoulder was found
SURE_LOCATED = 0.6  # ours: a shot counts people only if one of its detections is located this surely
LOCATING = (0, 11, 12)  # BlazePose landmarks: nose, left shoulder, right shoulder
MIN_SCORE = 0.5  # MediaPipe's pose_detection graph
NMS_IOU = 0.3  # MediaPipe's pose_detection graph

OBJECT_MODEL = "object_detection_ssd_mobilenetv2_oidv4_fp16.tflite"  # beside the person detector
OBJECT_PACKAGE = "@mediapipe/objectron@0.4.1675468480"  # npm package that packs it
OBJECT_SHA256 = "d0a5255bf8c4f5a0bc4240741a76c41d5e939f7655078f945f50ab53a9375da6"  # MediaPipe's asset list
OBJECT_INPUT = 300
OBJECT_LABELS = ("???", "Bicycle", "Boot", "Laptop", "Person", "Chair", "Cattle", "Desk", "Cat", "Computer mouse",
                 "Computer monitor", "Box", "Mug", "Coffee cup", "Stationary bicycle", "Table", "Bottle", "High heels",
                 "Vehicle", "Footwear", "Dog", "Book", "Camera", "Car")  # object_detection_oidv4_labelmap.txt
OBJECT_MIN_SCORE = 0.5  # Objectron's ObjectDetectionOidV4Subgraph (TensorsToDetections min_score_thresh)
OBJECT_NMS_IOU = 0.5  # Objectron's ObjectDetectionOidV4Subgraph (weighted NMS, IoU)
EDGE = 0.02  # a box within this share of the frame's top or bottom edge is cut by it
OBJECT_MIN_GROUP = 3  # ours: the object detector counts a frame's people only when it finds this many (a floor: "many")


@dataclass(frozen=True)
class Person:
    """One detected person in 0-1 frame coordinates (x right, y down)."""

    score: float
    head: tuple[float, float, float, float]  # x0, y0, x1, y1 of the detection box (the head)
    hip: tuple[float, float]  # mid-hip centre
    radius: float  # radius of the circle that holds the whole body, in frame heights
    shoulder: tuple[float, float]  # mid-shoulder centre
    located: float = 1.0  # how surely the landmark model located the head or a shoulder (1 when not checked)

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(x, y, w, h) of the visible body in per-mille of the frame (for tracking across frames)."""
        x0, y0, x1, y1 = self.extent()
        return (int(1000 * x0), int(1000 * y0), int(1000 * (x1 - x0)), int(1000 * (y1 - y0)))

    def extent(self) -> tuple[float, float, float, float]:
        """The body's box clipped to the frame: head top to the body circle's bottom, a body's width."""
        top = min(self.head[1], self.hip[1] - self.radius)
        bottom = self.hip[1] + self.radius
        half = max(0.5 * (self.head[2] - self.head[0]), 0.35 * self.radius)
        cx = self.hip[0]
        return (max(0.0, cx - half), max(0.0, top), min(1.0, cx + half), min(1.0, bottom))

    @property
    def framing(self) -> str:
        """How much of the body the frame holds: ``full body``, ``upper body`` or ``head and shoulders``.

        Full body: the whole body circle (head to feet) is inside the frame, give or take 5 %;
        upper body: the hips are in the frame, the feet are not; else head and shoulders.
        """
        if self.hip[1] + self.radius <= 1.05 and self.hip[1] - self.radius >= -0.05:
            return "full body"
        return "upper body" if self.hip[1] <= 1.0 else "head and shoulders"


@dataclass(frozen=True)
class Body:
    """One person found by the object detector (:class:`ObjectDetector`), in 0-1 frame coordinates.

    It has no keypoints, so its framing comes from its box alone, and ``located`` is 1: the
    detector's own score (0.5 or more) is its check.
    """

    score: float
    extent_box: tuple[float, float, float, float]  # x0, y0, x1, y1, clipped to the frame
    located: float = 1.0

    @property
    def box(self) -> tuple[int, int, int, int]:
        x0, y0, x1, y1 = self.extent_box
        return (int(1000 * x0), int(1000 * y0), int(1000 * (x1 - x0)), int(1000 * (y1 - y0)))

    def extent(self) -> tuple[float, float, float, float]:
        return self.extent_box

    @property
    def framing(self) -> str:
        """``full body`` when the box stays clear of the frame's top and bottom edges, else ``upper body``.

        The box holds the visible person: one cut by the frame's bottom edge shows at most the
        upper body (the box cannot tell head and shoulders from more).
        """
        _, y0, _, y1 = self.extent_box
        return "full body" if y0 > EDGE and y1 < 1.0 - EDGE else "upper body"


def ssd_anchors() -> np.ndarray:
    """(1917, 4) anchors (cx, cy, w, h) in 0-1 of the SSD's 300 px input (MediaPipe SsdAnchorsCalculator as Objectron sets it).

    6 layers with scales from 0.2 to 0.95 (the last layer's next scale is 1), strides 16 to 512
    (19, 10, 5, 3, 2, 1 cells a side), anchor offset 0.5. Per cell of the lowest layer 3 boxes
    (scale 0.1 at ratio 1, the layer's scale at ratios 2 and 1/2); of the others the layer's scale
    at ratios 1, 2, 1/2, 3, 1/3 and the geometric mean of its and the next scale at ratio 1. A box
    of scale s and ratio r is s * sqrt(r) wide and s / sqrt(r) high.
    """
    layers, lo, hi = 6, 0.2, 0.95
    scales = [lo + (hi - lo) * i / (layers - 1) for i in range(layers)] + [1.0]
    out = []
    for i, stride in enumerate((16, 32, 64, 128, 256, 512)):
        if i == 0:
            shapes = [(0.1, 1.0), (scales[0], 2.0), (scales[0], 0.5)]
        else:
            shapes = [(scales[i], r) for r in (1.0, 2.0, 0.5, 3.0, 0.3333)] + [(float(np.sqrt(scales[i] * scales[i + 1])), 1.0)]
        fm = int(np.ceil(OBJECT_INPUT / stride))
        cell = [(s * np.sqrt(r), s / np.sqrt(r)) for s, r in shapes]
        for y in range(fm):
            for x in range(fm):
                out += [((x + 0.5) / fm, (y + 0.5) / fm, w, h) for w, h in cell]
    return np.asarray(out, np.float32)


class ObjectDetector:
    """People from Objectron's SSD MobileNetV2 (Open Images, 24 classes) on RGB frames; from a local .tflite file."""

    def __init__(self, model_path: str | Path):
        from ai_edge_litert.interpreter import Interpreter

        self.interp = Interpreter(model_path=str(model_path), num_threads=1)
        self.interp.allocate_tensors()
        self.inp = self.interp.get_input_details()[0]["index"]
        outs = {tuple(d["shape"]): d["index"] for d in self.interp.get_output_details()}
        self.reg, self.cls = outs[(1, 1917, 4)], outs[(1, 1917, len(OBJECT_LABELS))]
        self.anchors = ssd_anchors()

    def detect(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every detection of one RGB frame: boxes (N, 4) x0, y0, x1, y1 in 0-1, scores (N,), class ids (N,), after NMS."""
        x = cv2.resize(rgb, (OBJECT_INPUT, OBJECT_INPUT), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 127.5 - 1.0
        self.interp.set_tensor(self.inp, x[None])
        self.interp.invoke()
        raw = self.interp.get_tensor(self.reg)[0]  # (1917, 4): ty, tx, th, tw
        prob = 1.0 / (1.0 + np.exp(-np.clip(self.interp.get_tensor(self.cls)[0].astype(np.float64), -100, 100)))
        prob[:, 0] = 0.0  # the background class is ignored
        label, score = prob.argmax(axis=1), prob.max(axis=1)
        keep = score >= OBJECT_MIN_SCORE
        a, r = self.anchors[keep], raw[keep]
        cy = r[:, 0] / 10.0 * a[:, 3] + a[:, 1]
        cx = r[:, 1] / 10.0 * a[:, 2] + a[:, 0]
        h = np.exp(r[:, 2] / 5.0) * a[:, 3]
        w = np.exp(r[:, 3] / 5.0) * a[:, 2]
        boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
        score, label = score[keep], label[keep]
        if not len(score):
            return np.zeros((0, 4), np.float32), np.zeros(0), np.zeros(0, int)
        groups = weighted_nms(boxes, score, OBJECT_NMS_IOU)
        merged = np.array([np.average(boxes[g], axis=0, weights=wts) for g, wts in groups])
        return merged, np.array([wts.max() for _, wts in groups]), np.array([label[g[0]] for g, _ in groups])

    def __call__(self, rgb: np.ndarray) -> list[Body]:
        """The people in one RGB frame (H, W, 3) uint8."""
        boxes, scores, labels = self.detect(rgb)
        person = OBJECT_LABELS.index("Person")
        return [Body(float(s), tuple(float(v) for v in np.clip(b, 0.0, 1.0)))
                for b, s, c in zip(boxes, scores, labels) if c == person]


def anchors() -> np.ndarray:
    """(2254, 2) SSD anchor centres (x, y) in 0-1 of the 224 px input (MediaPipe SsdAnchorsCalculator)."""
    out = []
    strides = [8, 16, 32, 32, 32]
    i = 0
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        per_cell = 2 * (j - i)  # aspect ratio 1 and the interpolated scale, per layer of this stride
        fm = int(np.ceil(INPUT / strides[i]))
        for y in range(fm):
            for x in range(fm):
                out += [((x + 0.5) / fm, (y + 0.5) / fm)] * per_cell
        i = j
    return np.asarray(out, np.float32)


def fetch_model(dest: str | Path) -> Path:
    """Download the mediapipe wheel (no dependencies, from PyPI) and extract the person detector to ``dest``.

    The pose landmark model (the detector's check) goes beside it, as ``pose_landmark_full.tflite``,
    and so does Objectron's object detector (:func:`fetch_object_model`, from npm) when npm can fetch
    it; when it cannot, a warning says so and BlazePose alone counts people.

    Raises:
        RuntimeError: pip could not download the wheel (no network, no PyPI).
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        res = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", WHEEL, "-d", tmp],
                             capture_output=True, text=True)
        wheels = list(Path(tmp).glob("mediapipe-*.whl"))
        if res.returncode != 0 or not wheels:
            raise RuntimeError(f"could not download {WHEEL} from PyPI for its person detector: {res.stderr.strip()[-300:]}")
        with zipfile.ZipFile(wheels[0]) as zf:
            for name, member in MEMBERS.items():
                out = dest if name == "pose_detection.tflite" else dest.with_name(name)
                part = out.with_suffix(".part")
                part.write_bytes(zf.read(member))
                part.replace(out)
    try:
        fetch_object_model(dest.with_name(OBJECT_MODEL))
    except RuntimeError as exc:  # optional: without it BlazePose alone counts people
        log.warning("small people will not be counted (no object detector): %s", exc)
    return dest


def fetch_object_model(dest: str | Path) -> Path:
    """Take Objectron's SSD object detector out of the npm package ``@mediapipe/objectron`` (``npm pack``) into ``dest``.

    The package packs it with the label map into ``objectron_solution_packed_assets.data``; the
    package's loader script lists each file's byte range. The model's SHA-256 must be MediaPipe's.

    Raises:
        RuntimeError: npm is missing or could not fetch the package, or the model is not the expected file.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            res = subprocess.run(["npm", "pack", "--silent", OBJECT_PACKAGE], cwd=tmp, capture_output=True, text=True)
        except FileNotFoundError as exc:
            raise RuntimeError(f"npm is needed to fetch {OBJECT_PACKAGE} for its object detector: {exc}") from exc
        packs = list(Path(tmp).glob("*.tgz"))
        if res.returncode != 0 or not packs:
            raise RuntimeError(f"could not fetch {OBJECT_PACKAGE} from npm for its object detector: {res.stderr.strip()[-300:]}")
        with tarfile.open(packs[0]) as tf:
            loader = tf.extractfile("package/objectron_solution_packed_assets_loader.js").read().decode()
            data = tf.extractfile("package/objectron_solution_packed_assets.data").read()
    model = packed_member(loader, data, OBJECT_MODEL)
    if hashlib.sha256(model).hexdigest() != OBJECT_SHA256:
        raise RuntimeError(f"{OBJECT_PACKAGE} packs an {OBJECT_MODEL} whose SHA-256 is not MediaPipe's ({OBJECT_SHA256})")
    part = dest.with_suffix(".part")
    part.write_bytes(model)
    part.replace(dest)
    return dest


def packed_member(loader: str, data: bytes, name: str) -> bytes:
    """The bytes of file ``name`` in an Emscripten packed-assets ``data`` file, at the range its ``loader`` script lists."""
    m = re.search(r"loadPackage\((\{.*?\})\);", loader, re.S)
    if m is None:
        raise RuntimeError("the packed-assets loader lists no files")
    for f in json.loads(m.group(1))["files"]:
        if f["filename"].endswith("/" + name):
            return data[f["start"]:f["end"]]
    raise RuntimeError(f"the packed assets hold no {name}")


class PersonDetector:
    """BlazePose's person detector on RGB frames, with Objectron's SSD when its model is beside; built from a local .tflite file."""

    def __init__(self, model_path: str | Path):
        from ai_edge_litert.interpreter import Interpreter

        self.interp = Interpreter(model_path=str(model_path), num_threads=1)
        self.interp.allocate_tensors()
        self.inp = self.interp.get_input_details()[0]["index"]
        outs = sorted(self.interp.get_output_details(), key=lambda d: d["shape"][-1], reverse=True)
        self.reg, self.cls = outs[0]["index"], outs[1]["index"]  # (1, 2254, 12) boxes+keypoints, (1, 2254, 1) scores
        self.anchors = anchors()
        landmark = Path(model_path).with_name("pose_landmark_full.tflite")
        self.check = None
        if landmark.is_file():
            self.check = Interpreter(model_path=str(landmark), num_threads=1)
            self.check.allocate_tensors()
            self.check_in = self.check.get_input_details()[0]["index"]
            outs = self.check.get_output_details()
            self.presence = next(d["index"] for d in outs if list(d["shape"]) == [1, 1])
            self.heatmap = next(d["index"] for d in outs if len(d["shape"]) == 4 and d["shape"][-1] == 39)  # (1, 64, 64, 39)
        else:
            log.info("person detections are not checked: no pose landmark model beside %s", model_path)
        objects = Path(model_path).with_name(OBJECT_MODEL)
        self.objects = ObjectDetector(objects) if objects.is_file() else None
        if self.objects is None:
            log.info("small people are not counted: no object detector at %s (python -m koala.caption.people fetches it)", objects)

    def presence_of(self, rgb: np.ndarray, p: "Person") -> float:
        """The landmark model's pose-presence score (0-1) for the body region of detection ``p``.

        The region is a square of 2.5 body radii about the hip centre, turned so that the
        shoulders are straight above the hips (MediaPipe's detection-to-ROI rule), at 256 px.
        """
        h, w = rgb.shape[:2]
        hip = np.array([p.hip[0] * w, p.hip[1] * h])
        up = np.array([p.shoulder[0] * w, p.shoulder[1] * h]) - hip
        turn = np.pi / 2 - np.arctan2(-up[1], up[0])  # radians that bring hip->shoulder to point up
        a = 2.5 * p.radius * h / LANDMARK_INPUT  # input px per crop px
        c, s = np.cos(turn), np.sin(turn)
        m = np.array([[a * c, -a * s, 0.0], [a * s, a * c, 0.0]])
        m[:, 2] = hip - m[:, :2] @ np.array([LANDMARK_INPUT / 2, LANDMARK_INPUT / 2])
        crop = cv2.warpAffine(rgb, m, (LANDMARK_INPUT, LANDMARK_INPUT), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR)
        self.check.set_tensor(self.check_in, (crop.astype(np.float32) / 255.0)[None])
        self.check.invoke()
        return float(self.check.get_tensor(self.presence).ravel()[0])

    def located(self) -> float:
        """After :meth:`presence_of`: how surely the landmark model located the head or a shoulder (0-1).

        The largest heatmap peak (as a probability) of the nose and the two shoulders.
        """
        peaks = self.check.get_tensor(self.heatmap)[0][..., list(LOCATING)].reshape(-1, len(LOCATING)).max(axis=0)
        return float(1.0 / (1.0 + np.exp(-np.clip(peaks.max(), -50, 50))))

    def confirmed(self, rgb: np.ndarray, p: "Person") -> "Person | None":
        """``p`` with its ``located`` set, if the landmark model sees a body in its region and locates its head or a shoulder."""
        if self.presence_of(rgb, p) < MIN_PRESENCE:
            return None
        loc = self.located()
        return dataclasses.replace(p, located=loc) if loc >= MIN_LOCATED else None

    def __call__(self, rgb: np.ndarray) -> list[Person] | list[Body]:
        """People in one RGB frame (H, W, 3) uint8: BlazePose's, or the object detector's when it finds a group and more people."""
        out = self.blazepose(rgb)
        if self.objects is not None:
            bodies = self.objects(rgb)
            if len(bodies) >= OBJECT_MIN_GROUP and len(bodies) > len(out):  # a group BlazePose missed (no one counted twice)
                return bodies
        return out

    def blazepose(self, rgb: np.ndarray) -> list[Person]:
        """BlazePose's people in one RGB frame (H, W, 3) uint8, each confirmed by the landmark model when it is there."""
        h, w = rgb.shape[:2]
        s = INPUT / max(h, w)
        nh, nw = int(round(h * s)), int(round(w * s))
        py, px = (INPUT - nh) // 2, (INPUT - nw) // 2
        canvas = np.zeros((INPUT, INPUT, 3), np.float32)
        canvas[py : py + nh, px : px + nw] = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA).astype(np.float32) / 127.5 - 1.0
        self.interp.set_tensor(self.inp, canvas[None])
        self.interp.invoke()
        raw = self.interp.get_tensor(self.reg)[0]  # (2254, 12)
        score = 1.0 / (1.0 + np.exp(-np.clip(self.interp.get_tensor(self.cls)[0, :, 0].astype(np.float64), -100, 100)))
        keep = score >= MIN_SCORE
        if not keep.any():
            return []
        a = self.anchors[keep]
        r = raw[keep] / INPUT
        cx, cy = r[:, 0] + a[:, 0], r[:, 1] + a[:, 1]
        boxes = np.stack([cx - r[:, 2] / 2, cy - r[:, 3] / 2, cx + r[:, 2] / 2, cy + r[:, 3] / 2], axis=1)
        kps = r[:, 4:12].reshape(-1, 4, 2) + a[:, None, :]
        # undo the letterbox: padded input coordinates -> 0-1 frame coordinates
        scale = np.array([INPUT / nw, INPUT / nh], np.float32)
        off = np.array([px / INPUT, py / INPUT], np.float32)
        boxes = ((boxes.reshape(-1, 2, 2) - off) * scale).reshape(-1, 4)
        kps = (kps - off) * scale
        out = []
        for idx in weighted_nms(boxes, score[keep]):
            group, wts = idx
            b = np.average(boxes[group], axis=0, weights=wts)
            k = np.average(kps[group], axis=0, weights=wts)  # (4, 2)
            hip, body, shoulder = k[0], k[1], k[2]
            radius = float(np.hypot((body[0] - hip[0]) * w / h, body[1] - hip[1]))  # in frame heights
            out.append(Person(float(wts.max()), tuple(map(float, b)), (float(hip[0]), float(hip[1])), radius,
                              (float(shoulder[0]), float(shoulder[1]))))
        if self.check is not None:
            out = [c for c in (self.confirmed(rgb, p) for p in out) if c is not None]
        return out


def weighted_nms(boxes: np.ndarray, scores: np.ndarray, iou: float = NMS_IOU) -> list[tuple[np.ndarray, np.ndarray]]:
    """MediaPipe's weighted NMS: each group is the top box and all boxes overlapping it by ``iou``."""
    order = np.argsort(-scores)
    left = list(order)
    groups = []
    while left:
        top = left[0]
        ious = _iou(boxes[top], boxes[left])
        members = [left[i] for i in range(len(left)) if ious[i] >= iou]
        groups.append((np.asarray(members), scores[members]))
        left = [left[i] for i in range(len(left)) if ious[i] < iou]
    return groups


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x0, y0 = np.maximum(a[0], b[:, 0]), np.maximum(a[1], b[:, 1])
    x1, y1 = np.minimum(a[2], b[:, 2]), np.minimum(a[3], b[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
    return inter / np.maximum(area, 1e-9)


@functools.lru_cache(maxsize=2)
def person_detector(model_path: str):
    """The detector for ``model_path``, or None (logged once) when the model or LiteRT is missing."""
    if not model_path or not Path(model_path).is_file():
        log.info("people are not looked for: no person-detector model at %r (python -m koala.caption.people %s fetches it)",
                 model_path, model_path or "data/models/pose_detection.tflite")
        return None
    try:
        return PersonDetector(model_path)
    except ImportError as exc:
        log.info("people are not looked for: LiteRT is not installed (%s); pip install ai-edge-litert==2.3.0", exc)
        return None


if __name__ == "__main__":  # python -m koala.caption.people DEST.tflite (a DEST named OBJECT_MODEL: that model alone)
    DEST = Path(sys.argv[1] if len(sys.argv) > 1 else "data/models/pose_detection.tflite")
    if DEST.name == OBJECT_MODEL:
        print(fetch_object_model(DEST))
    else:
        fetch_model(DEST)
        print(*(f for f in (DEST, DEST.with_name("pose_landmark_full.tflite"), DEST.with_name(OBJECT_MODEL)) if f.is_file()), sep="\n")
