"""Overlay text: burned-in text is found (PP-OCRv4 detector and recogniser inside rapidocr); textures and moving scene text are not."""

import cv2
import numpy as np
import pytest

pytest.importorskip("rapidocr_onnxruntime", reason="OCR detector not installed (make setup installs it)")

from koala.metrics.text import text_area  # noqa: E402

from .conftest import pan  # noqa: E402


def burn(frames, text, org, scale):
    out = frames.copy()
    for f in out:
        cv2.putText(f, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 6, cv2.LINE_AA)
        cv2.putText(f, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 2, cv2.LINE_AA)
    return out


EVERY = np.arange(4) * 15  # samples half a second apart at 30 fps: overlay text must last 0.5 s


def test_burned_in_subtitle_raises_text_area(clip_of):
    frames = (pan(4, 360, 640, dx=2.0, seed=7).astype(np.float32) * 0.5 + 40).astype(np.uint8)
    plain = clip_of(frames, index=EVERY)
    sub = clip_of(burn(frames, "SUBSCRIBE NOW 2024", (90, 320), 1.4), index=EVERY)
    big = clip_of(burn(burn(frames, "SUBSCRIBE NOW 2024", (90, 320), 1.4), "BREAKING NEWS", (60, 80), 2.2), index=EVERY)
    a, b, c = (text_area(x, x.cfg) for x in (plain, sub, big))
    assert a < 0.01
    assert 0.03 < b < 0.25  # one subtitle line: a few percent of the frame
    assert c > b + 0.02
    brief = clip_of(burn(frames, "SUBSCRIBE NOW 2024", (90, 320), 1.4))  # four frames in 0.1 s: too brief to tell
    assert text_area(brief, brief.cfg) == 0.0


def test_setup_installs_the_pinned_detector_without_its_opencv():
    """make setup installs rapidocr with --no-deps (it would pull opencv-python); its other needs are pinned."""
    import tomllib
    from importlib.metadata import version
    from pathlib import Path

    from koala.metrics.text import RAPIDOCR_PIN

    root = Path(__file__).resolve().parents[2]
    assert f"pip install --quiet --no-deps {RAPIDOCR_PIN}" in (root / "Makefile").read_text()
    assert RAPIDOCR_PIN in (root / "environment.yml").read_text()
    deps = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    assert {"onnxruntime==1.32.0", "pyclipper==1.4.0", "shapely==2.2.0"} <= set(deps)
    assert not any(d.startswith("rapidocr") or d.startswith("opencv-python==") for d in deps)
    assert version("rapidocr-onnxruntime") == RAPIDOCR_PIN.split("==")[1]


def sample_frames(sample_dir, k=3, height=360):
    """``k`` frames (k, height, w, 3) spread over each real sample clip: name -> frames."""
    from koala.io.video import probe, read_all

    out = {}
    for p in sorted(sample_dir.glob("*.mp4")):
        info = probe(p)
        w = int(round(info.width * height / info.height / 2)) * 2
        idx = np.linspace(0, info.num_frames - 1, k + 2)[1:-1].round().astype(int)
        out[p.stem] = np.stack([read_all(p, height=height, width=w, start=int(i), end=int(i) + 1, info=info)[0] for i in idx])
    return out


SUBTITLES = ["I never thought we would", "make it this far", "Thank you all for coming"]


def test_real_frames_without_text_make_no_claim_and_burned_in_subtitles_are_found(sample_dir, clip_of):
    """The four samples without any text: no overlay text. Changing subtitle lines burned into the
    same frames (as a player burns them: white with a dark outline, at the bottom): found in every clip.
    J3JqVnOGfYA_3 is a screen recording full of interface text, which is text on the screen."""
    for name, frames in sample_frames(sample_dir).items():
        plain = clip_of(frames, text_frames=3, index=EVERY[:3])
        if name == "J3JqVnOGfYA_3":
            assert text_area(plain, plain.cfg) > 0.01
            continue
        assert text_area(plain, plain.cfg) == 0.0, name
        subbed = frames.copy()
        for f, line in zip(subbed, SUBTITLES):
            x = (f.shape[1] - cv2.getTextSize(line, cv2.FONT_HERSHEY_DUPLEX, 0.8, 1)[0][0]) // 2
            f[:] = burn(f[None], line, (x, f.shape[0] - 24), 0.8)[0]
        sub = clip_of(subbed, text_frames=3, index=EVERY[:3])
        assert 0.005 < text_area(sub, sub.cfg) < 0.1, name


def test_text_that_moves_with_the_scene_is_not_overlay(clip_of):
    """A sign moving across the frame (scene text under a pan) does not recur at one place."""
    frames = (pan(3, 360, 640, dx=0.0, seed=7).astype(np.float32) * 0.5 + 40).astype(np.uint8)
    for k, f in enumerate(frames):
        f[:] = burn(f[None], "HOTEL PARADISE", (60 + 150 * k, 120 + 60 * k), 1.2)[0]
    clip = clip_of(frames, text_frames=3, index=EVERY[:3])
    assert text_area(clip, clip.cfg) == 0.0


def test_persistence_and_readability_rules():
    from koala.metrics.text import persistent_groups, readable, same_place

    box = np.float32([[10, 100], [200, 100], [200, 130], [10, 130]])
    longer = np.float32([[10, 101], [260, 101], [260, 131], [10, 131]])
    below = box + np.float32([0, 60])
    assert same_place(box, longer) and not same_place(box, below)
    groups = persistent_groups([[box], [longer, below], [box]], min_frames=2)
    assert len(groups) == 1 and len(groups[0]) == 3
    assert readable("Thank you", 0.95, 0.8) and not readable("l", 0.99, 0.8) and not readable("Thank", 0.5, 0.8)


def test_sessions_with_the_memory_arena_find_and_read_the_same_text():
    # the detector and recogniser run on sessions rebuilt with onnxruntime's CPU arena on (less page
    # zeroing); their outputs must equal those of rapidocr's own sessions
    import os

    from rapidocr_onnxruntime.ch_ppocr_det import TextDetector
    from rapidocr_onnxruntime.ch_ppocr_rec import TextRecognizer

    from koala.metrics.text import _rapidocr_config, detector, recogniser

    frame = np.full((180, 320, 3), 90, np.uint8)
    cv2.putText(frame, "KOALA 36M", (40, 150), cv2.FONT_HERSHEY_SIMPLEX, 1.1, (255, 255, 255), 3, cv2.LINE_AA)
    bgr = np.ascontiguousarray(frame[..., ::-1])
    pkg, conf = _rapidocr_config("Det", "detector")
    det = detector(640, 0.5)
    assert det.infer.session.get_session_options().enable_cpu_mem_arena
    plain = TextDetector({**conf, "model_path": os.path.join(pkg, conf["model_path"]), "limit_type": "max",
                          "limit_side_len": 640, "box_thresh": 0.5, "intra_op_num_threads": 1, "inter_op_num_threads": 1})
    ours, theirs = det(bgr)[0], plain(bgr)[0]
    assert ours is not None and len(ours) >= 1 and np.array_equal(ours, theirs)
    pkg, conf = _rapidocr_config("Rec", "recogniser")
    plain_rec = TextRecognizer({**conf, "model_path": os.path.join(pkg, conf["model_path"])})
    crop = bgr[115:160, 30:260]
    assert recogniser()([crop])[0] == plain_rec([crop])[0]
