"""Camera language from the camera's measured path: static, pans, tilts, zooms, shake.

Directions are the camera's own (docs/DESIGN.md, CLI contract): content sliding right across the frame
means the camera pans left; content sliding down means it tilts up; content growing means it zooms
in. :mod:`koala.camera_path` fits the similarity motion per frame pair on the background; here the
series is turned into phases (runs of one kind of move that last, keep their sign and show in at
least two pairs) and words. A move shorter than a second (and not the whole clip) must shift the
picture a lot (film settling after a splice does not); on a shaky path a slow move is the hand's
drift (:func:`settle`), and when most pairs cannot tell the camera, a path of their best fits that
jitters far beyond ``shake_min`` is a hand-held camera sampled far apart (:func:`unfit_shake`). Thresholds are in frame sizes per second, so they do
not depend on the resolution or the frame rate (caption.measured in params.yaml, all ours).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from koala.camera_path import STILL, PairFit, path_shake, trajectory
from koala.config import MeasuredCaptionConfig
from koala.motion import GlobalMotion

# Words for each phase label; the keys are what :func:`phase_labels` returns.
VERBS = {
    "static": "is static",
    "pan_left": "pans left",
    "pan_right": "pans right",
    "tilt_up": "tilts up",
    "tilt_down": "tilts down",
    "zoom_in": "zooms in",
    "zoom_out": "zooms out",
}
GERUNDS = {k: v.replace("is static", "static").replace("pans", "panning").replace("tilts", "tilting").replace("zooms", "zooming") for k, v in VERBS.items()}


@dataclass(frozen=True)
class Phase:
    label: str  # a key of VERBS
    start_sec: float
    end_sec: float
    speed: float  # mean |rate| of the phase's component (frame sizes or scale per second)

    @property
    def seconds(self) -> float:
        return self.end_sec - self.start_sec


def camera_rates(motions: list[GlobalMotion], *, step: int, fps: float, height: int, width: int) -> np.ndarray:
    """Per-pair camera rates in the camera's own directions, resolution- and frame-rate-free.

    Returns:
        (P, 3) float: pan (frame widths/s, > 0 = pans right), tilt (frame heights/s, > 0 = tilts
        up) and zoom (relative scale change/s, > 0 = zooms in).
    """
    per_sec = fps / step
    out = np.zeros((len(motions), 3))
    for i, gm in enumerate(motions):
        out[i] = (-gm.tx / width * per_sec, gm.ty / height * per_sec, gm.zoom * per_sec)
    return out


def smooth_rates(rates: np.ndarray, window: int) -> np.ndarray:
    """Moving mean over ``window`` pairs that skips NaN (unreliable) pairs; all-NaN windows give 0.

    A camera move lasts; the pull of a moving subject on the fit flips sign from pair to pair,
    so averaging over about a second keeps the first and cancels the second.
    """
    if len(rates) == 0:
        return rates
    window = max(1, min(int(window), len(rates)))
    ok = np.isfinite(rates)
    vals = np.where(ok, rates, 0.0)
    kernel = np.ones(window)
    num = np.stack([np.convolve(vals[:, j], kernel, mode="same") for j in range(rates.shape[1])], axis=1)
    den = np.stack([np.convolve(ok[:, j].astype(float), kernel, mode="same") for j in range(rates.shape[1])], axis=1)
    return np.where(den > 0, num / np.maximum(den, 1e-9), 0.0)


def fill_gaps(smooth: np.ndarray, rates: np.ndarray, window: int) -> np.ndarray:
    """Smoothed rates where a whole window was unreliable, interpolated from the pairs around it.

    A run of pairs that say nothing (a fast zoom that defeats the flow for a few samples) must
    not split one camera move in two, nor read as a still camera in the middle of it.
    """
    told = np.convolve(np.isfinite(rates).all(axis=1).astype(float), np.ones(max(1, min(window, len(rates)))), mode="same") > 0
    if told.all() or not told.any():
        return smooth
    idx = np.arange(len(smooth))
    out = smooth.copy()
    for j in range(smooth.shape[1]):
        out[~told, j] = np.interp(idx[~told], idx[told], smooth[told, j])
    return out


def phase_labels(smooth: np.ndarray, cfg: MeasuredCaptionConfig, *, aspect: float = 16 / 9) -> list[str]:
    """One label per pair from smoothed rates: static below every threshold, else the main move.

    A zoom about an off-centre point (common in screen recordings) also shifts the picture, so a
    zoom above its threshold wins when its displacement at the mean radius is at least 0.25 of the
    translation's; otherwise the larger of pan and tilt (each against its threshold) names the move.
    """
    labels = []
    radius = 0.38 * np.hypot(1.0, aspect)  # mean distance from the centre, in frame heights
    for pan, tilt, zoom in smooth:
        score = np.abs([pan, tilt, zoom]) / np.array([cfg.pan_min, cfg.tilt_min, cfg.zoom_min])
        if score.max() < 1.0:
            labels.append("static")
            continue
        shift = np.hypot(pan * aspect, tilt)  # frame heights per second
        if score[2] >= 1.0 and abs(zoom) * radius >= 0.25 * shift:
            labels.append("zoom_in" if zoom > 0 else "zoom_out")
        elif score[0] >= score[1]:
            labels.append("pan_right" if pan > 0 else "pan_left")
        else:
            labels.append("tilt_up" if tilt > 0 else "tilt_down")
    return labels


_COMPONENT = {"pan": 0, "tilt": 1, "zoom": 2}


MIN_MOVE_PAIRS = 2  # ours: a camera move shows in at least this many sample pairs that go its way (one jump is no move)


MAX_JUMP_SHARE = 0.6  # ours: a move with more than this share of its shift in one sample pair is a jump, not a move


def jump_share(r: np.ndarray, sign: float) -> float:
    """Share of a phase's shift (its per-pair rates ``r`` that go the way ``sign`` says) made in its largest pair.

    A pan or zoom spreads its shift over the pairs it lasts; a film splice, a frame that slips in
    the gate, or a car crossing the frame close to the camera puts most of it into one pair.
    NaN (unmeasured) pairs are left out: :func:`phases` judges only phases measured throughout.
    """
    r = r[np.isfinite(r)] * sign
    r = r[r > 0]
    return float(r.max() / r.sum()) if len(r) else 1.0


def _agreeing(r: np.ndarray, mean: float, least: float) -> int:
    """Pairs whose rate goes the phase's way by at least ``least`` (half the move's threshold)."""
    r = r[np.isfinite(r)]
    return int(np.sum((np.sign(r) == np.sign(mean)) & (np.abs(r) >= least))) if mean != 0 else 0


def consistency(rates: np.ndarray, sign: float) -> float:
    """Share of the (finite) per-pair rates of a phase that move the way the phase does.

    A camera move keeps its direction from pair to pair; a subject that pulls the fit now and
    then, or jitter, does not.
    """
    r = rates[np.isfinite(rates)]
    if len(r) == 0 or sign == 0:
        return 0.0
    return float(np.mean(np.sign(r) == sign))


def phases(rates: np.ndarray, times: np.ndarray, cfg: MeasuredCaptionConfig, *, aspect: float = 16 / 9) -> list[Phase]:
    """Runs of one camera move, with runs shorter than ``phase_min_sec`` merged into a neighbour.

    Args:
        rates: (P, 3) from :func:`camera_rates`; NaN rows are pairs that say nothing (unreliable).
        times: (P + 1,) seconds of the sampled frames (pair i spans times[i]..times[i+1]).
    """
    if len(rates) == 0:
        return []
    per_sec = 1.0 / max(float(np.median(np.diff(times))), 1e-6)
    window = max(1, int(round(cfg.smooth_sec * per_sec)) | 1)  # odd, about smooth_sec long
    smooth = fill_gaps(smooth_rates(rates, window), rates, window)
    labels = phase_labels(smooth, cfg, aspect=aspect)
    runs: list[list] = []  # [label, first pair, last pair]
    for i, lab in enumerate(labels):
        if runs and runs[-1][0] == lab:
            runs[-1][2] = i
        else:
            runs.append([lab, i, i])

    def dur(r):
        return times[r[2] + 1] - times[r[1]]

    while len(runs) > 1:
        short = [j for j, r in enumerate(runs) if dur(r) < cfg.phase_min_sec]
        if not short:
            break
        j = min(short, key=lambda j: dur(runs[j]))
        # absorb the shortest run into its longer neighbour
        left, right = (runs[j - 1] if j > 0 else None), (runs[j + 1] if j + 1 < len(runs) else None)
        into = left if right is None or (left is not None and dur(left) >= dur(right)) else right
        into[1], into[2] = min(into[1], runs[j][1]), max(into[2], runs[j][2])
        del runs[j]
        merged = []  # neighbours that now share a label become one run
        for r in runs:
            if merged and merged[-1][0] == r[0]:
                merged[-1][2] = r[2]
            else:
                merged.append(r)
        runs = merged
    out: list[Phase] = []
    for lab, a, b in runs:
        comp = _COMPONENT.get(lab.split("_")[0])
        speed = float(np.mean(np.abs(smooth[a : b + 1, comp]))) if comp is not None else 0.0
        if comp is not None and speed * (times[b + 1] - times[a]) < cfg.min_shift:
            lab, speed = "static", 0.0  # moves the picture by too little to see
        elif comp is not None and consistency(rates[a : b + 1, comp], np.sign(smooth[a : b + 1, comp].mean())) < cfg.move_consistency:
            lab, speed = "static", 0.0  # the sign flips from pair to pair: a subject pulling the fit, not a move
        elif comp is not None and _agreeing(rates[a : b + 1, comp], smooth[a : b + 1, comp].mean(),
                                            (cfg.pan_min, cfg.tilt_min, cfg.zoom_min)[comp] / 2) < MIN_MOVE_PAIRS:
            lab, speed = "static", 0.0  # carried by a jump or two (a splice, a passing car), not a steady move
        elif (comp is not None and np.isfinite(rates[max(0, a - window // 2) : b + 1 + window // 2, comp]).all()
              and jump_share(rates[a : b + 1, comp], np.sign(smooth[a : b + 1, comp].mean())) > MAX_JUMP_SHARE):
            # most of the shift in one pair while the pairs around it were measured and show little: a jump
            # (splice, gate slip, passing object). Pairs that say nothing (a fast zoom defeats the flow) may
            # hold the rest of a move, so a phase with any of them in it or within half a window is not judged so.
            lab, speed = "static", 0.0
        elif (comp is not None and times[b + 1] - times[a] < cfg.move_min_sec and (a > 0 or b + 1 < len(rates))
              and speed * (times[b + 1] - times[a]) < cfg.brief_min_shift):
            # brief, small and not the whole clip: film settling after a splice, a gate slip, a cut
            # found a frame late; a real brief move (a whip pan, a snap zoom) moves the picture a lot
            lab, speed = "static", 0.0
        if out and out[-1].label == lab:
            prev = out.pop()
            out.append(Phase(lab, prev.start_sec, float(times[b + 1]), max(prev.speed, speed)))
        else:
            out.append(Phase(lab, float(times[a]), float(times[b + 1]), speed))
    return out


def window_of(seconds: float, rate: float) -> int:
    """An odd number of samples spanning about ``seconds`` at ``rate`` samples per second (at least 5).

    Five is the least a quadratic trend can be fitted to and still leave jitter over (three
    samples are fitted exactly).
    """
    return max(5, int(round(seconds * rate)) | 1)


def shake(fits: list[PairFit], *, height: int, width: int, window: int) -> float:
    """Jitter of the accumulated camera path, as a share of the frame's short side (RMS).

    Only the camera's path counts (koala.camera_path.path_shake): a subject moving in front of a
    still camera is not in it. Pairs that say nothing of the camera (content changes) add no motion.
    """
    motions = lone_jumps_out([f.motion if f.reliable else STILL for f in fits], height=height, width=width)
    path = trajectory(motions, height=height, width=width)
    return path_shake(path, window) / min(height, width)


JUMP_FACTOR = 8.0  # ours: a pair moving this many times the clip's median pair ...
JUMP_MIN = 0.05  # ours: ... and this share of the short side is a lone jump, not jitter


def lone_jumps_out(motions: list[GlobalMotion], *, height: int, width: int) -> list[GlobalMotion]:
    """``motions`` with lone jumps (a splice, a flow that locked onto a repeating subject) set still.

    A hand shakes the picture a few pixels every pair; one pair that moves it many times the
    clip's typical pair (JUMP_FACTOR x the median, and JUMP_MIN of the short side) is an event, and
    left in the path it would bend the path's trend for a second around it and read as shake.
    """
    if len(motions) < 3:
        return motions
    speed = np.array([m.speed(height, width) for m in motions])
    big = (speed > JUMP_FACTOR * np.median(speed)) & (speed > JUMP_MIN * min(height, width))
    return [STILL if b else m for m, b in zip(motions, big)]


def settle(phs: list[Phase], jitter: float, cfg: MeasuredCaptionConfig) -> list[Phase]:
    """A shaky path's slow moves are the hand's drift, not a pan, tilt or zoom: they become static.

    A held camera wanders: its path jitters (``jitter`` >= ``shake_min``) and drifts, and the drift
    passes the move thresholds over a second or two. A deliberate move on a shaky path is faster
    than twice its threshold (not "slow") and stays named, with "It is handheld and shaky".
    Neighbouring static phases are joined.
    """
    if jitter < cfg.shake_min:
        return phs
    low = {"pan": cfg.pan_min, "tilt": cfg.tilt_min, "zoom": cfg.zoom_min}
    out: list[Phase] = []
    for p in phs:
        kind = p.label.split("_")[0]
        if kind in low and p.speed < 2 * low[kind]:
            p = Phase("static", p.start_sec, p.end_sec, 0.0)
        if out and out[-1].label == p.label == "static":
            p = Phase("static", out.pop().start_sec, p.end_sec, 0.0)
        out.append(p)
    return out


def unfit_shake(fits: list[PairFit], *, height: int, width: int, window: int) -> float:
    """Jitter (as :func:`shake`) of the path of every pair's best-supported motion, reliable or not.

    When most pairs cannot tell the camera's motion, this path is all there is to go on: a still
    camera's pairs keep the still hypothesis (a busy scene leaves the path at rest), while a hand-held
    camera sampled a third of a second apart throws the whole picture tens of pixels one way, then
    another, and the path jitters far above ``shake_min``.
    """
    path = trajectory(lone_jumps_out([f.motion for f in fits], height=height, width=width), height=height, width=width)
    return path_shake(path, window) / min(height, width)


def verdict(phs: list[Phase], fits: list[PairFit], jitter: float, *, fps: float, height: int, width: int,
            cfg: MeasuredCaptionConfig) -> tuple[list[Phase], float]:
    """The phases and shake the caption states, from what the pairs could tell of the camera.

    When at least ``min_reliable`` of the pairs show the camera's motion: the phases, with a shaky
    path's slow drift made static (:func:`settle`). Otherwise (bubbles, flashes, a subject filling
    the frame, or a hand-held camera sampled far apart): handheld (one static phase, the jitter of
    :func:`unfit_shake`) when the samples are at least ``unfit_min_gap`` s apart, where the hand
    moves the whole picture tens of pixels between them, and that jitter reaches ``shake_unfit_min``;
    else nothing ([]). Close samples that still cannot tell the camera are a subject's doing
    (music_video shots at 12.5 samples/s, a singer filling the frame).
    """
    if not fits:
        return [], jitter
    if np.mean([f.reliable for f in fits]) >= cfg.min_reliable:
        return settle(phs, jitter, cfg), jitter
    rough = unfit_shake(fits, height=height, width=width, window=window_of(cfg.shake_sec, fps))
    if 1.0 / fps >= cfg.unfit_min_gap and rough >= cfg.shake_unfit_min:
        return [Phase("static", 0.0, len(fits) / fps, 0.0)], rough
    return [], jitter


def shot_label(phs: list[Phase], jitter: float, cfg: MeasuredCaptionConfig) -> str:
    """One camera label for a shot (the truth file's vocabulary): its longest move, handheld, or static.

    A shot whose phases are all static is ``handheld`` when its path jitters, else ``static``; ""
    when there are no phases (the camera's motion could not be told).
    """
    if not phs:
        return ""  # the camera's motion was not told (too few pairs showed it)
    moves = [p for p in phs if p.label != "static"]
    if moves:
        totals: dict[str, float] = {}
        for p in moves:
            totals[p.label] = totals.get(p.label, 0.0) + p.seconds
        return max(totals, key=totals.get)
    return "handheld" if jitter >= cfg.shake_min else "static"


def _speed_word(p: Phase, cfg: MeasuredCaptionConfig) -> str:
    low = {"pan": cfg.pan_min, "tilt": cfg.tilt_min, "zoom": cfg.zoom_min}.get(p.label.split("_")[0], 0.0)
    if p.speed >= cfg.fast_move:
        return " quickly"
    if p.speed < 2 * low:
        return " slowly"
    return ""


def describe(phs: list[Phase], jitter: float, cfg: MeasuredCaptionConfig, *, max_phases: int = 4) -> str:
    """Camera language: the phases in order, with durations, and handheld shake when measured."""
    if not phs:
        return ""
    shaky = jitter >= cfg.shake_min
    if len(phs) == 1:
        p = phs[0]
        if p.label == "static":
            text = "The camera is static." if not shaky else "The camera is handheld and shaky but stays roughly in place."
        else:
            text = f"The camera {VERBS[p.label]}{_speed_word(p, cfg)} throughout the clip."
    elif len(phs) <= max_phases:
        parts = [f"{VERBS[p.label]}{_speed_word(p, cfg) if p.label != 'static' else ''} for {p.seconds:.1f} s" for p in phs]
        text = "The camera " + ", then ".join(parts) + "."
    else:
        totals: dict[str, float] = {}
        for p in phs:
            totals[p.label] = totals.get(p.label, 0.0) + p.seconds
        top = [lab for lab, _ in sorted(totals.items(), key=lambda kv: -kv[1]) if lab != "static"][:2]
        moves = " and ".join(GERUNDS[lab] for lab in top)
        text = f"The camera moves back and forth, mostly {moves}." if top else "The camera is static."
    if shaky and not (len(phs) == 1 and phs[0].label == "static"):
        text += " It is handheld and shaky."
    return text


def shot_size(face_height: float | None, people: list | None = None) -> str:
    """Shot size from bodies and faces; nothing when neither was found.

    A face filling 30 % of the frame height is a close-up whatever else is seen. Otherwise the
    largest person's framing (koala.caption.people) names it: head and shoulders = medium
    close-up, upper body = medium shot, a whole body = a full shot when it spans half the frame
    height or more, else a wide shot. Without a body, the largest persistent face's height does.
    """
    if face_height is not None and face_height >= 0.3:
        return "It is a close-up shot."
    if people:
        top = max(people, key=lambda t: t.w * t.h)
        if top.framing == "head and shoulders":
            return "It is a medium close-up shot."
        if top.framing == "upper body":
            return "It is a medium shot."
        return "It is a full shot." if top.h >= 0.5 else "It is a wide shot."
    if face_height is None:
        return ""
    if face_height >= 0.15:
        return "It is a medium close-up shot."
    if face_height >= 0.07:
        return "It is a medium shot."
    return "It is a wide shot."
