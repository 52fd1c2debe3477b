"""Training the learned detector from any folder of single-shot videos (no labels needed).

Stage 1, the paper's recipe (§4.1): frame pairs from one video are "no transition", pairs from
two different videos are "transition"; a linear SVM (scikit-learn) on their similarities.
Same-video pairs are up to ``max_gap`` frames apart, so ordinary motion counts as "same".

Stage 2, ours: two-shot sequences synthesised from the videos, joined by a hard cut or by a
dissolve, fade through black or white, wipe or slide of 3-36 frames (koala.corpus.transitions),
and single-shot look-alikes with no transition: sped-up motion, flashes, fast pans and zooms
over a still frame. Every boundary inside a transition is positive, every boundary more than
``LABEL_MARGIN`` frames from one is negative; a small network learns the window features.

Frames are decoded once at the detector's analysis size; transitions are mixed at that size.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from tqdm.auto import tqdm

from koala.config import SplitConfig
from koala.corpus import transitions as T
from koala.io.atomic import write_text
from koala.io.errors import VideoError
from koala.io.video import read_all
from koala.split import features as F
from koala.split.learned import MODEL_VERSION, Linear, LearnedModel, Mlp, pair_scores, window_features

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg")
LABEL_MARGIN = 3  # boundaries this close to a transition are neither positive nor negative
MAX_FRAMES = 400  # per training video (memory: 400 x 128 x 128 x 3 = 20 MB)
NEGATIVE_KINDS = ("motion", "flash", "pan", "zoom")


def load_videos(folder: str | Path, size: int, **decode) -> dict[str, np.ndarray]:
    """Every readable video in ``folder`` as (n, size, size, 3) RGB; unreadable ones are skipped.

    ``decode``: :func:`koala.io.video.read_frames` options (``fast``, ``interpolation``), as the detector decodes.
    """
    paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    videos = {}
    for p in tqdm(paths, desc="decode training videos"):
        try:
            videos[p.name] = read_all(p, height=size, width=size, end=MAX_FRAMES, **decode)
        except VideoError as exc:
            log.warning("split-train: skipping %s: %s", p, exc.reason if hasattr(exc, "reason") else exc)
    if len(videos) < 2:
        raise ValueError(f"{folder}: need at least two readable videos to make different-video pairs, found {len(videos)}")
    return videos


def _fit(x: np.ndarray, y: np.ndarray, c: float, seed: int) -> Linear:
    scaler = StandardScaler().fit(x)
    svm = LinearSVC(C=c, class_weight="balanced", random_state=seed, max_iter=20000).fit(scaler.transform(x), y)
    return Linear(
        mean=tuple(float(v) for v in scaler.mean_),
        scale=tuple(float(v) for v in scaler.scale_),
        coef=tuple(float(v) for v in svm.coef_[0]),
        intercept=float(svm.intercept_[0]),
    )


def _fit_mlp(x: np.ndarray, y: np.ndarray, *, hidden: int, alpha: float, seed: int) -> Mlp:
    scaler = StandardScaler().fit(x)
    net = MLPClassifier((hidden,), alpha=alpha, max_iter=500, random_state=seed).fit(scaler.transform(x), y)
    return Mlp(
        mean=tuple(float(v) for v in scaler.mean_),
        scale=tuple(float(v) for v in scaler.scale_),
        hidden_w=tuple(tuple(float(v) for v in row) for row in net.coefs_[0]),
        hidden_b=tuple(float(v) for v in net.intercepts_[0]),
        out_w=tuple(float(v) for v in net.coefs_[1][:, 0]),
        out_b=float(net.intercepts_[1][0]),
    )


def recolour(frames: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Frames with each colour channel's mean and spread matched to ``ref`` (one frame).

    Different-shot pairs with a shared palette (two shots of one scene, a trailer's graded
    look) force the classifier to use structure, not colour alone: with five training videos
    colour alone separates them perfectly and fails on real edits.
    """
    f = frames.astype(np.float32)
    axes = tuple(range(f.ndim - 1))
    mu, sd = f.mean(axis=axes), f.std(axis=axes) + 1.0
    r = ref.reshape(-1, 3).astype(np.float32)
    return np.clip((f - mu) / sd * (r.std(axis=0) + 1.0) + r.mean(axis=0), 0, 255).astype(np.uint8)


def source_of(name: str) -> str:
    """The source a training video came from: a real shot ``<source>_NNNN`` or a cut shot ``<stem>_shot_NN``
    belongs to its source; any other file is its own source."""
    stem = name.rsplit("_shot_", 1)[0] if "_shot_" in name else name
    head, _, tail = stem.rpartition("_")
    return head if head and tail.isdigit() and len(tail) == 4 else stem


def video_weights(names: list[str]) -> np.ndarray:
    """Sampling weights that give every source the same share, however many shots it has."""
    src = [source_of(n) for n in names]
    counts = {s: src.count(s) for s in set(src)}
    w = np.array([1.0 / counts[s] for s in src])
    return w / w.sum()


def _describe_chunked(frames: list[np.ndarray], chunk: int = 2048) -> F.Descriptors:
    return F.Descriptors.concat([F.describe(np.stack(frames[i : i + chunk])) for i in range(0, len(frames), chunk)])


def pair_dataset(videos: dict[str, np.ndarray], rng: np.random.Generator, *, per_video: int, max_gap: int) -> tuple[np.ndarray, np.ndarray]:
    """Same-video pairs (label 0) and as many different-video pairs (label 1).

    ``per_video`` pairs per source (a source with many shots, like a music video, spreads them over
    its shots), drawn source-balanced. Half the different-video pairs have the second frame
    recoloured to the first's palette; a third of the same-video pairs have the second frame's
    exposure changed by up to 15 %.
    """
    names = list(videos)
    vids = [videos[k] for k in names]
    weights = video_weights(names)
    total = per_video * len({source_of(n) for n in names})
    first, second, y = [], [], []
    for iv in rng.choice(len(vids), total, p=weights):
        v = vids[iv]
        n = len(v)
        g = int(rng.integers(1, min(max_gap, n - 1) + 1))
        i = int(rng.integers(0, n - g))
        b = v[i + g]
        if rng.random() < 1 / 3:
            b = np.clip(b.astype(np.float32) * rng.uniform(0.85, 1.15), 0, 255).astype(np.uint8)
        first.append(v[i])
        second.append(b)
        y.append(0)
    for _ in range(total):
        ia, ib = rng.choice(len(vids), 2, replace=False, p=weights)
        a = vids[ia][int(rng.integers(len(vids[ia])))]
        b = vids[ib][int(rng.integers(len(vids[ib])))]
        if rng.random() < 0.5:
            b = recolour(b[None], a)[0]
        first.append(a)
        second.append(b)
        y.append(1)
    d = _describe_chunked(first + second)
    m = len(first)
    return F.pair_features(d, np.arange(m), np.arange(m, 2 * m)), np.asarray(y, np.float64)


def _augment(frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random mirror, zoom and exposure per shot, so shots of one source differ in look."""
    out = frames[:, :, ::-1] if rng.random() < 0.5 else frames
    n, h, w, _ = out.shape
    z = rng.uniform(1.0, 1.4)
    ch, cw = int(h / z), int(w / z)
    y0, x0 = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
    out = np.stack([cv2.resize(f[y0 : y0 + ch, x0 : x0 + cw], (w, h)) for f in out])
    gain = rng.uniform(0.8, 1.2)
    return np.clip(out.astype(np.float32) * gain, 0, 255).astype(np.uint8)


def _segment(video: np.ndarray, length: int, rng: np.random.Generator, stride: int) -> np.ndarray:
    span = min(len(video), length * stride)
    start = rng.integers(0, len(video) - span + 1)
    seg = video[start : start + span : stride]
    if len(seg) < length:  # short source: play it back and forth (no cut inside)
        reps = int(np.ceil(length / max(1, 2 * len(seg) - 2))) + 1
        seg = np.concatenate([np.concatenate([seg, seg[-2:0:-1]])] * reps)[:length]
    return seg[:length]


def shot(v: np.ndarray, kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` frames of one shot made from video ``v``, moving as ``kind`` says.

    ``natural``: the video at 1-3x speed; ``motion``: speed ramping between 1x and 4x (motion
    starting or stopping); ``pan``/``zoom``: a camera moving fast over one still frame (up to a
    tenth of the frame per frame). Each shot gets its own mirror, zoom and exposure.
    """
    if kind in ("pan", "zoom"):
        still = _augment(v[int(rng.integers(len(v)))][None], rng)[0]
        h, w, _ = still.shape
        if kind == "pan":
            speed = rng.uniform(1.0, 0.1 * w)
            strip = T.pan_strip(still, int(w + speed * n) + 2)
            return np.stack([strip[:, int(speed * i) : int(speed * i) + w] for i in range(n)])
        zooms = np.linspace(1.0, rng.uniform(1.3, 2.0), n)
        if rng.random() < 0.5:
            zooms = zooms[::-1]
        return np.stack([cv2.resize(still[int(h / 2 - h / z / 2) : int(h / 2 + h / z / 2), int(w / 2 - w / z / 2) : int(w / 2 + w / z / 2)], (w, h)) for z in zooms])
    if kind == "motion":
        steps = np.clip(np.round(np.linspace(rng.uniform(0.5, 4), rng.uniform(0.5, 4), n)), 1, 4).astype(int)
        idx = (np.cumsum(steps) - steps[0]) % (2 * len(v) - 2)
        idx = np.where(idx >= len(v), 2 * len(v) - 2 - idx, idx)  # back and forth past the end
        return _augment(v[idx], rng)
    return _augment(_segment(v, n, rng, int(rng.choice([1, 1, 2, 3]))), rng)


SHOT_KINDS = ("natural", "natural", "natural", "motion", "pan", "zoom")  # how the shots of positives move


def transition_sequence(videos: list[np.ndarray], kind: str, rng: np.random.Generator, weights: np.ndarray | None = None) -> tuple[np.ndarray, tuple[int, int]]:
    """Two shots joined by ``kind``; returns frames and the positive boundaries.

    A quarter of the pairs come from one video (a cut between two framings of one scene); the
    rest from two different videos. Half of them share a palette (see :func:`recolour`); some
    shots move fast (see :func:`shot`), so cuts inside fast action are positives too.

    Returns:
        frames (n, H, W, 3) and (first, last) boundary indices t inside the transition.
    """
    ia, ib = rng.choice(len(videos), 2, replace=False, p=weights)
    if rng.random() < 0.25:  # a cut within one scene: another moment of the same video, reframed
        ib = ia
    la, lb = int(rng.integers(34, 64)), int(rng.integers(34, 64))
    length = 0 if kind == "cut" else int(rng.integers(3, 37))
    a = shot(videos[ia], str(rng.choice(SHOT_KINDS)), la + length, rng)
    b = shot(videos[ib], str(rng.choice(SHOT_KINDS)), length + lb, rng)
    if rng.random() < 0.5:  # same palette, different content
        b = recolour(b, a[la - 1])
    if kind == "cut":
        return np.concatenate([a, b]), (la, la)
    mixed = T.render(kind, a[la:], b[:length], direction=str(rng.choice(T.DIRECTIONS)))
    return np.concatenate([a[:la], mixed, b[length:]]), (la, la + length)


def negative_sequence(videos: list[np.ndarray], kind: str, rng: np.random.Generator, weights: np.ndarray | None = None) -> np.ndarray:
    """One shot with no transition that a naive detector might cut: motion, flash, pan or zoom."""
    v = videos[int(rng.choice(len(videos), p=weights))]
    n = int(rng.integers(60, 100))
    frames = shot(v, "natural" if kind == "flash" else kind, n, rng)
    if kind == "flash" or rng.random() < 0.3:
        k = int(rng.integers(1, 5))
        at = int(rng.integers(5, n - k - 5))
        frames = frames.copy()
        frames[at : at + k] = T.flash(frames[at : at + k], strength=float(rng.uniform(0.4, 0.95)))
    return frames


def _labels(n: int, positive: tuple[int, int] | None) -> np.ndarray:
    """Per boundary t = 1..n-1: 1 inside the transition, 0 far from it, -1 ignored."""
    y = np.zeros(n - 1)
    if positive is not None:
        t = np.arange(1, n)
        first, last = positive
        y[(t >= first - LABEL_MARGIN) & (t <= last + LABEL_MARGIN)] = -1
        y[(t >= first) & (t <= last)] = 1
    return y


def window_dataset(videos: list[np.ndarray], pair: Linear, rng: np.random.Generator, *, sequences: int, gaps: tuple[int, ...], size: int,
                   weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Window features and labels of synthesised sequences (about 60 % with a transition); videos drawn by ``weights``."""
    model = LearnedModel(MODEL_VERSION, gaps, size, pair, None, {})  # the window net is what this trains
    xs, ys = [], []
    kinds = T.ALL_TYPES + NEGATIVE_KINDS
    for k in tqdm(range(sequences), desc="synthesise sequences"):
        kind = kinds[k % len(kinds)]
        if kind in NEGATIVE_KINDS:
            frames, positive = negative_sequence(videos, kind, rng, weights), None
        else:
            frames, positive = transition_sequence(videos, kind, rng, weights)
        gf = F.gap_features(frames, gaps)
        x = window_features(pair_scores(gf, model), gf, len(frames), gaps)
        y = _labels(len(frames), positive)
        keep = y >= 0
        xs.append(x[keep])
        ys.append(y[keep])
    return np.concatenate(xs), np.concatenate(ys)


SHOT_MARGIN = 3  # frames dropped on each side of a detected cut when cutting a video into training shots
SHOT_MIN_FRAMES = 40  # shorter shots are left out


def cut_shots(video: str | Path, cfg: SplitConfig, *, size: int, end: int | None = None) -> dict[str, np.ndarray]:
    """Single shots of a multi-shot video, as training videos: the frames between detected cuts.

    A shot ends wherever either the paper's CSS or PySceneDetect's ContentDetector sees a
    transition (the union: a missed cut would put a transition inside a "same video" pair), less
    ``SHOT_MARGIN`` frames on each side; shots shorter than ``SHOT_MIN_FRAMES`` are dropped.
    Real edited footage brings what five sample clips cannot: many shots of one set, similar in
    colour and layout, whose cuts and synthesised transitions the classifiers must still find.

    Args:
        video: the multi-shot video.
        size: frames are returned at size x size.
        end: only frames before this one are used (e.g. to keep the rest for a held-out check).

    Returns:
        {"<stem>_shot_NN": (n, size, size, 3) RGB}.
    """
    from koala.io.video import probe
    from koala.split.registry import get_detector

    info = probe(video)
    spans = set()
    for method in ("css", "content"):
        spans |= set(get_detector(method, cfg).run(video, info).spans)
    frames = read_all(video, height=size, width=size, end=end, **decode_options(cfg))
    n = len(frames)
    shots, start = {}, 0  # a span (first, last) ends a shot after `first` and starts the next at `last`
    for first, last in sorted(spans) + [(n, n)]:
        a, b = start + SHOT_MARGIN, min(first + 1, n) - SHOT_MARGIN
        if b - a >= SHOT_MIN_FRAMES:
            shots[f"{Path(video).stem}_shot_{len(shots):02d}"] = frames[a:b][:MAX_FRAMES]
        start = max(start, last)
    log.info("split-train: %d shots of %d+ frames from %s (frames 0-%d)", len(shots), SHOT_MIN_FRAMES, video, len(frames))
    return shots


def decode_options(cfg: SplitConfig) -> dict:
    """How the learned detector decodes (training decodes its videos the same way)."""
    return {"fast": cfg.learned.fast_decode, "interpolation": cfg.learned.resize}


REAL_SHOT_MIN_FRAMES = 12  # real shots shorter than this are left out (too short for a same-shot pair at most gaps)


def real_shots(cfg: SplitConfig, *, size: int) -> dict[str, np.ndarray]:
    """The hand-checked single shots of the real corpus, except the held-out sources', as training videos.

    ``split.train.real_shots`` names the corpus stage's shots table ("" or a missing file: none, with a
    warning); ``split.heldout.sources`` are left out, so the held-out edit stays unseen.

    Returns:
        {shot_id: (n, size, size, 3) RGB}, at most ``MAX_FRAMES`` frames each.
    """
    from koala.split.heldout import training_shots

    path = cfg.train.real_shots
    if not path:
        return {}
    if not Path(path).exists():
        log.warning("split-train: %s not found; training without the real corpus's shots (run `koala corpus real`)", path)
        return {}
    shots = training_shots(pd.read_parquet(path), cfg.heldout.sources)
    shots = shots[shots["num_frames"] >= REAL_SHOT_MIN_FRAMES]
    out = {}
    for row in tqdm(list(shots.itertuples()), desc="decode real shots"):
        end = min(int(row.end_frame), int(row.start_frame) + MAX_FRAMES)
        try:
            out[str(row.shot_id)] = read_all(row.path, height=size, width=size, start=int(row.start_frame), end=end, **decode_options(cfg))
        except VideoError as exc:
            log.warning("split-train: skipping %s: %s", row.shot_id, exc)
    log.info("split-train: %d real shots from %d sources (held out: %s)", len(out), shots["source"].nunique(), ", ".join(cfg.heldout.sources))
    return out


def train(cfg: SplitConfig, *, videos_dir: str | None = None, out: str | None = None,
          shots_from: list[str] | None = None, shots_end: int | None = None) -> LearnedModel:
    """Train both SVMs on the videos in ``videos_dir`` and write the model JSON to ``out``.

    ``shots_from`` adds the single shots of multi-shot videos (:func:`cut_shots`, frames before
    ``shots_end``) to the training videos.
    """
    tc = cfg.train
    folder = videos_dir or tc.videos_dir
    size = cfg.learned.size
    rng = np.random.default_rng(tc.seed)
    videos = load_videos(folder, size, **decode_options(cfg))
    for video in shots_from or []:
        videos.update(cut_shots(video, cfg, size=size, end=shots_end))
    videos.update(real_shots(cfg, size=size))
    xp, yp = pair_dataset(videos, rng, per_video=tc.pairs_per_video, max_gap=tc.max_gap)
    pair = _fit(xp, yp, tc.c, tc.seed)
    xw, yw = window_dataset(list(videos.values()), pair, rng, sequences=tc.sequences, gaps=F.GAPS, size=size,
                            weights=video_weights(list(videos)))
    window = _fit_mlp(xw, yw, hidden=tc.hidden, alpha=tc.alpha, seed=tc.seed)
    model = LearnedModel(
        version=MODEL_VERSION,
        gaps=F.GAPS,
        size=size,
        pair=pair,
        window=window,
        trained_on={
            "videos": sorted(videos),
            "shots_from": [Path(v).name for v in shots_from or []],
            "shots_end": shots_end,
            "real_shots": cfg.train.real_shots,
            "held_out_sources": list(cfg.heldout.sources),
            "pairs": int(len(yp)),
            "boundaries": int(len(yw)),
            "positives": int(yw.sum()),
            "seed": tc.seed,
            "c": tc.c,
            "pair_accuracy": round(float(((pair.decision(xp) > 0) == (yp > 0)).mean()), 4),
            "window_accuracy": round(float(((window.probability(xw) > 0.5) == (yw > 0)).mean()), 4),
        },
    )
    path = Path(out or tc.out)
    write_text(path, model.to_json() + "\n")
    log.info("split-train: %d videos, %d pairs, %d boundaries -> %s (train accuracy pair %.3f, window %.3f)",
             len(videos), len(yp), len(yw), path, model.trained_on["pair_accuracy"], model.trained_on["window_accuracy"])
    return model


