"""What a measured caption claims (camera move, on-screen text, people count), checked against truth.

A caption may leave a fact out; it must never state one that is false. :func:`contradictions`
reads the claims back from the caption's fields (the wording of :mod:`koala.caption.camera`,
:mod:`koala.caption.subjects` and :mod:`koala.caption.visual`) and lists every claim that the
hand-checked truth of the shot (``koala/corpus/real_truth.json`` schema) contradicts.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from koala.caption.camera import VERBS

_MOVES = {k: v for k, v in VERBS.items() if k != "static"}
_GERUND = {k: v.replace("pans", "panning").replace("tilts", "tilting").replace("zooms", "zooming") for k, v in _MOVES.items()}
_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}

# For each true camera label, the camera claims that do not contradict it. ``moving`` (a compound
# move that is none of the named ones) allows only what the truth's ``camera_ok`` lists.
ALLOWED = {
    "static": {"static"},
    "handheld": {"handheld", "pan_left", "pan_right", "tilt_up", "tilt_down"},  # a handheld camera wanders
    "moving": set(),
    **{m: {m, "handheld"} for m in _MOVES},
}


def allowed_claims(camera: str, camera_ok=()) -> set[str]:
    """Camera claims that the truth ``camera`` does not contradict, plus its ``camera_ok`` alternatives as listed.

    The alternatives are taken literally (``static`` with ``camera_ok: [handheld]`` allows a
    shaky-camera claim, not a pan); only a shot whose own label is handheld lets its drift be
    named as a pan or tilt.
    """
    return set(ALLOWED.get(camera, {camera})) | set(camera_ok or ())


def camera_claims(text: str) -> set[str]:
    """The camera labels a camera-language sentence states: moves, ``static`` and ``handheld``."""
    text = text.lower()
    out = {m for m in _MOVES if _MOVES[m] in text or _GERUND[m] in text}
    if "the camera is static" in text:
        out.add("static")
    if "handheld" in text or "shaky" in text:
        out.add("handheld")
    return out


def people_claim(subject: str) -> int | None:
    """The number of people (or faces, when no person is counted) the subject field states; None if it says none."""
    text = subject.lower()
    for noun in (r"(?:people|person)", r"faces?"):
        m = re.search(r"\b(one|two|three|four|five|\d+)\s+" + noun + r"\b", text)
        if m:
            word = m.group(1)
            return _WORDS[word] if word in _WORDS else int(word)
    return None


def text_claim(visual_language: str) -> bool:
    """Whether the visual-language field says there is on-screen (overlay) text."""
    return "on-screen text" in visual_language.lower()


def _people_ok(claim: int, truth: str) -> bool:
    return claim >= 3 if truth == "many" else claim == int(truth)


def contradictions(truth: dict, fields: dict[str, str]) -> list[str]:
    """Claims of a caption's ``fields`` that the shot's ``truth`` contradicts (empty: no false fact).

    Args:
        truth: a shot of the truth file; ``camera`` (with ``camera_ok``, the other answers that
            are not false), ``overlay_text`` and ``people`` are checked when present and not None.
        fields: the six caption fields (subject, visual_language, camera_language, ...).
    """
    bad = []
    cam = truth.get("camera")
    if cam is not None:
        wrong = camera_claims(fields.get("camera_language", "")) - allowed_claims(cam, truth.get("camera_ok"))
        if wrong:
            bad.append(f"camera: says {sorted(wrong)} but the shot is {cam}")
    if truth.get("overlay_text") is False and text_claim(fields.get("visual_language", "")):
        bad.append("text: says on-screen text but the shot has no overlay text")
    people = truth.get("people")
    claim = people_claim(fields.get("subject", ""))
    if people is not None and claim is not None and not _people_ok(claim, str(people)):
        bad.append(f"people: says {claim} but the shot has {people}")
    return bad


def shot_truth(row: dict) -> dict:
    """A row of the real corpus's shots table (data/corpus/real_shots.parquet) as a truth dict.

    NaN and None mean "not labelled" (None here); ``camera_ok`` becomes a list.
    """
    def val(x):
        return None if x is None or (isinstance(x, float) and math.isnan(x)) else x

    ok = row.get("camera_ok")
    return {"shot_id": row.get("shot_id"), "camera": val(row.get("camera")),
            "camera_ok": [] if ok is None or (isinstance(ok, float) and math.isnan(ok)) else list(ok),
            "overlay_text": val(row.get("overlay_text")), "people": val(row.get("people")),
            "letterbox": val(row.get("letterbox"))}


def labelled_shots(root: str | Path, manifest: str = "data/corpus/real_manifest.parquet"):
    """The hand-labelled real shots as the corpus stage's shots table, read from the truth file itself.

    ``koala/corpus/real_truth.json`` (koala.corpus.real.load_truth) joined with the fetched files of
    ``root / manifest``, so a corrected label counts at once, before the corpus stage reruns.

    Raises:
        FileNotFoundError: the real-footage corpus was not fetched (no manifest).
    """
    import pandas as pd

    from koala.corpus.real import load_truth, shots_table

    _, shots = load_truth()
    return shots_table(shots, pd.read_parquet(Path(root) / manifest))
