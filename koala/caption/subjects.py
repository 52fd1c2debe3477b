"""Subjects from detectors that ship offline: MediaPipe's person detector and OpenCV's face cascade.

People: BlazePose's person detector (koala.caption.people; its model ships in the mediapipe wheel,
run by LiteRT), which finds people facing away too and tells how much of each body the frame
holds. Faces: opencv-python-headless 5.0 (pinned here) no longer builds the cascade classifier
or the HOG people detector, so faces use OpenCV's LBP frontal-face cascade file that
scikit-image bundles, run by scikit-image's cascade (or by ``cv2.CascadeClassifier`` where the
installed OpenCV still has it). A detection counts only when it recurs at the same place in
several sampled frames, so a one-frame false alarm never reaches a caption.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import cv2
import numpy as np

from koala.caption.actions import region_words
from koala.caption.people import SURE_LOCATED, person_detector

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Track:
    """A detection that recurs across sampled frames: mean box in 0-1 frame coordinates."""

    kind: str  # face | person
    x: float
    y: float
    w: float
    h: float
    frames: int  # sampled frames it was found in
    framing: str = ""  # people: full body | upper body | head and shoulders (the commonest over its frames)

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y + self.h / 2)


@functools.lru_cache(maxsize=1)
def face_detector():
    """(name, detect(gray, min_px) -> list of (x, y, w, h)) for the bundled frontal-face cascade."""
    from skimage.data import lbp_frontal_face_cascade_filename

    xml = lbp_frontal_face_cascade_filename()
    if hasattr(cv2, "CascadeClassifier"):
        clf = cv2.CascadeClassifier(xml)

        def detect(gray, min_px):
            return [tuple(map(int, b)) for b in clf.detectMultiScale(gray, scaleFactor=1.15, minNeighbors=4, minSize=(min_px, min_px))]

        return "opencv-lbp-frontalface", detect
    from skimage.feature import Cascade

    clf = Cascade(xml)

    def detect(gray, min_px):
        size = min(gray.shape)
        found = clf.detect_multi_scale(img=gray, scale_factor=1.25, step_ratio=1, min_size=(min_px, min_px),
                                       max_size=(size, size), min_neighbor_number=3)
        return [(d["c"], d["r"], d["width"], d["height"]) for d in found]

    return "lbp-frontalface (skimage)", detect


def persistent(boxes_per_frame: list[list[tuple]], size: tuple[int, int], *, kind: str, min_frames: int,
               labels: list[list[str]] | None = None) -> list[Track]:
    """Group boxes across frames by centre distance; keep groups seen in at least ``min_frames`` frames.

    Frames, not boxes, are counted: two nested boxes of one frame that fall into one group are one
    sighting (a face found at two scales does not "recur"), so a search that skips frames which
    cannot change the answer (:func:`face_boxes`) finds the same tracks.

    ``labels`` (one per box, optional) give each track the commonest label of its boxes (framing).
    """
    h, w = size
    groups: list[list[tuple]] = []
    for k, boxes in enumerate(boxes_per_frame):
        for j, (x, y, bw, bh) in enumerate(boxes):
            lab = labels[k][j] if labels else ""
            cx, cy = x + bw / 2, y + bh / 2
            for g in groups:
                gx = np.mean([b[0] + b[2] / 2 for b in g])
                gy = np.mean([b[1] + b[3] / 2 for b in g])
                gw = np.mean([b[2] for b in g])
                if np.hypot(cx - gx, cy - gy) < 0.6 * max(gw, bw):
                    g.append((x, y, bw, bh, lab, k))
                    break
            else:
                groups.append([(x, y, bw, bh, lab, k)])
    tracks = []
    for g in groups:
        seen = len({b[5] for b in g})
        if seen >= min_frames:
            a = np.mean(np.array([b[:4] for b in g], float), axis=0)
            labs = [b[4] for b in g]
            tracks.append(Track(kind, a[0] / w, a[1] / h, a[2] / w, a[3] / h, seen, max(set(labs), key=labs.count)))
    return sorted(tracks, key=lambda t: -t.w * t.h)


def skin_share(rgb: np.ndarray, box: tuple) -> float:
    """Share of a box's pixels in the usual skin-tone range of YCrCb (Cr 135-180, Cb 85-135).

    The LBP cascade fires on some static textures, and a static false alarm recurs in every
    frame; a face with no skin-coloured pixels is dropped (a grey-scale face is missed, never invented).
    """
    x, y, w, h = box
    patch = rgb[max(0, y) : y + h, max(0, x) : x + w]
    if patch.size == 0:
        return 0.0
    ycc = cv2.cvtColor(np.ascontiguousarray(patch), cv2.COLOR_RGB2YCrCb)
    cr, cb = ycc[..., 1], ycc[..., 2]
    return float(((cr >= 135) & (cr <= 180) & (cb >= 85) & (cb <= 135)).mean())


def find_subjects(frames: np.ndarray, *, min_size: float, people_model: str = "") -> list[Track]:
    """Faces that recur at one place, and people seen, in at least 40 % of ``frames`` (N, H, W, 3).

    People come from the BlazePose person detector (koala.caption.people) when its model is at
    ``people_model``; otherwise only faces are looked for.
    """
    if len(frames) == 0:
        return []
    h, w = frames.shape[1:3]
    min_frames = max(2, int(np.ceil(0.4 * len(frames)))) if len(frames) > 1 else 1
    _, detect_faces = face_detector()
    min_px = max(20, int(round(min_size * min(h, w))))
    faces = face_boxes(frames, detect_faces, min_px, min_frames)
    tracks = persistent(faces, (h, w), kind="face", min_frames=min_frames)
    people = person_detector(people_model)
    if people is not None:
        tracks += people_tracks([people(f) for f in frames])
    return tracks


def face_boxes(frames: np.ndarray, detect, min_px: int, min_frames: int) -> list[list[tuple]]:
    """Per frame, the skin-coloured face boxes ``detect(gray, min_px)`` finds; frames are searched in
    order, and the search stops once no face has been found and fewer than ``min_frames`` frames are
    left (no face could then recur in enough frames to be kept by :func:`persistent`, so the tracks
    are those of a full search).

    The cascade costs about 75 ms of CPU per 180p frame, most of a caption's time (issue 15's profile);
    a clip without faces, the common case, skips its last frame.
    """
    out: list[list[tuple]] = [[] for _ in frames]
    for k, f in enumerate(frames):
        if not any(out) and len(frames) - k < min_frames:
            break
        gray = cv2.cvtColor(f, cv2.COLOR_RGB2GRAY)
        out[k] = [b for b in detect(gray, min_px) if skin_share(f, b) >= 0.25]
    return out


def people_tracks(found: list[list], *, min_share: float = 0.4) -> list[Track]:
    """How many people a shot shows, and where: from per-frame detections (koala.caption.people.Person).

    People walk and ride through a shot, so they are counted per frame, not followed by place: the
    count is the largest n such that at least ``min_share`` of the frames show n or more people (a
    one-frame false alarm does not count; a cyclist crossing the frame does). The frame showing n
    people with the highest scores gives their places and framing. Nobody is counted unless one
    detection of the shot was located surely (``located`` >= SURE_LOCATED, koala.caption.people):
    figures on a poster pass the per-frame check now and then, not surely (koala.caption.people).
    """
    if not any(p.located >= SURE_LOCATED for ps in found for p in ps):
        return []
    counts = [len(ps) for ps in found]
    n = max((c for c in range(1, max(counts, default=0) + 1) if np.mean([k >= c for k in counts]) >= min_share), default=0)
    if n == 0:
        return []
    best = max((ps for ps in found if len(ps) >= n), key=lambda ps: sum(sorted((p.score for p in ps), reverse=True)[:n]))
    seen = sum(k >= n for k in counts)
    out = []
    for p in sorted(best, key=lambda p: -p.score)[:n]:
        x0, y0, x1, y1 = p.extent()
        out.append(Track("person", x0, y0, x1 - x0, y1 - y0, seen, p.framing))
    return sorted(out, key=lambda t: -t.w * t.h)


_COUNT = {1: "One", 2: "Two", 3: "Three", 4: "Four", 5: "Five"}


def describe(tracks: list[Track]) -> str:
    """Subjects in words: how many people (or faces, when no body is found), where, how framed. Nothing if none.

    Faces are counted only when the person detector found no one (or did not run): a person
    seen from behind has no face, and one count per caption keeps it from contradicting itself.
    """
    people = [t for t in tracks if t.kind == "person"]
    found, noun = (people, "person") if people else ([t for t in tracks if t.kind == "face"], "face")
    if not found:
        return ""
    n = len(found)
    count = _COUNT.get(n, str(n))
    plural = noun if n == 1 else ("people" if noun == "person" else noun + "s")
    where = [region_words(*t.centre) for t in found[:3]]
    verb = "is" if n == 1 else "are"
    if noun == "person":
        framing = {t.framing for t in found}
        how = framing.pop() if len(framing) == 1 else "framed variously"
        if n == 1:
            return f"{count} {plural} {verb} visible {where[0]}, {how}."
        return f"{count} {plural} {verb} visible, {', '.join(where)}; {how}."
    big = found[0].h
    size = "filling much of the frame" if big >= 0.3 else "at a moderate size" if big >= 0.12 else "small in the frame"
    if n == 1:
        return f"{count} {plural} {verb} visible {where[0]}, {size}."
    return f"{count} {plural} {verb} visible, {', '.join(where)}; the largest is {size}."
