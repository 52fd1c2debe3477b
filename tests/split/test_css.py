"""The paper's CSS rule, piece by piece, on hand-made frames and against the released libraries."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage.metrics import structural_similarity

from koala.config import CssConfig
from koala.split import css

CFG = CssConfig()


def test_histograms_leave_out_pure_black_and_white():
    frames = np.zeros((3, 256, 256, 3), np.uint8)
    frames[1] = 1
    frames[2] = 254
    frames[2, :10] = 255  # pure white pixels are not counted
    h = css.frame_features(frames).hist.reshape(3, 3, 254)
    assert h[0].sum() == 0
    assert h[1, :, 0].tolist() == [256 * 256] * 3 and h[1, :, 1:].sum() == 0
    assert h[2, :, -1].tolist() == [256 * 246] * 3


def test_frames_are_resized_to_256_and_edges_to_128():
    frame = np.zeros((1, 90, 160, 3), np.uint8)
    frame[:, :, 80:] = 200  # a vertical step
    f = css.frame_features(frame)
    assert f.edges.shape == (1, 128, 128)
    resized = cv2.resize(frame[0], (256, 256))
    assert f.hist.shape == (1, 762)
    assert f.hist.sum() == ((resized > 0) & (resized < 255)).sum()


def test_edge_map_is_max_of_grey_and_canny():
    frame = np.full((1, 256, 256, 3), 60, np.uint8)
    frame[0, :, 128:] = 120
    e = css.frame_features(frame).edges[0]
    grey = cv2.resize(cv2.cvtColor(cv2.resize(frame[0], (256, 256)), cv2.COLOR_RGB2GRAY), (128, 128))
    assert np.array_equal(e, np.maximum(grey, cv2.Canny(grey, 100, 200)))
    assert (e == 255).any(), "the step must give Canny edges"
    assert set(np.unique(e[:, :40])) == {60}


def test_hist_correlation_matches_opencv():
    rng = np.random.default_rng(0)
    a = rng.random((5, 762)).astype(np.float32) * 100
    b = (a + rng.random((5, 762)).astype(np.float32) * 50).astype(np.float32)
    ours = css.hist_correlation(a.astype(np.float64), b.astype(np.float64))
    ref = [cv2.compareHist(a[i], b[i], cv2.HISTCMP_CORREL) for i in range(5)]
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6)


def test_hist_correlation_of_flat_histograms_is_one_as_opencv():
    z = np.zeros((1, 762), np.float32)
    assert cv2.compareHist(z, z, cv2.HISTCMP_CORREL) == 1.0
    assert css.hist_correlation(z.astype(np.float64), z.astype(np.float64))[0] == 1.0


@pytest.mark.parametrize("seed", [0, 1])
def test_ssim_matches_skimage(seed):
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.integers(0, 256, (16, 16)).astype(np.uint8), (128, 128))
    imgs = np.stack([np.clip(base.astype(int) + rng.integers(-40, 40, base.shape), 0, 255).astype(np.uint8) for _ in range(5)])
    ref = [structural_similarity(imgs[i], imgs[i + 1], data_range=255) for i in range(4)]
    np.testing.assert_allclose(css.ssim_consecutive(imgs), ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(css.ssim_pairs(imgs[:-1], imgs[1:]), ref, rtol=0, atol=1e-12)


def _reference_features(frames):
    """The released per-frame calls, one frame at a time (cv2 resize, calcHist, grey, Canny)."""
    hists, edges = [], []
    for f in frames:
        r = cv2.resize(f, (256, 256))
        hists.append(np.concatenate([cv2.calcHist([r], [c], None, [254], [1, 255]).ravel() for c in range(3)]))
        g = cv2.resize(cv2.cvtColor(r, cv2.COLOR_RGB2GRAY), (128, 128))
        edges.append(np.maximum(g, cv2.Canny(g, 100, 200)))
    return np.array(hists), np.array(edges)


@pytest.mark.parametrize("size", [(256, 256), (90, 160)])
def test_chunk_features_equal_the_per_frame_calls(size):
    rng = np.random.default_rng(3)
    small = rng.integers(0, 256, (6, 12, 12, 3)).astype(np.uint8)
    frames = np.stack([cv2.resize(f, size[::-1], interpolation=cv2.INTER_CUBIC) for f in small])
    frames[2] = np.clip(frames[2].astype(int) + rng.integers(-60, 60, frames[2].shape), 0, 255)
    hist, edges = _reference_features(frames)
    f = css.frame_features(frames)
    assert np.array_equal(f.hist, hist) and np.array_equal(f.edges, edges)
    assert (edges == 255).any(), "the frames must give Canny edges"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ssim_on_noise_flat_patches_and_edge_maps_matches_skimage(seed):
    """Window-sum SSIM against skimage where cancellation is worst: flat areas, saturated edges."""
    rng = np.random.default_rng(seed)
    imgs = rng.integers(0, 256, (6, 128, 128)).astype(np.uint8)
    imgs[:, :40] = imgs[0, 0, 0]  # flat in every image: zero variance windows
    imgs[1:3, 60:90, 20:100] = 255  # saturated, like Canny's edge pixels
    imgs[4] = imgs[3]  # an identical pair: SSIM exactly 1 up to rounding
    ref = [structural_similarity(imgs[i], imgs[i + 1], data_range=255) for i in range(5)]
    np.testing.assert_allclose(css.ssim_consecutive(imgs), ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(css.ssim_pairs(imgs[::-1][:-1], imgs[::-1][1:]), ref[::-1], rtol=0, atol=1e-12)
    assert css.ssim_consecutive(imgs)[3] == pytest.approx(1.0, abs=1e-14)


def test_ssim_rejects_non_uint8_images():
    with pytest.raises(ValueError, match="uint8"):
        css.ssim_consecutive(np.zeros((3, 128, 128)))


def test_pair_stream_over_chunks_equals_one_pass():
    """Chunked pair features (the last frame carried over, scratch reused) equal one whole-video pass."""
    rng = np.random.default_rng(5)
    small = rng.integers(0, 256, (11, 8, 8, 3)).astype(np.uint8)
    frames = np.stack([cv2.resize(f, (256, 256), interpolation=cv2.INTER_CUBIC) for f in small])
    whole = css.frame_features(frames)
    stream = css.PairStream()
    parts = [stream.push(css.frame_features(frames[a:b])) for a, b in ((0, 5), (5, 6), (6, 6), (6, 11))]
    bgr = np.concatenate([p[0] for p in parts])
    ssim = np.concatenate([p[1] for p in parts])
    np.testing.assert_array_equal(bgr, css.hist_correlation(whole.hist[:-1], whole.hist[1:]))
    np.testing.assert_allclose(ssim, css.ssim_consecutive(whole.edges), rtol=0, atol=1e-15)
    assert len(ssim) == 10
    late = css.PairStream()
    late.push(css.frame_features(frames[:5]), 0)
    with pytest.raises(RuntimeError, match="expected frame 5, got 6"):
        late.push(css.frame_features(frames[6:]), 6)


def test_svm_weights_are_the_released_ones():
    # Identical frames: bgr = ssim = 1.
    assert css.svm_score(np.array([1.0]), np.array([1.0]))[0] == pytest.approx(4.61480465 + 3.75211168 - 5.485968377115124, abs=1e-15)
    assert css.svm_score(np.array([0.5]), np.array([0.2]))[0] == pytest.approx(4.61480465 * 0.5 + 3.75211168 * 0.2 - 5.485968377115124)


def test_smooth3_leaves_the_ends():
    x = np.array([0.0, 3.0, 6.0, 0.0, 9.0])
    np.testing.assert_allclose(css.smooth3(x), [0.0, 3.0, 3.0, 5.0, 9.0])
    np.testing.assert_allclose(css.smooth3(np.array([1.0, 2.0])), [1.0, 2.0])


def test_trimmed_window_keeps_five_of_eight():
    w = np.array([9.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, -9.0])
    mu, sd = css.trimmed_mu_std(w, 0.2)  # sorted: -9 1 2 3 4 5 6 9 -> keeps 1..5
    assert mu == pytest.approx(3.0) and sd == pytest.approx(np.std([1, 2, 3, 4, 5]))


def test_hard_cut_when_score_below_zero():
    svm = np.full(20, 2.0)
    svm[5] = -0.1
    mask = css.cut_mask(svm, CFG)
    assert mask.tolist() == [i in (5, 20) for i in range(21)], "pair 5 and the always-marked last frame"


def test_temporal_test_uses_the_sigma_floor():
    # History flat at 1.2 (sigma 0 -> floor 0.2): the threshold is 1.2 - 3 * 0.2 = 0.6, not 1.2.
    # Pairs 15 and 16 at d put the 3-tap mean at index 15 at (1.2 + 2d) / 3 (below the 0.75 gate)
    # and only one low value (index 14) in its window, which the 20 % trim drops.
    def run(d):
        svm = np.full(30, 1.2)
        svm[15] = svm[16] = d
        return css.cut_mask(svm, CFG)[15]

    assert run(0.3 - 0.015)  # mean 0.59 < 0.6
    assert not run(0.3 + 0.015)  # mean 0.61: a cut without the floor, not with it


def test_temporal_test_needs_the_gate_and_eight_previous_pairs():
    svm = np.full(30, 1.5)
    svm[14:17] = 0.8  # a big relative drop, but the smoothed score stays above the 0.75 gate
    assert not css.cut_mask(svm, CFG)[15]
    early = np.full(30, 1.0)
    early[4:7] = 0.05  # below the gate and far below its neighbours, but before pair 8
    assert not css.cut_mask(early, CFG)[5]


def test_clips_are_runs_longer_than_8_eroded_by_4():
    mask = np.zeros(40, bool)
    mask[[9, 18, 39]] = True  # runs: 0-8 (9 frames), 10-17 (8 frames), 19-38 (20 frames)
    assert css.clips_from_mask(mask, CFG) == [(4, 5), (23, 35)]


def test_spans_follow_the_truth_convention():
    mask = np.zeros(12, bool)
    mask[[3, 6, 7, 11]] = True
    assert css.spans_from_mask(mask) == [(3, 4), (6, 8)]


def test_detector_reproduces_the_released_per_frame_loop(two_shots):
    """Golden check: the vectorised, streamed features equal the released code's per-pair calls.

    The reference below restates the released loop (cv2 resize of each full frame, calcHist,
    compareHist, skimage SSIM) in the test; tolerance 1e-9.
    """
    from koala.config import SplitConfig
    from koala.io.video import probe, read_all
    from koala.split.css_detector import CssDetector

    path, _ = two_shots
    cfg = SplitConfig(css=CssConfig(exact_resize=True))
    feats = CssDetector(cfg).features(path, probe(path))
    frames = read_all(path)[..., ::-1]  # BGR, as cv2 decodes
    ref, prev = [], None
    for f in frames:
        r = cv2.resize(f, (256, 256))
        h = np.asarray([cv2.calcHist([c], [0], None, [254], [1, 255]) for c in cv2.split(r)])
        g = cv2.resize(cv2.cvtColor(r, cv2.COLOR_BGR2GRAY), (128, 128))
        e = np.maximum(g, cv2.Canny(g, 100, 200))
        if prev is not None:
            b = cv2.compareHist(prev[0], h, cv2.HISTCMP_CORREL)
            s = structural_similarity(prev[1], e, data_range=255)
            ref.append(4.61480465 * b + 3.75211168 * s - 5.485968377115124)
        prev = (h, e)
    np.testing.assert_allclose(feats["svm"], ref, rtol=0, atol=1e-9)
