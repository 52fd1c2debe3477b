"""The synthetic transitions: each frame mixes both shots, and only the span's frames do."""

import numpy as np
import pytest

from koala.corpus import transitions as tr


def _shots(n=10, h=24, w=32, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, size=(n, h, w, 3), dtype=np.uint8)
    b = rng.integers(0, 256, size=(n, h, w, 3), dtype=np.uint8)
    return a, b


def test_progress_is_strictly_inside_and_increasing():
    t = tr.progress(7)
    assert t[0] > 0 and t[-1] < 1 and np.all(np.diff(t) > 0)


def test_dissolve_weights_follow_progress():
    a = np.full((4, 2, 2, 3), 0, np.uint8)
    b = np.full((4, 2, 2, 3), 200, np.uint8)
    out = tr.dissolve(a, b)
    np.testing.assert_array_equal(out[:, 0, 0, 0], np.rint(200 * tr.progress(4)).astype(np.uint8))


@pytest.mark.parametrize("value", [0, 255])
def test_fade_through_reaches_the_flat_level_in_the_middle(value):
    a = np.full((9, 4, 4, 3), 120, np.uint8)
    b = np.full((9, 4, 4, 3), 60, np.uint8)
    out = tr.fade_through(a, b, value)
    assert out[4].mean() == pytest.approx(value, abs=1)  # t = 0.5 exactly at the middle of 9
    # Monotone towards the flat level, then away from it towards b.
    d = np.abs(out.reshape(9, -1).mean(1) - value)
    assert np.all(np.diff(d[:5]) < 0) and np.all(np.diff(d[4:]) > 0)


@pytest.mark.parametrize("direction", tr.DIRECTIONS)
def test_wipe_reveals_more_of_b_every_frame(direction):
    a = np.zeros((6, 20, 30, 3), np.uint8)
    b = np.full((6, 20, 30, 3), 255, np.uint8)
    share = (tr.wipe(a, b, direction) == 255).mean(axis=(1, 2, 3))
    assert np.all(np.diff(share) > 0) and 0 < share[0] and share[-1] < 1
    if direction == "right":  # the edge moves right: b shows on the left
        assert tr.wipe(a, b, direction)[0, :, 0].min() == 255


@pytest.mark.parametrize("direction", tr.DIRECTIONS)
def test_slide_moves_a_out_of_frame(direction):
    a, b = _shots(n=5, h=20, w=30)
    out = tr.slide(a, b, direction)
    k = int(round(tr.progress(5)[0] * 30))
    if direction == "left":
        np.testing.assert_array_equal(out[0, :, : 30 - k], a[0, :, k:])
        np.testing.assert_array_equal(out[0, :, 30 - k :], b[0, :, :k])
    assert out.shape == a.shape


@pytest.mark.parametrize("kind", tr.GRADUAL_TYPES)
def test_no_transition_frame_is_a_pure_shot_frame(kind):
    a, b = _shots()
    out = tr.render(kind, a, b, "up")
    for i in range(len(out)):
        assert not np.array_equal(out[i], a[i]) and not np.array_equal(out[i], b[i])


def test_render_rejects_unknown_kinds_and_bad_shapes():
    a, b = _shots()
    with pytest.raises(ValueError, match="unknown gradual transition"):
        tr.render("cut", a, b)
    with pytest.raises(ValueError, match="must both be"):
        tr.dissolve(a, b[:-1])
    with pytest.raises(ValueError, match="direction"):
        tr.wipe(a, b, "sideways")


def test_flash_brightens_but_keeps_content():
    a, _ = _shots(n=2)
    out = tr.flash(a)
    assert out.mean() > 200 and np.corrcoef(out.ravel(), a.ravel())[0, 1] > 0.99


def test_pan_strip_is_continuous_at_every_seam():
    img = np.random.default_rng(1).integers(0, 256, (8, 10, 3), dtype=np.uint8)
    strip = tr.pan_strip(img, 35)
    assert strip.shape[1] >= 35
    for seam in range(10, strip.shape[1], 10):
        np.testing.assert_array_equal(strip[:, seam - 1], strip[:, seam])
