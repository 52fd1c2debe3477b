"""Black borders: a letterboxed or pillarboxed copy reports the bars' share within 2 %."""

import numpy as np
import pytest

from koala.metrics.layout import bar_sizes, border_fraction

from .conftest import pan


@pytest.mark.parametrize("top, bottom, left, right", [(45, 45, 0, 0), (0, 0, 80, 80), (30, 50, 0, 0), (20, 20, 40, 40)])
def test_bars_are_measured_within_two_percent(clip_of, top, bottom, left, right):
    frames = pan(6, 360, 640, dx=2.0)
    frames[:, :top] = 0
    frames[:, 360 - bottom :] = 0
    frames[:, :, :left] = 0
    frames[:, :, 640 - right :] = 0
    clip = clip_of(frames)
    truth = 1 - (360 - top - bottom) * (640 - left - right) / (360 * 640)
    assert border_fraction(clip, clip.cfg) == pytest.approx(truth, abs=0.02)


def test_noisy_bars_still_count_and_full_frame_content_has_none(clip_of):
    frames = pan(6, 180, 320, dx=1.0)
    assert border_fraction(clip_of(frames), clip_of(frames).cfg) == 0.0
    rng = np.random.default_rng(0)
    frames[:, :20] = rng.integers(0, 12, size=frames[:, :20].shape)  # codec noise in the bar
    frames[:, -20:] = 8
    clip = clip_of(frames)
    assert border_fraction(clip, clip.cfg) == pytest.approx(40 / 180, abs=0.02)


def test_a_dark_scene_is_not_a_letterbox():
    dark = np.full((4, 90, 160), 10, np.uint8)
    assert bar_sizes(dark, 24) == (0, 0, 0, 0)
    # content that is dark in one frame only is not a bar
    g = np.full((4, 90, 160), 120, np.uint8)
    g[0, :30] = 0
    assert bar_sizes(g, 24) == (0, 0, 0, 0)


def test_subtitles_inside_the_bar_do_not_shrink_it(clip_of):
    import cv2

    frames = pan(6, 360, 640, dx=2.0)
    frames[:, :45] = 0
    frames[:, 315:] = 0
    for f in frames[::2]:  # a subtitle line in the bottom bar in some frames
        cv2.putText(f, "a subtitle in the letterbox", (120, 345), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (255, 255, 255), 2)
    clip = clip_of(frames)
    assert border_fraction(clip, clip.cfg) == pytest.approx(90 / 360, abs=0.02)
