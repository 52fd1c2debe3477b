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


CRUSH = np.clip((np.arange(256) - 70) * 255 / 185, 0, 255).astype(np.uint8)  # grade: everything under 70 -> black


def test_crushed_blacks_are_not_a_letterbox_but_real_bars_under_them_are():
    """A dark top region with a ragged outline (shadows crushed in post) vs a straight, flat bar."""
    frames = pan(6, 180, 320, dx=1.0)
    gray = frames.mean(axis=3).astype(np.uint8)
    yy, xx = np.mgrid[0:180, 0:320]
    outline = 50 + 25 * np.sin(xx / 17.0) + 15 * np.sin(xx / 5.3)  # the scene's own dark shape
    dark = gray.copy()
    dark[:, yy < outline] = (dark[:, yy < outline] * 0.2).astype(np.uint8)
    assert bar_sizes(CRUSH[dark], 24) == (0, 0, 0, 0)
    boxed = gray.copy()
    boxed[:, :30] = 4
    boxed[:, -30:] = 4
    assert bar_sizes(CRUSH[np.maximum(boxed, 0)], 24)[:2] == (30, 30)


def test_a_fade_or_a_bar_that_changes_is_not_a_bar():
    g = np.full((4, 90, 160), 120, np.uint8)
    for k in range(4):
        g[k, :20] = 4 * k * 5  # the top band brightens over the clip: 0, 20, 40, 60
    assert bar_sizes(g, 24)[0] == 0


def test_real_frames_darkened_in_post_have_no_bars_and_letterboxed_ones_do(sample_dir):
    """The five samples: as they are, and graded darker (x0.6, blacks crushed): no bars; with 45 px
    bars added (codec-like noise in them): 45 px found."""
    from koala.io.video import probe, read_all
    from koala.motion import to_gray

    rng = np.random.default_rng(0)
    for p in sorted(sample_dir.glob("*.mp4")):
        info = probe(p)
        gray = to_gray(read_all(p, height=360, width=640, step=max(1, info.num_frames // 6), info=info)[:6])
        graded = CRUSH[(gray * 0.6).astype(np.uint8)]
        assert bar_sizes(gray, 24) == (0, 0, 0, 0), p.name
        assert bar_sizes(graded, 24) == (0, 0, 0, 0), p.name
        boxed = gray.copy()
        boxed[:, :45] = rng.integers(0, 10, size=boxed[:, :45].shape)
        boxed[:, -45:] = rng.integers(0, 10, size=boxed[:, -45:].shape)
        assert bar_sizes(boxed, 24)[:2] == (45, 45), p.name


def _bar_sizes_whole(gray, level):
    """The definition bar_sizes keeps: every row tested, then the runs at the edges."""
    from koala.metrics.layout import MAX_BAR, MAX_LONE_BAR, bar_lines, edge_run, straight_edge

    out = []
    for frames in (gray, gray.transpose(0, 2, 1)):
        lines = bar_lines(frames, level)
        if lines.all():
            out += [0, 0]
            continue
        pair = []
        for flip in (False, True):
            f = frames[:, ::-1] if flip else frames
            n = edge_run(lines[::-1] if flip else lines)
            pair.append(n if n <= MAX_BAR * len(lines) and straight_edge(f, n, level) else 0)
        if min(pair) == 0 and max(pair) > MAX_LONE_BAR * len(lines):
            pair = [0, 0]
        out += pair
    return tuple(out)


def test_bars_tested_from_the_edges_match_every_row_tested():
    # bar_sizes stops testing rows at the first one that is not a bar; the sizes must be those of testing all
    from koala.metrics.layout import bar_run, bar_sizes

    rng = np.random.default_rng(3)
    seen_bars = 0
    for _ in range(600):
        n, h, w = (int(v) for v in (rng.integers(1, 5), rng.integers(1, 70), rng.integers(1, 70)))
        g = rng.integers(0, 255, (n, h, w)).astype(np.uint8)
        for side, extent in enumerate((h, h, w, w)):
            k, v = int(rng.integers(0, extent)), int(rng.integers(0, 40))
            [g[:, :k], g[:, h - k :], g[:, :, :k], g[:, :, w - k :]][side][...] = v
        if rng.random() < 0.1:
            g[:] = rng.integers(0, 30)  # a dark clip: every row is bar-like
        want = _bar_sizes_whole(g, 24)
        seen_bars += any(want)
        assert bar_sizes(g, 24) == want
    assert seen_bars > 50
    dark = np.full((2, 50, 30), 5, np.uint8)
    assert bar_run(dark, 24, 21) == 21 and bar_run(dark, 24, 80) == 50
