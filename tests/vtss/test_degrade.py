"""Proxy degradations: each one damages what it claims to, more at a higher severity, deterministically."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from koala.config import ScoreConfig
from koala.metrics.clip import DecodedClip
from koala.metrics.registry import load_all
from koala.vtss.degrade import DEGRADATIONS, apply


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    """A textured, moving scene: 24 frames of 96x160 (a drifting pattern with sharp edges)."""
    rng = np.random.default_rng(0)
    base = cv2.resize(rng.integers(0, 255, size=(48, 80, 3), dtype=np.uint8), (320, 192), interpolation=cv2.INTER_NEAREST)
    return np.stack([base[i * 2:i * 2 + 96, i * 3:i * 3 + 160] for i in range(24)])


def metric(name: str, frames: np.ndarray) -> float:
    clip = DecodedClip(frames=frames, index=np.arange(len(frames)), fps=24.0, cfg=ScoreConfig())
    return float(load_all()[name][1](clip, clip.cfg))


@pytest.mark.parametrize("name", list(DEGRADATIONS))
def test_shape_determinism_and_change(frames, name):
    a = apply(frames, name, 2, np.random.default_rng(1))
    b = apply(frames, name, 2, np.random.default_rng(1))
    assert a.shape == frames.shape and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert not np.array_equal(a, frames)


@pytest.mark.parametrize("name, metric_name, sign", [
    ("noise", "noise", +1), ("letterbox", "border_fraction", +1), ("frozen", "frozen_fraction", +1),
    ("blur", "clarity_score", -1), ("still", "motion_score", -1),
])
def test_severity_is_monotone_in_the_matching_sub_metric(frames, name, metric_name, sign):
    """The project's own sub-metric moves the right way as the severity rises (the proxy labels are measurable)."""
    values = [metric(metric_name, frames)] + [metric(metric_name, apply(frames, name, s, np.random.default_rng(0)))
                                              for s in (1, 4)]
    assert sign * (values[2] - values[0]) > 0 and sign * (values[2] - values[1]) >= 0, values


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown degradation"):
        apply(np.zeros((2, 8, 8, 3), np.uint8), "sepia", 1, np.random.default_rng())
    with pytest.raises(ValueError, match="severity"):
        apply(np.zeros((2, 8, 8, 3), np.uint8), "blur", 5, np.random.default_rng())
