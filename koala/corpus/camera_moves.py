"""Camera moves with exact labels, filmed over still real frames (the camera test set).

A real frame (from the five sample clips) is a still scene; a virtual camera looks at it through a
crop window that moves, and the window is resized to the output size. So every label is exact:

* ``pan_left`` / ``pan_right``: the window slides left / right (the scene slides right / left
  across the frame), ``speed`` output px per frame;
* ``tilt_up`` / ``tilt_down``: the window slides up / down (the scene slides down / up);
* ``zoom_in`` / ``zoom_out``: the window shrinks / grows by ``amount`` (0.10 = 10 %) over the clip,
  geometrically, so things get larger / smaller at a constant rate;
* ``handheld``: the window jitters about a fixed point: band-limited noise (0.5-5 Hz) of
  ``amount`` px RMS (2-D), detrended, so there is no drift;
* ``static``: the window stays; with ``subject=True`` a textured patch cut from another real frame
  moves across the still scene (a moving subject, the camera is still: the label stays static).

Every frame gets mild sensor noise (Gaussian, ``noise`` grey levels), so a still camera never
shows identical frames. Directions are the camera's own (docs/DESIGN.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

KINDS = ("static", "pan_left", "pan_right", "tilt_up", "tilt_down", "zoom_in", "zoom_out", "handheld")


@dataclass(frozen=True)
class CameraMove:
    """One synthetic shot: what the camera does and how much (exact truth)."""

    kind: str  # one of KINDS
    speed: float = 0.0  # pans and tilts: output px per frame
    amount: float = 0.0  # zooms: total relative scale change; handheld: 2-D RMS offset in output px
    subject: bool = False  # static only: a textured patch moves across the still scene
    subject_size: float = 0.3  # the patch's side as a share of the frame's short side ... (x 1.5 wide)
    subject_speed: float = 4.0  # output px per frame
    seconds: float = 3.0
    fps: float = 25.0
    seed: int = 0

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown camera move {self.kind!r}; choose one of {KINDS}")

    @property
    def n(self) -> int:
        return int(round(self.seconds * self.fps))


def window_path(move: CameraMove, width: int, height: int) -> np.ndarray:
    """(n, 3) crop window per frame: centre offset (dx, dy) from the rest position in output px, and scale.

    Scale is the window's size relative to the output frame (1 = the rest size); a shrinking
    window is a zoom in.
    """
    n = move.n
    k = np.arange(n, dtype=np.float64)
    out = np.zeros((n, 3))
    out[:, 2] = 1.0
    d = move.speed * (k - (n - 1) / 2)  # centred, so the window stays on the canvas both ways
    if move.kind == "pan_left":
        out[:, 0] = -d
    elif move.kind == "pan_right":
        out[:, 0] = d
    elif move.kind == "tilt_up":
        out[:, 1] = -d
    elif move.kind == "tilt_down":
        out[:, 1] = d
    elif move.kind in ("zoom_in", "zoom_out"):
        total = 1.0 / (1.0 + move.amount) if move.kind == "zoom_in" else 1.0 + move.amount
        out[:, 2] = total ** (k / max(1, n - 1))
    elif move.kind == "handheld":
        out[:, :2] = shake_offsets(n, move.fps, move.amount, np.random.default_rng(move.seed))
    return out


def shake_offsets(n: int, fps: float, rms: float, rng: np.random.Generator) -> np.ndarray:
    """(n, 2) handheld jitter: white noise band-passed to 0.5-5 Hz, detrended, scaled to ``rms`` px (2-D)."""
    if n < 3:
        return np.zeros((n, 2))
    spec = np.fft.rfft(rng.normal(size=(n, 2)), axis=0)
    freqs = np.fft.rfftfreq(n, 1.0 / fps)
    spec[(freqs < 0.5) | (freqs > 5.0)] = 0
    off = np.fft.irfft(spec, n=n, axis=0)
    t = np.arange(n)
    for j in range(2):  # no drift: remove any linear trend left
        off[:, j] -= np.polyval(np.polyfit(t, off[:, j], 1), t)
    cur = np.sqrt(np.mean(np.sum(off**2, axis=1)))
    return off * (rms / max(cur, 1e-9))


def _canvas(scene: np.ndarray, pad_x: int, pad_y: int) -> np.ndarray:
    return cv2.copyMakeBorder(scene, pad_y, pad_y, pad_x, pad_x, cv2.BORDER_REFLECT_101)


def render(scene: np.ndarray, move: CameraMove, *, width: int = 640, height: int = 360,
           patch: np.ndarray | None = None, noise: float = 1.5, every: int = 1) -> np.ndarray:
    """Film ``scene`` (H, W, 3 uint8 RGB, a still real frame) with ``move``; (n, height, width, 3) uint8.

    ``every``: keep only every so many frames (what a sampler would read), rendering no others.

    The rest window is the largest centred window of the output's aspect that fits the scene; the
    scene is padded by reflection where a long move leaves it. ``patch`` (RGB) is the moving
    subject's texture for ``move.subject``.
    """
    sh, sw = scene.shape[:2]
    base = min(sw / width, sh / height)  # source px per output px at rest
    path = window_path(move, width, height)
    reach_x = int(np.ceil(base * (np.abs(path[:, 0]).max() + width * path[:, 2].max() / 2))) + 8
    reach_y = int(np.ceil(base * (np.abs(path[:, 1]).max() + height * path[:, 2].max() / 2))) + 8
    pad_x, pad_y = max(0, reach_x - sw // 2), max(0, reach_y - sh // 2)
    canvas = _canvas(scene, pad_x, pad_y).astype(np.float32)
    cx0, cy0 = pad_x + (sw - 1) / 2, pad_y + (sh - 1) / 2
    rng = np.random.default_rng(move.seed + 1)
    keep = np.arange(0, move.n, max(1, int(every)))
    frames = np.empty((len(keep), height, width, 3), np.uint8)
    top = base * path[:, 2].max()
    if top > 1.05:  # the window shrinks the scene: low-pass it first (once, for the largest window), no aliasing
        canvas = cv2.GaussianBlur(canvas, (0, 0), 0.5 * top)
    for j, i in enumerate(keep):
        dx, dy, s = path[i]
        a = base * s  # source px per output px
        # output pixel (u, v) looks at canvas (cx + a (u - (w-1)/2), cy + a (v - (h-1)/2))
        m = np.float32([[a, 0, cx0 + base * dx - a * (width - 1) / 2], [0, a, cy0 + base * dy - a * (height - 1) / 2]])
        f = cv2.warpAffine(canvas, m, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                           borderMode=cv2.BORDER_REFLECT_101)
        if move.subject and patch is not None:
            _paste_subject(f, patch, i, move)
        if noise > 0:
            f += rng.standard_normal(f.shape, dtype=np.float32) * np.float32(noise)
        frames[j] = np.clip(f, 0, 255).astype(np.uint8)
    return frames


def _paste_subject(frame: np.ndarray, patch: np.ndarray, i: int, move: CameraMove) -> None:
    """A textured rounded blob crossing the frame left to right, bobbing a little (in place)."""
    h, w = frame.shape[:2]
    ph = max(8, int(round(move.subject_size * h)))
    pw = int(round(1.5 * ph))
    tex = cv2.resize(patch, (pw, ph), interpolation=cv2.INTER_AREA).astype(np.float32)
    mask = np.zeros((ph, pw), np.float32)
    cv2.ellipse(mask, (pw // 2, ph // 2), (pw // 2 - 1, ph // 2 - 1), 0, 0, 360, 1.0, -1)
    span = w - pw
    x0 = (0.1 * span + move.subject_speed * i) % max(1, span)  # wraps around, stays inside the frame
    y0 = (h - ph) / 2 + 0.1 * h * np.sin(2 * np.pi * i / max(1.0, move.fps))
    m = np.float32([[1, 0, x0], [0, 1, y0]])
    t = cv2.warpAffine(tex, m, (w, h))
    a = cv2.warpAffine(mask, m, (w, h))[..., None]
    frame[:] = frame * (1 - a) + t * a


@dataclass(frozen=True)
class Shot:
    """One labelled synthetic shot."""

    shot_id: str
    camera: str  # the truth label (one of KINDS)
    move: CameraMove
    scene: str  # which real frame it was filmed over
    frames: np.ndarray = field(repr=False)  # (n, h, w, 3) uint8


def camera_set(scenes: dict[str, np.ndarray], *, per_kind: int = 2, width: int = 640, height: int = 360,
             seconds: float = 3.0, fps: float = 25.0, seed: int = 0, every: int = 1):
    """Yield labelled shots: ``per_kind`` of each move per scene, parameters spread over the brief's ranges.

    Pans and tilts 1.5-6 px/frame, zooms 10-35 % over the clip, handheld 3-7 px RMS, static with and
    without a moving subject (patch 0.3-0.7 of the short side tall, 1.5 times as wide, 3-8 px/frame).

    Args:
        scenes: name -> still real frame (H, W, 3 uint8 RGB), at least the output size.
        every: keep every so many frames of each shot (``Shot.frames``); the labels are per frame
            of the ``fps`` shot.
    """
    rng = np.random.default_rng(seed)
    names = sorted(scenes)
    for si, name in enumerate(names):
        other = scenes[names[(si + 1) % len(names)]]
        for kind in KINDS + ("static_subject",):
            for j in range(per_kind):
                s = int(rng.integers(1 << 30))
                u = (j + rng.random()) / per_kind  # spread over the range, jittered
                camera = "static" if kind == "static_subject" else kind
                if kind in ("pan_left", "pan_right", "tilt_up", "tilt_down"):
                    move = CameraMove(camera, speed=1.5 + 4.5 * u, seconds=seconds, fps=fps, seed=s)
                elif kind in ("zoom_in", "zoom_out"):
                    move = CameraMove(camera, amount=0.10 + 0.25 * u, seconds=seconds + rng.random(), fps=fps, seed=s)
                elif kind == "handheld":
                    move = CameraMove(camera, amount=3.0 + 4.0 * u, seconds=seconds, fps=fps, seed=s)
                elif kind == "static_subject":
                    move = CameraMove("static", subject=True, subject_size=0.3 + 0.4 * u,
                                      subject_speed=3.0 + 5.0 * rng.random(), seconds=seconds, fps=fps, seed=s)
                else:
                    move = CameraMove("static", seconds=seconds, fps=fps, seed=s)
                frames = render(scenes[name], move, width=width, height=height, patch=other, every=every)
                yield Shot(f"{name}-{kind}-{j}", camera, move, name, frames)


def sample_scenes(folder: str | Path, *, per_clip: int = 1, height: int = 720) -> dict[str, np.ndarray]:
    """Still frames of the real sample clips in ``folder`` (name -> RGB), ``per_clip`` each, evenly spread.

    Raises:
        FileNotFoundError: no .mp4 in ``folder``.
    """
    from koala.io.video import probe, read_all

    paths = sorted(Path(folder).glob("*.mp4"))
    if not paths:
        raise FileNotFoundError(f"{folder}: no .mp4 sample clips; point this at the koala_tsa_samples folder")
    out = {}
    for p in paths:
        info = probe(p)
        h = min(height, info.height)
        w = int(round(info.width * h / info.height / 2)) * 2
        for k, idx in enumerate(np.linspace(0, info.num_frames - 1, per_clip + 2)[1:-1].round().astype(int)):
            frame = read_all(p, height=h, width=w, start=int(idx), end=int(idx) + 1, info=info)[0]
            out[f"{p.stem}#{k}"] = frame
    return out
