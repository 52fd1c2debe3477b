"""Our transition detector: the paper's self-supervised pair SVM, then a window SVM over frame gaps.

Stage 1 (the paper's idea, §4.1): a linear SVM scores a frame pair "same shot" vs "different
shot", trained on pairs from the same video (no transition) and from different videos
(transition), over five similarities (koala.split.features).

Stage 2 (ours): for the boundary between frames t-1 and t, and for each gap g = 2h - 1, score
three pairs of frames g apart: one straddling the boundary (t-h, t+h-1), one just before it
(t-2h, t-1) and one just after it (t, t+2h-1). A transition, however gradual, makes the
straddling pair differ more than the pairs on either side at some gap; fast motion makes all
three differ alike, and a flash stops differing once the gap spans it. A small network (one
hidden layer of 32 ReLU units; a linear SVM here left twice as many false positives on the
benchmark), trained on synthesised transitions and look-alike negatives, weighs the straddle
scores and their contrast with the side pairs. Runs of its probability are the transitions.

The model is about a thousand coefficients in a versioned JSON file (``models/learned.json``),
made by ``koala split-train``.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy.ndimage import median_filter

from koala.io.video import VideoInfo, read_frames
from koala.split import features as F
from koala.split.confirm import confirm_spans
from koala.split.plateau import refine_spans
from koala.split.registry import Detection, Detector, overlapped, register

MODEL_VERSION = 1
RAW_GAPS = (1, 3)  # gaps whose raw similarities also enter the window features
CONTEXT = 65  # boundaries in the running median of the excess features (about 2.6 s at 25 fps)
DEFAULT_MODEL = Path(__file__).with_name("models") / "learned.json"
JUMP_CONTEXT = 5  # boundaries on each side whose median change is a jump's baseline (as AdaptiveDetector's window)
JUMP_REACH = 3  # boundaries on each side that must change much less than a jump
JUMP_EPS = 0.01  # added to the baseline, so a jump out of a frozen picture still needs a real change


@dataclass(frozen=True)
class Linear:
    """A standardised linear decision function: ``((x - mean) / scale) @ coef + intercept``."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float

    def decision(self, x: np.ndarray) -> np.ndarray:
        z = (np.asarray(x, np.float64) - np.asarray(self.mean)) / np.asarray(self.scale)
        return z @ np.asarray(self.coef) + self.intercept


@dataclass(frozen=True)
class Mlp:
    """A standardised one-hidden-layer ReLU network with a logistic output (scikit-learn's MLPClassifier)."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    hidden_w: tuple[tuple[float, ...], ...]  # (features, hidden)
    hidden_b: tuple[float, ...]
    out_w: tuple[float, ...]  # (hidden,)
    out_b: float

    def probability(self, x: np.ndarray) -> np.ndarray:
        z = (np.asarray(x, np.float64) - np.asarray(self.mean)) / np.asarray(self.scale)
        h = np.maximum(z @ np.asarray(self.hidden_w) + np.asarray(self.hidden_b), 0.0)
        return 1.0 / (1.0 + np.exp(-(h @ np.asarray(self.out_w) + self.out_b)))


def _tuples(v):
    return tuple(_tuples(x) for x in v) if isinstance(v, list) else v


@dataclass(frozen=True)
class LearnedModel:
    """Both SVMs plus what they were trained on (for the record)."""

    version: int
    gaps: tuple[int, ...]
    size: int
    pair: Linear  # over PAIR_FEATURES; positive = different shots
    window: Mlp  # over window_feature_names(gaps); probability that a boundary is inside a transition
    trained_on: dict

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @staticmethod
    def from_json(text: str) -> "LearnedModel":
        d = json.loads(text)
        if d.get("version") != MODEL_VERSION:
            raise ValueError(f"model version {d.get('version')} is not {MODEL_VERSION}; retrain with `koala split-train`")
        return LearnedModel(
            version=d["version"],
            gaps=tuple(d["gaps"]),
            size=int(d["size"]),
            pair=Linear(**{k: _tuples(v) for k, v in d["pair"].items()}),
            window=Mlp(**{k: _tuples(v) for k, v in d["window"].items()}),
            trained_on=d.get("trained_on", {}),
        )


def load_model(path: str | os.PathLike | None = None) -> LearnedModel:
    """The model at ``path`` (empty or None: the one shipped in the package).

    Raises:
        FileNotFoundError: with the command that makes one.
    """
    p = Path(path) if path else DEFAULT_MODEL
    if not p.exists():
        raise FileNotFoundError(f"{p}: no learned split model; make one with `koala split-train` (or set split.learned.model_file)")
    return LearnedModel.from_json(p.read_text())


def window_feature_names(gaps: tuple[int, ...]) -> list[str]:
    return (
        [f"{kind}_{g}" for kind in ("straddle", "contrast", "excess") for g in gaps]
        + [f"drop_{g}_{f}" for g in RAW_GAPS for f in F.PAIR_FEATURES]
        + [f"adjacent_{f}" for f in F.PAIR_FEATURES]
    )


def pair_scores(gap_feats: dict[int, np.ndarray], model: LearnedModel) -> dict[int, np.ndarray]:
    """Stage-1 score of every pair at every gap (positive: different shots)."""
    return {g: model.pair.decision(x) if len(x) else np.zeros(0) for g, x in gap_feats.items()}


def _at(s: np.ndarray, i: np.ndarray) -> np.ndarray:
    """Rows ``i`` of ``s`` (1-D or 2-D), NaN where ``i`` falls outside it."""
    ok = (i >= 0) & (i < len(s))
    out = np.full((len(i),) + s.shape[1:], np.nan)
    out[ok] = s[i[ok]]
    return out


def window_features(scores: dict[int, np.ndarray], raw: dict[int, np.ndarray], n: int, gaps: tuple[int, ...]) -> np.ndarray:
    """Stage-2 features of every boundary t = 1 .. n-1 (row t - 1).

    Args:
        scores: per gap g, (n - g,) pair scores; row i compares frames i and i + g.
        raw: per gap g, (n - g, 5) raw pair features (only gaps 1 and 3 are used).
        n: frames in the video.
        gaps: the gaps, ascending.

    Returns:
        (n - 1, len(window_feature_names(gaps))) float64: per gap the straddle score, its
        contrast with the side pairs and its excess over its running median; then, for gaps 1
        and 3, how much less similar the straddling pair is than the less similar side pair in
        each raw feature (independent of the pair SVM's calibration); then the raw adjacent
        features. Near the ends, where a pair would leave the video, a straddle score takes the
        next smaller gap's and a side score the other side's (or the straddle's), so the
        contrast there is 0 rather than invented.
    """
    t = np.arange(1, n)
    straddle = np.full((len(t), len(gaps)), np.nan)
    contrast = np.zeros((len(t), len(gaps)))
    for k, g in enumerate(gaps):
        h = (g + 1) // 2
        mid = _at(scores[g], t - h)
        if k:
            mid = np.where(np.isnan(mid), straddle[:, k - 1], mid)
        left, right = _at(scores[g], t - 2 * h), _at(scores[g], t)
        left = np.where(np.isnan(left), right, left)
        right = np.where(np.isnan(right), left, right)
        side = np.fmax(left, right)
        straddle[:, k] = mid
        contrast[:, k] = np.where(np.isnan(side) | np.isnan(mid), 0.0, mid - side)
    straddle = np.nan_to_num(straddle, nan=0.0)
    # The paper's temporal idea, made relative: how far each straddle score rises above its
    # own running median (a shot's usual level of change), so a cut between similar-looking
    # shots stands out even when its absolute score stays low.
    excess = straddle - median_filter(straddle, size=(CONTEXT, 1), mode="nearest")
    drops = []
    for g in RAW_GAPS:
        h = (g + 1) // 2
        sim = raw[g].astype(np.float64).copy()
        sim[:, 3] = 1.0 - sim[:, 3]  # mean abs difference -> a similarity, like the others
        mid, left, right = _at(sim, t - h), _at(sim, t - 2 * h), _at(sim, t)
        left = np.where(np.isnan(left), right, left)
        right = np.where(np.isnan(right), left, right)
        drops.append(np.nan_to_num(np.fmin(left, right) - mid, nan=0.0))
    return np.concatenate([straddle, contrast, excess, *drops, raw[1].astype(np.float64)], axis=1)


def boundary_scores(gap_feats: dict[int, np.ndarray], model: LearnedModel) -> np.ndarray:
    """Stage-2 probability that each boundary t = 1 .. n-1 (row t - 1) is inside a transition."""
    return boundary_evidence(gap_feats, model)[0]


def boundary_evidence(gap_feats: dict[int, np.ndarray], model: LearnedModel) -> tuple[np.ndarray, np.ndarray]:
    """The window probability and the window features of every boundary (rows t - 1)."""
    n = len(gap_feats[1]) + 1
    if n < 2:
        return np.zeros(0), np.zeros((0, len(window_feature_names(model.gaps))))
    x = window_features(pair_scores(gap_feats, model), gap_feats, n, model.gaps)
    return model.window.probability(x), x


def relative_cuts(x: np.ndarray, gaps: tuple[int, ...], *, rise: float, confirm: float) -> list[tuple[int, int]]:
    """Hard cuts by the paper's statistical idea, on our pair score: an outlier against the shot.

    A boundary is a cut when the adjacent pair's score rises ``rise`` above its running median
    and the straddling pairs 5 and 7 frames apart rise ``confirm`` above theirs: a flash of one
    or two frames is over before those pairs, so they stay at their shot's level. Needs no
    training, so it holds on cuts between shots of one scene (shot / reverse shot), where the
    window network, trained on five videos, is least sure.

    Args:
        x: window features (:func:`window_features`), whose excess columns are used.
    """
    k = len(gaps)
    col = {g: 2 * k + i for i, g in enumerate(gaps)}
    e1 = x[:, col[1]]
    ok = (e1 > rise) & (np.minimum(x[:, col[5]], x[:, col[7]]) > confirm)
    peak = np.r_[True, e1[1:] >= e1[:-1]] & np.r_[e1[:-1] > e1[1:], True]  # local maxima only
    # Row r is the boundary between frames r and r + 1: the cut span (r, r + 1).
    return [(int(r), int(r) + 1) for r in np.flatnonzero(ok & peak)]


def jump_cuts(adjacent: np.ndarray, *, ratio: float, floor: float, isolation: float) -> list[tuple[int, int]]:
    """Hard cuts as isolated jumps of the raw picture change between neighbouring frames.

    Training-free, so it does not depend on how the window network was calibrated on five
    training videos: a cut between two framings of one scene (same palette, similar layout)
    changes the picture much more than the frames around it do, even when the pair SVM still
    calls both frames one shot. A boundary is a cut when its change (twice the mean absolute grey
    difference plus half the histogram non-overlap, both 0-1) is above ``floor``, more than
    ``ratio`` times the median change of the ``JUMP_CONTEXT`` boundaries on either side (leaving
    out its direct neighbours), and more than ``1 / isolation`` times every other change within
    ``JUMP_REACH`` boundaries. The last condition rejects flashes, fast-motion bursts and
    stepwise changes (a window closing in a screen recording), which change the picture several
    times in a few frames; the window network handles gradual transitions.

    Args:
        adjacent: (n - 1, 5) raw features of consecutive pairs (:data:`F.PAIR_FEATURES` order).

    Returns:
        [(k - 1, k)] spans of the cuts.
    """
    d = 2.0 * adjacent[:, 3].astype(np.float64) + 0.5 * (1.0 - adjacent[:, 1].astype(np.float64))
    m, c, r = len(d), JUMP_CONTEXT, JUMP_REACH
    if m < 3:
        return []
    pad = np.pad(d, c, constant_values=np.nan)
    win = np.lib.stride_tricks.sliding_window_view(pad, 2 * c + 1)  # row i: d[i - c .. i + c]
    ctx = win.copy()
    ctx[:, c - 1 : c + 2] = np.nan
    with warnings.catch_warnings():  # rows of a very short video may have no context at all
        warnings.simplefilter("ignore", RuntimeWarning)
        base = np.nan_to_num(np.nanmedian(ctx, axis=1), nan=0.0)
    near = win[:, c - r : c + r + 1].copy()
    near[:, r] = np.nan
    near = np.nan_to_num(np.nanmax(np.where(np.isnan(near), -np.inf, near), axis=1), neginf=0.0)
    ok = (d > floor) & (d > ratio * (base + JUMP_EPS)) & (near < isolation * d)
    # Row i compares frames i and i + 1: the cut span (i, i + 1).
    return [(int(i), int(i) + 1) for i in np.flatnonzero(ok)]


SUSTAIN_LEVEL = 0.5  # probability a sustained run must stay above over most of its length


def spans_from_scores(score: np.ndarray, *, threshold: float, peak: float, merge_gap: int, sustain_peak: float = 2.0,
                      sustain_share: float = 1.0, sustain_len: int = 0) -> list[tuple[int, int]]:
    """Transitions from boundary scores: runs above ``threshold`` whose peak reaches ``peak``.

    Runs closer than ``merge_gap`` boundaries are first merged into one. A run of boundaries
    a..b (frames a-1 | a ... b-1 | b) is the span (a - 1, b): a single boundary k is a hard cut
    (k - 1, k), as in the ground truth.

    A run whose peak stays under ``peak`` is still a transition when it is sustained: at least
    ``sustain_len`` boundaries long, its peak at least ``sustain_peak``, and above
    :data:`SUSTAIN_LEVEL` over at least ``sustain_share`` of it. A wipe or slide between two
    shots of one palette holds a high probability over its whole length without reaching the
    peak a dissolve does; camera motion rises in short bursts (defaults: off).
    """
    score = np.asarray(score)
    on = np.flatnonzero(score > threshold) + 1  # boundary t of each row above threshold
    if not len(on):
        return []
    runs = []
    start = prev = int(on[0])
    for t in on[1:]:
        t = int(t)
        if t - prev > merge_gap:
            runs.append((start, prev))
            start = t
        prev = t
    runs.append((start, prev))
    out = []
    for a, b in runs:
        seg = score[a - 1 : b]
        sustained = b - a + 1 >= sustain_len and seg.max() >= sustain_peak and (seg > SUSTAIN_LEVEL).mean() >= sustain_share
        if seg.max() >= peak or sustained:
            out.append((a - 1, b))
    return out


EXTEND_CONTEXT = 10  # boundaries beyond a gradual span's end whose median change is the shot's own level
EXTEND_EPS = 0.005  # added to that level, so a still shot's noise never extends a span


def picture_change(adjacent: np.ndarray) -> np.ndarray:
    """Raw change between consecutive frames (0-1 scale): twice the mean absolute grey difference
    plus half the histogram non-overlap. Row i compares frames i and i + 1."""
    return 2.0 * adjacent[:, 3].astype(np.float64) + 0.5 * (1.0 - adjacent[:, 1].astype(np.float64))


def extend_ends(spans: list[tuple[int, int]], change: np.ndarray, *, ratio: float, reach: int) -> list[tuple[int, int]]:
    """Gradual spans grown, a frame at a time and at most ``reach`` frames per side, while the picture still changes.

    The window network finds a wipe or slide only once enough of the picture has changed, so a
    detection can start a few frames after the first mixed frame. Outside a transition the picture
    changes at its shot's own level (the median of the ``EXTEND_CONTEXT`` changes beyond the span's
    end); inside it, every frame changes. So a span's first frame moves back while the change into
    it exceeds ``ratio`` times the level before it, and its last frame forward likewise. A hard cut
    is never grown: it has no mixed frames.
    """
    out = []
    m = len(change)
    for a, b in spans:
        if b - a > 1:
            for _ in range(reach):  # change[a - 1] is the step from frame a - 1 into frame a
                if a < 1:
                    break
                base = np.median(change[max(0, a - 1 - EXTEND_CONTEXT) : a - 1]) if a > 1 else 0.0
                if change[a - 1] <= ratio * base + EXTEND_EPS:
                    break
                a -= 1
            for _ in range(reach):  # change[b] is the step from frame b out to frame b + 1
                if b >= m:
                    break
                after = change[b + 1 : b + 1 + EXTEND_CONTEXT]
                base = np.median(after) if len(after) else 0.0
                if change[b] <= ratio * base + EXTEND_EPS:
                    break
                b += 1
        out.append((a, b))
    return out


FOLLOW_INNER = 5  # a gradual span's last (first) steps whose median change is its rate of change
FOLLOW_RATIO = 1.5  # a step must also exceed this many times the level past the reach (plus EXTEND_EPS)


def follow_rate(spans: list[tuple[int, int]], change: np.ndarray, *, keep: float, reach: int, gap: int) -> list[tuple[int, int]]:
    """Gradual spans grown while the picture keeps changing at the span's own rate (a dissolve's ends).

    A dissolve or fade changes the picture by about the same amount at every step, and between two
    similar or moving shots that amount can be close to the shots' own change, so the window
    network's probability (and :func:`extend_ends`, whose level is measured right beside the end,
    still inside the transition) can stop several frames before the last mixed frame. Here a span's
    end moves forward while the next step changes the picture by at least ``keep`` times the median
    of its last :data:`FOLLOW_INNER` steps and by more than :data:`FOLLOW_RATIO` times the level of
    the :data:`EXTEND_CONTEXT` steps from ``gap`` frames further on; its start moves back likewise.
    At most ``reach`` frames per side; spans of three frames or fewer (cuts) are left alone.
    """
    m = len(change)
    out = []
    for a, b in spans:
        if b - a > 3:
            rate = np.median(change[max(a, b - FOLLOW_INNER) : b])
            for _ in range(reach):
                far = change[b + gap : b + gap + EXTEND_CONTEXT]
                if b >= m or change[b] < keep * rate or change[b] <= FOLLOW_RATIO * (np.median(far) if len(far) else 0.0) + EXTEND_EPS:
                    break
                b += 1
            rate = np.median(change[a : min(b, a + FOLLOW_INNER)])
            for _ in range(reach):
                far = change[max(0, a - 1 - gap - EXTEND_CONTEXT) : max(0, a - 1 - gap)]
                if a < 1 or change[a - 1] < keep * rate or change[a - 1] <= FOLLOW_RATIO * (np.median(far) if len(far) else 0.0) + EXTEND_EPS:
                    break
                a -= 1
        out.append((a, b))
    return out


def snap_cuts(spans: list[tuple[int, int]], adjacent_score: np.ndarray, *, longest: int) -> list[tuple[int, int]]:
    """Short detected spans that are really one hard cut, replaced by that cut (so it costs no frame).

    The window network fires on the few boundaries around a cut, so a cut often comes out as a
    span of 3-8 frames. A span no longer than ``longest`` frames in which exactly one adjacent
    pair is scored "different shots" by the pair SVM (decision > 0) and every other adjacent pair
    "same shot" is that cut; a short fade changes every step and keeps its span.

    Args:
        spans: detected spans (first, last).
        adjacent_score: (n - 1,) pair SVM decision of consecutive frames; row i compares i and i + 1.
    """
    out = []
    for a, b in spans:
        if 1 < b - a <= longest:
            seg = adjacent_score[a:b]  # pairs (a, a+1) .. (b-1, b)
            hits = np.flatnonzero(seg > 0)
            if len(hits) == 1:
                k = a + int(hits[0])
                out.append((k, k + 1))
                continue
        out.append((a, b))
    return sorted(set(out))


@register("learned")
class LearnedDetector(Detector):
    """Pair SVM trained the paper's way + window network over gaps 1-31 frames (ours)."""

    def __init__(self, cfg):
        super().__init__(cfg)
        self.model = load_model(cfg.learned.model_file)
        self.decode = f"{cfg.learned.size}x{cfg.learned.size}"

    def features(self, path: str | os.PathLike, info: VideoInfo) -> dict[str, np.ndarray]:
        size = self.cfg.learned.size
        stream = F.GapStream(self.model.gaps, keep_grey=self._confirming())
        # Descriptors and pair features both run on the one worker thread, in order, while the
        # calling thread decodes (PyAV, OpenCV and numpy release the GIL): no feature work waits
        # on the decoder or holds it up.
        frames = read_frames(path, info=info, height=size, width=size, fast=self.cfg.learned.fast_decode, interpolation=self.cfg.learned.resize)
        for _ in overlapped(frames, lambda b: stream.push(F.describe(b.frames))):
            pass
        out = {f"gap_{g}": x for g, x in stream.result().items()}
        if self._confirming():
            out["grey"] = stream.thumbnails()
        return out

    def _confirming(self) -> bool:
        return self.cfg.learned.confirm_cut <= 1.0 or self.cfg.learned.confirm_gradual <= 1.0

    def detect(self, feats: dict[str, np.ndarray], *, num_frames: int, fps: float) -> Detection:
        gap_feats = {g: feats[f"gap_{g}"] for g in self.model.gaps}
        score, x = boundary_evidence(gap_feats, self.model)
        cfg = self.cfg.learned
        spans = spans_from_scores(score, threshold=cfg.threshold, peak=cfg.peak, merge_gap=cfg.merge_gap,
                                  sustain_peak=cfg.sustain_peak, sustain_share=cfg.sustain_share, sustain_len=cfg.sustain_len)
        cuts = relative_cuts(x, self.model.gaps, rise=cfg.cut_rise, confirm=cfg.cut_confirm) if len(x) else []
        cuts += jump_cuts(gap_feats[1], ratio=cfg.jump_ratio, floor=cfg.jump_floor, isolation=cfg.jump_isolation) if len(x) else []
        cuts = sorted(set(cuts))
        spans = sorted(spans + [c for c in cuts if not any(a - 1 <= c[0] and c[1] <= b + 1 for a, b in spans)])
        adjacent = self.model.pair.decision(gap_feats[1]) if len(gap_feats[1]) else np.zeros(0)
        if cfg.snap_cut > 1:
            spans = snap_cuts(spans, adjacent, longest=cfg.snap_cut)
        if cfg.extend_reach > 0 and len(gap_feats[1]):
            spans = extend_ends(spans, picture_change(gap_feats[1]), ratio=cfg.extend_ratio, reach=cfg.extend_reach)
        if cfg.plateau_ratio > 0 and len(gap_feats[1]):
            spans = refine_spans(spans, picture_change(gap_feats[1]), ratio=cfg.plateau_ratio, edge=cfg.plateau_edge,
                                 flat=cfg.plateau_flat, min_len=cfg.plateau_len, pad=cfg.plateau_pad,
                                 exact=cfg.plateau_exact, trim_edge=cfg.plateau_trim_edge)
        if self._confirming() and "grey" in feats:
            spans = confirm_spans(spans, feats["grey"], cut_max=cfg.confirm_cut, gradual_max=cfg.confirm_gradual)
        if cfg.follow_keep > 0 and len(gap_feats[1]):  # after confirmation: moving an end must not decide a span
            spans = follow_rate(spans, picture_change(gap_feats[1]), keep=cfg.follow_keep, reach=cfg.follow_reach, gap=cfg.follow_gap)
        return Detection(spans=spans, num_frames=len(gap_feats[1]) + 1, scores={"window": score, "pair_1": adjacent})
