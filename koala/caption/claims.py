"""Checkable statements in free caption prose, found by documented regular-expression rules.

``koala audit`` compares what a caption says with what the clip measures. Free prose (a VLM's,
Koala-36M's own, or ours) is cut into sentences and each sentence is matched against the rules
below; every match is a :class:`Claim` with the words that made it. The rules aim at precision:
a sentence that could be read two ways yields no claim, since a wrong flag costs more than a
missed one.

Rules (case-insensitive; "negated" = ``not``/``no``/``never``/``without``/``n't`` within the three
words before the keyword, which drops the claim):

- ``camera_static``: a camera word (camera, shot, view, framing, angle, perspective, viewpoint)
  with a stillness word after a linking verb (``the camera is/remains/stays ... static |
  stationary | still | fixed | motionless | unmoving | locked``), or a stillness word right before a
  camera word (``static shot``, ``stationary camera``, ``fixed angle``, ``locked-off shot``,
  ``tripod shot``), or ``the camera does not move`` / ``no camera movement``. Dropped when the
  same sentence also names a camera move (``stays still, then pans left`` is a sequence, not a
  static claim). ``steady`` is not a stillness word (a steady pan moves).
- ``camera_move``: ``pan``/``tilt``/``zoom`` verbs with a direction: ``pans (to the) left``,
  ``pans from right to left`` (= left), ``tilts up(ward)``, ``zooms in``, ``pushes in`` (= zoom in),
  ``pulls back``/``pulls out``/``zooms out`` (= zoom out). Claim value: pan_left, pan_right,
  tilt_up, tilt_down, zoom_in, zoom_out (the camera's own directions, as docs/DESIGN.md's contract).
  A bare ``the camera moves/pans/tracks/follows`` with no direction is ``camera_moving``.
- ``subject_motion``: a motion verb (walk, run, jog, dance, drive, fly, jump, swim, ride, wave,
  flow, spin, rotate, gallop, race, chase, throw, kick, climb, fall, sway, flutter, ski, surf,
  move, roll, splash, swing; any inflection) in a sentence with no camera word.
- ``scene_still``: ``nothing moves``, ``no movement/motion`` (not of the camera), ``the scene is
  still/motionless/frozen``.
- ``text_present``: on-screen text words: text, subtitle(s), caption(s) on screen, watermark,
  lettering, inscription, on-screen words, ``the words``, ``written``, ``reads "..."``,
  ``title card``, credits, ticker. ``text_absent``: the same words negated (``no text``,
  ``without any subtitles``).
- ``people_none``: ``no people/persons/humans/one``, ``nobody``, ``deserted``, ``devoid of people``.
- ``people_count``: the caption's stated head count, claimed only when it states one: a number
  word or ``a single``/``only one``/``alone`` before a person noun (man, woman, person, people,
  child, ...). The claimed total adds every numbered mention and every singular ``a/an/another``
  person mention; any vague plural (people, crowd, group, others, several, many, audience,
  spectators, passers-by) makes the total open-ended and drops the claim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_I = re.IGNORECASE
CAMERA_WORD = r"(?:camera|shot|view|framing|angle|perspective|viewpoint)"
STILL_WORD = r"(?:static|stationary|still|fixed|motionless|unmoving|immobile|locked(?:[- ]off)?)"
_NEG = re.compile(r"\b(?:not|no|never|without|nor|n't|cannot)\b(?:\W+\w+){0,3}\W*$", _I)

_STATIC = [
    re.compile(rf"\b{CAMERA_WORD}\b[^.;]{{0,40}}?\b(?:is|are|remains?|stays?|appears?|seems?|holds?|kept|keeps|being|was)\s+(?:\w+\s+){{0,2}}?({STILL_WORD})\b", _I),
    re.compile(rf"\b({STILL_WORD}|tripod)[- ](?:camera|shot|view|framing|angle|position|perspective|viewpoint|frame)\b", _I),
    re.compile(r"\bcamera\b[^.;]{0,30}?\b(does not|doesn't|did not|never|barely)\s+(move|moves)\b", _I),
    re.compile(r"\b(no camera (?:movement|motion)|without (?:any )?camera (?:movement|motion))\b", _I),
]
_DIR = {
    "pan": [(re.compile(r"\bpan(?:s|ned|ning)?\b(?:\s+\w+){0,3}?\s+from\s+(?:the\s+)?(left|right)\s+to\s+(?:the\s+)?(?:left|right)\b", _I), "from"),
            (re.compile(r"\bpan(?:s|ned|ning)?\b(?:\s+\w+){0,3}?\s+(?:to(?:wards?)?\s+(?:the\s+)?|)(left|right)(?:ward|wards)?\b", _I), "to")],
    "tilt": [(re.compile(r"\btilt(?:s|ed|ing)?\b(?:\s+\w+){0,3}?\s+from\s+(?:the\s+)?(top|bottom)\s+to\s+(?:the\s+)?(?:top|bottom)\b", _I), "from"),
             (re.compile(r"\btilt(?:s|ed|ing)?\b(?:\s+\w+){0,2}?\s+(up|down)(?:ward|wards)?\b", _I), "to")],
    "zoom": [(re.compile(r"\bzoom(?:s|ed|ing)?\s+(?:\w+\s+)?(in|out)\b", _I), "to"),
             (re.compile(r"\b(push(?:es|ed|ing)?\s+in|pull(?:s|ed|ing)?\s+(?:back|out)|dolly(?:ing)?\s+(?:in|out))\b", _I), "verb")],
}
_MOVE_ANY = re.compile(r"\b(?:camera|shot|view)\b[^.;]{0,40}?\b(pans?|panning|pans|tilts?|tilting|zooms?|zooming|moves|moving|tracks|tracking|"
                       r"follows|following|dollies|dollying|orbits|orbiting|sweeps|sweeping|glides|gliding|travels|rotates|rotating|cranes)\b"
                       r"|\b(panning|tracking|dolly|orbiting|moving|following) (?:shot|camera)\b", _I)
_MOTION_VERB = re.compile(r"\b(walk|run|jog|danc|driv|drove|fly|flies|flew|flying|jump|swim|swam|ride|rides|riding|rode|wav|flow|spin|"
                          r"rotat|gallop|rac(?:e|es|ing)\b|chas|throw|threw|kick|climb|fall|fell|sway|flutter|ski(?:s|ing)?\b|surf|mov|"
                          r"roll|splash|swing|swung)\w*", _I)
_SCENE_STILL = re.compile(r"\b(nothing (?:moves|is moving|happens)|no (?:visible )?(?:movement|motion|activity)\b(?! (?:of|from) the camera)|"
                          r"(?:scene|image|picture|frame|everything) (?:is|remains|stays) (?:completely |entirely |totally )?(?:still|motionless|frozen|static))", _I)
_TEXT = re.compile(r"\b(text|texts|subtitles?|on-?screen captions?|captions? (?:at|on|across) the (?:bottom|top|screen)|watermarks?|lettering|"
                   r"inscriptions?|on-?screen words|the words|written|title cards?|credits|news ticker|ticker|reads \")\b", _I)
_PEOPLE_NONE = re.compile(r"\b(no (?:people|persons|humans?|one|individuals|figures|pedestrians)|nobody|deserted|devoid of (?:people|life|humans))\b", _I)
_PERSON_SG = r"(?:man|woman|person|child|kid|boy|girl|individual|figure|adult|player|dancer|worker|pedestrian|lady|gentleman|guy|baby|toddler|teenager|student)"
_PERSON_PL = r"(?:men|women|people|persons|children|kids|boys|girls|individuals|figures|adults|players|dancers|workers|pedestrians|ladies|gentlemen|guys|babies|teenagers|students|friends)"
_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
            "a pair of": 2, "a couple of": 2, "a single": 1, "only one": 1, "a lone": 1, "a solitary": 1, "both": 2}
_COUNTED = re.compile(rf"\b({'|'.join(sorted(map(re.escape, _NUMBERS), key=len, reverse=True))}|\d+)\s+(?:[a-z-]+\s+){{0,2}}?({_PERSON_SG}|{_PERSON_PL})\b", _I)
_ALONE = re.compile(rf"\b(?:a|the|one)\s+(?:[a-z-]+\s+){{0,2}}?{_PERSON_SG}\b[^.;]{{0,40}}?\b(alone|by (?:him|her|them)self|on (?:his|her|their) own)\b"
                    rf"|\b(?:is|are) the only (?:person|one|people)\b|\bonly (?:one|a single) (?:person|individual|figure)\b", _I)
_SINGULAR = re.compile(rf"\b(?:a|an|another)\s+(?:[a-z-]+\s+){{0,2}}?{_PERSON_SG}\b", _I)
_VAGUE = re.compile(rf"\b(crowd|crowds|group|groups|others|several|many|numerous|audience|spectators|passers-?by|onlookers|team|family|couple|"
                    rf"some {_PERSON_PL}|{_PERSON_PL})\b", _I)


@dataclass(frozen=True)
class Claim:
    kind: str  # camera_static | camera_move | camera_moving | subject_motion | scene_still | text_present | text_absent | people_none | people_count
    value: str  # e.g. "pan_left", or the stated head count
    words: str  # the words that made the claim
    sentence: str


def sentences(text: str) -> list[str]:
    """The caption's sentences (split after . ! ? and at line breaks)."""
    parts = re.split(r"(?<=[.!?])\s+|\n+", str(text or ""))
    return [p.strip() for p in parts if p.strip()]


def negated(sentence: str, start: int) -> bool:
    """True when a negation sits within the three words before ``start`` in ``sentence``."""
    return bool(_NEG.search(sentence[:start]))


def _moves(s: str) -> list[tuple[str, str, int]]:
    """(label, words, position) of each directed camera move in one sentence, negated ones left out."""
    found = []
    for axis, rules in _DIR.items():
        for rx, how in rules:
            for m in rx.finditer(s):
                if negated(s, m.start()):
                    continue
                word = m.group(1).lower()
                if how == "from":  # from left to right = towards the right; from top to bottom = down
                    label = {"left": "pan_right", "right": "pan_left", "top": "tilt_down", "bottom": "tilt_up"}[word]
                elif how == "verb":
                    label = "zoom_in" if word.startswith(("push", "dolly in", "dollying in")) else "zoom_out"
                elif axis == "zoom":
                    label = f"zoom_{word}"
                else:
                    label = f"{axis}_{word}"
                if not any(p <= m.start() < p + len(w) for _, w, p in found):
                    found.append((label, m.group(0), m.start()))
    return found


def extract(caption: str) -> list[Claim]:
    """Every checkable statement of ``caption`` by the rules in the module docstring."""
    out: list[Claim] = []
    counted_total, counted, singles, vague = 0, [], 0, False
    for s in sentences(caption):
        moves = _moves(s)
        for label, words, _ in moves:
            out.append(Claim("camera_move", label, words, s))
        any_move = [m for m in _MOVE_ANY.finditer(s) if not negated(s, m.start())]
        if any_move and not moves:
            out.append(Claim("camera_moving", "moving", any_move[0].group(0), s))
        if not any_move and not moves:
            for k, rx in enumerate(_STATIC):
                m = rx.search(s)
                # rules 0 and 1 state stillness and can be negated ("is not static"); 2 and 3 are negations of movement
                if m and (k >= 2 or not negated(s, m.start(1))):
                    out.append(Claim("camera_static", "static", m.group(0), s))
                    break
        camera_sentence = re.search(rf"\b{CAMERA_WORD}\b", s, _I) is not None
        if not camera_sentence:
            m = next((m for m in _MOTION_VERB.finditer(s) if not negated(s, m.start())), None)
            if m and not _SCENE_STILL.search(s):
                out.append(Claim("subject_motion", m.group(0).lower(), m.group(0), s))
        m = _SCENE_STILL.search(s)
        if m and not negated(s, m.start()):
            out.append(Claim("scene_still", "still", m.group(0), s))
        for m in _TEXT.finditer(s):
            kind = "text_absent" if negated(s, m.start()) else "text_present"
            out.append(Claim(kind, kind.split("_")[1], m.group(0), s))
            break
        m = _PEOPLE_NONE.search(s)
        if m and not re.search(r"\bno one else\b", s, _I):
            out.append(Claim("people_none", "0", m.group(0), s))
        for m in _COUNTED.finditer(s):
            word = m.group(1).lower()
            n = int(word) if word.isdigit() else _NUMBERS[word]
            counted.append(m.group(0))
            counted_total += n
        alone = _ALONE.search(s)
        if alone:
            counted.append(alone.group(0))
            counted_total += 0 if _COUNTED.search(alone.group(0)) else 1
        singles += sum(1 for m in _SINGULAR.finditer(s) if not any(m.group(0) in c for c in counted))
        rest = _PEOPLE_NONE.sub(" ", s)  # "no people" is not an open-ended head count
        for c in counted:
            rest = rest.replace(c, " ")
        vague = vague or bool(_VAGUE.search(rest))
    if counted and not vague:
        out.append(Claim("people_count", str(counted_total + singles), "; ".join(counted), " ".join(sentences(caption))[:300]))
    return out
