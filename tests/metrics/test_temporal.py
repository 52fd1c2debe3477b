"""Frozen frames and flicker on sequences with a known answer."""

import numpy as np
import pytest

from koala.metrics.registry import Unavailable
from koala.metrics.temporal import flicker, flicker_of, frozen_fraction

from .conftest import pan


def test_frozen_share(clip_of):
    moving = pan(10, 180, 320, dx=2.0)
    held = moving.copy()
    held[5:] = held[5]  # the picture stops half way: 4 of 9 pairs repeat
    a, b = clip_of(moving), clip_of(held)
    assert frozen_fraction(a, a.cfg) == 0.0
    assert frozen_fraction(b, b.cfg) == pytest.approx(4 / 9)
    still = clip_of(np.repeat(moving[:1], 6, axis=0))
    assert frozen_fraction(still, still.cfg) == 1.0


def test_flicker_reads_the_alternation_and_ignores_fades(clip_of):
    base = pan(12, 90, 160, dx=1.0).astype(np.float32) * 0.5 + 60
    sign = np.where(np.arange(12) % 2, 1.0, -1.0)[:, None, None, None]
    flick = clip_of((base + 10 * sign).astype(np.uint8))
    fade = clip_of((base * np.linspace(0.3, 1.0, 12)[:, None, None, None]).astype(np.uint8))
    steady = clip_of(base.astype(np.uint8))
    assert flicker(flick, flick.cfg) == pytest.approx(10.0, abs=1.0)
    assert flicker(fade, fade.cfg) < 0.5
    assert flicker(steady, steady.cfg) < 0.3
    with pytest.raises(Unavailable):
        flicker_of(np.array([1.0, 2.0]))
