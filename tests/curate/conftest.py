"""A tiny curate corpus: two synthetic videos (one with a hard cut) among every bad input of the foundation."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import yaml

from koala.io.writer import VideoWriter

VIDEO_TESTS = Path(__file__).resolve().parents[1] / "io" / "test_video.py"


def bad_inputs_module():
    """tests/io/test_video.py, whose ``make_bad`` builds every kind of bad input the foundation rejects."""
    spec = importlib.util.spec_from_file_location("koala_test_video_bad_inputs", VIDEO_TESTS)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def shot(kind: int, i: int, w: int = 128, h: int = 96) -> np.ndarray:
    """Frame ``i`` of one of two visibly different moving patterns (a cut between them is unmistakable)."""
    y, x = np.mgrid[0:h, 0:w]
    if kind == 0:
        rgb = [(x * 2 + i * 3) % 256, (y * 2) % 256, np.full_like(x, 60)]
    else:
        rgb = [np.full_like(x, 200), ((x + y) * 3 + i * 5) % 256, (y * 4 - i * 2) % 256]
    return np.stack(rgb, -1).astype(np.uint8)


def synth_video(path: Path, *, n: int, cuts: set[int] = frozenset(), w: int = 128, h: int = 96) -> Path:
    with VideoWriter(path, fps=25, width=w, height=h) as vw:
        k = 0
        for i in range(n):
            if i in cuts:
                k = 1 - k
            vw.write(shot(k, i, w, h))
    return path


def permissive_params(tmp: Path, **extra) -> Path:
    """params.yaml for tests: in-process engine, no VTSS model, the manual baseline with every threshold off."""
    manual = {k: None for k in ("motion_score_min", "moving_area_min", "clarity_score_min", "aesthetic_score_min",
                                "text_area_max", "border_fraction_max", "frozen_fraction_max")}
    params = {
        "engine": {"workers": 1, "cache_dir": str(tmp / "engine-cache")},
        "vtss": {"model_path": str(tmp / "no-tsa.pt"), "fragments": {"num_clips": 1}},
        "filter": {"rule": "manual", "manual": manual},
        "curate": {"poster_height": 48},
    }
    for section, values in extra.items():
        params.setdefault(section, {}).update(values)
    path = tmp / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> dict:
    """Good videos, bad inputs (one folder per kind) and a list file naming them all, interleaved."""
    root = tmp_path_factory.mktemp("curate-corpus")
    good = root / "good"
    good.mkdir()
    a = synth_video(good / "a.mp4", n=80, cuts={40})
    b = synth_video(good / "b.mp4", n=50)
    mod = bad_inputs_module()
    bad = {}
    for k, kind in enumerate(mod.BAD):
        folder = root / "bad" / f"{k:02d}"
        folder.mkdir(parents=True)
        bad[kind] = (mod.make_bad(kind, folder), mod.BAD[kind])
    paths = [str(a)] + [str(p) for p, _ in bad.values()][:10] + [str(b)] + [str(p) for p, _ in bad.values()][10:]
    listing = root / "videos.txt"
    listing.write_text("# curate test corpus\n" + "\n".join(paths) + "\n")
    return {"root": root, "good": [a, b], "bad": bad, "list": listing}


@pytest.fixture(scope="session")
def curated(corpus, tmp_path_factory) -> dict:
    """One `koala curate` run over the corpus (clip export on), shared by the tests that read its outputs."""
    from koala.cli import main

    tmp = tmp_path_factory.mktemp("curate-run")
    params = permissive_params(tmp)
    out = tmp / "out"
    assert main(["curate", str(corpus["list"]), "--out", str(out), "--params", str(params), "--export-clips"]) == 0
    return {"out": out, "params": params, **corpus}


def numbered(i: int, w: int = 64, h: int = 48) -> np.ndarray:
    """Flat frame carrying its number (as tests/conftest.py's VideoFactory writes it)."""
    arr = np.empty((h, w, 3), np.uint8)
    arr[..., 0], arr[..., 1], arr[..., 2] = 16 + 20 * (i % 12), 16 + 20 * (i // 12), 128
    return arr


def index_of(frame: np.ndarray) -> int:
    h, w = frame.shape[:2]
    c = frame[h // 2 - 2 : h // 2 + 2, w // 2 - 2 : w // 2 + 2].reshape(-1, 3).mean(0)
    return int(round((c[1] - 16) / 20)) * 12 + int(round((c[0] - 16) / 20))


def gop_video(path: Path, *, n: int, gop: int = 10, bframes: int = 2) -> Path:
    """H.264 with a keyframe exactly every ``gop`` frames (closed GOPs, B-frames), frames numbered."""
    import av

    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=25, options={"g": str(gop), "keyint_min": str(gop), "sc_threshold": "0",
                                                      "bf": str(bframes), "crf": "12"})
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for i in range(n):
            c.mux(s.encode(av.VideoFrame.from_ndarray(numbered(i), format="rgb24")))
        c.mux(s.encode(None))
    return path


@pytest.fixture
def make_gop_video(tmp_path):
    """``make_gop_video(name, n=, gop=)`` -> Path of a numbered H.264 video with a keyframe every ``gop`` frames."""
    def make(name: str, *, n: int, gop: int = 10) -> Path:
        return gop_video(tmp_path / name, n=n, gop=gop)
    return make


@pytest.fixture
def frame_number():
    """Reads the number back from a decoded frame of :func:`gop_video`."""
    return index_of


def tiny_tsa(path):
    """A trained-TSA file as `koala vtss train` writes it, with random weights of a tiny size (fast on CPU)."""
    import torch

    from koala.config import VtssTsaSize
    from koala.vtss.features import FEATURE_NAMES  # the label branch's inputs: the sub-metrics and the temporal features
    from koala.vtss.train import MetricScaler, save_model
    from koala.vtss.tsa import build_tsa

    size = VtssTsaSize(grid=2, patch=32, clip_len=4, frame_interval=2, num_clips=1, swin_embed_dim=8, swin_depths=(1, 1),
                       swin_heads=(1, 2), swin_window_t=2, swin_patch=(2, 8, 8), static_frames=2, static_size=32,
                       convnext_dims=(8, 16), convnext_depths=(1, 1), static_logits=8, feature_dim=8, image_hidden=(8,),
                       label_hidden=(8,), head_hidden=(8,))
    torch.manual_seed(0)
    n = len(FEATURE_NAMES)
    model = build_tsa(size, n, "full", dropout=0.0).eval()
    return save_model(path, model, MetricScaler(center=(0.0,) * n, scale=(1.0,) * n), size_name="test", variant="full",
                      decode_short_side=64, info={"note": "random weights, curate test"})


@pytest.fixture
def curate_kit():
    """The helpers above, for tests that build their own corpus: ``synth_video``, ``permissive_params``, ``tiny_tsa``."""
    import types

    return types.SimpleNamespace(synth_video=synth_video, permissive_params=permissive_params, tiny_tsa=tiny_tsa)
