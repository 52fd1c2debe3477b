"""Burned-in text raises the text area (the PP-OCRv4 detector shipped inside rapidocr)."""

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


def test_burned_in_subtitle_raises_text_area(clip_of):
    frames = (pan(4, 360, 640, dx=2.0, seed=7).astype(np.float32) * 0.5 + 40).astype(np.uint8)
    plain = clip_of(frames)
    sub = clip_of(burn(frames, "SUBSCRIBE NOW 2024", (90, 320), 1.4))
    big = clip_of(burn(burn(frames, "SUBSCRIBE NOW 2024", (90, 320), 1.4), "BREAKING NEWS", (60, 80), 2.2))
    a, b, c = (text_area(x, x.cfg) for x in (plain, sub, big))
    assert a < 0.01
    assert 0.03 < b < 0.25  # one subtitle line: a few percent of the frame
    assert c > b + 0.02


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
