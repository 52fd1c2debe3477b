"""Where to cut the VTSS distribution: the paper's two-Gaussian valley, or the fixed 2.5.

Koala-36M runs its TSA network on every clip, sees that the predicted VTSS looks like a mixture of
two Gaussians (paper §4.3.2, Fig. 7) and keeps clips above the "decomposition value" between them,
2.5 on the 1-5 scale (docs/koala36m-paper.md §2.6). The rule here fits that mixture (sklearn's GaussianMixture, two
components, 1-D) to the clips' VTSS and puts the threshold at the lowest point of the mixture
density between the two means: the valley of the bimodal histogram. When the data cannot carry a
two-component fit (too few clips, one repeated value, a component that holds almost nothing, or a
mixture with no valley between its means) the rule falls back to the paper's fixed 2.5 and says
why, instead of returning a number the data do not support.

Pure functions over arrays and config objects; no I/O (issue 9's ``koala curate`` reuses them).
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import optimize, stats

from koala.config import FilterConfig

log = logging.getLogger(__name__)

RULES = ("valley", "fixed", "manual")


@dataclass(frozen=True)
class Mixture:
    """A fitted 1-D two-component Gaussian mixture, components sorted by mean (low first)."""

    means: tuple[float, float]
    stds: tuple[float, float]
    weights: tuple[float, float]

    def density(self, x: np.ndarray | float) -> np.ndarray:
        """Mixture probability density at ``x``."""
        x = np.asarray(x, dtype=float)
        return sum(w * stats.norm.pdf(x, m, s) for m, s, w in zip(self.means, self.stds, self.weights))

    def component_density(self, x: np.ndarray | float, k: int) -> np.ndarray:
        """Weighted density of component ``k`` alone (what Fig. 7 draws under the histogram)."""
        return self.weights[k] * stats.norm.pdf(np.asarray(x, dtype=float), self.means[k], self.stds[k])


@dataclass(frozen=True)
class Threshold:
    """The chosen VTSS threshold and how it was chosen.

    ``method`` is what was actually used: ``valley`` (the fitted mixture's valley), ``fixed`` (asked
    for), ``fixed_fallback`` (the valley was asked for but could not be found; ``reason`` says why)
    or ``manual`` (no VTSS threshold: the multi-threshold baseline decides).
    """

    value: float
    method: str
    rule: str
    n: int  # clips with a finite VTSS that the choice saw
    reason: str = ""
    mixture: Mixture | None = None
    fixed: float = 2.5

    def as_dict(self) -> dict:
        out = asdict(self)
        out["value"] = None if not math.isfinite(self.value) else round(self.value, 4)
        return out


def fit_mixture(values: np.ndarray, cfg: FilterConfig) -> Mixture:
    """Fit two Gaussians to 1-D ``values`` (finite only), seeded so a rerun gives the same fit."""
    from sklearn.mixture import GaussianMixture

    x = np.asarray(values, dtype=float).reshape(-1, 1)
    gm = GaussianMixture(n_components=2, covariance_type="full", n_init=cfg.gmm_n_init,
                         random_state=cfg.gmm_seed, reg_covar=cfg.gmm_reg_covar).fit(x)
    means = gm.means_.ravel()
    stds = np.sqrt(gm.covariances_.reshape(2))
    order = np.argsort(means)
    return Mixture(means=tuple(float(means[k]) for k in order), stds=tuple(float(stds[k]) for k in order),
                   weights=tuple(float(gm.weights_[k]) for k in order))


def mixture_valley(mix: Mixture) -> float | None:
    """The lowest point of the mixture density strictly between the two means, or None if there is none.

    A unimodal mixture has its density minimum between the means at one of the means themselves
    (the density only rises towards the bigger component), so "no interior minimum" is the test
    for "no valley": the histogram is not bimodal and there is nothing to cut at.
    """
    lo, hi = mix.means
    if not hi > lo:
        return None
    grid = np.linspace(lo, hi, 801)
    dens = mix.density(grid)
    k = int(np.argmin(dens))
    if k in (0, len(grid) - 1):
        return None
    # Refine between the neighbouring grid points; the density is smooth there.
    res = optimize.minimize_scalar(mix.density, bounds=(grid[k - 1], grid[k + 1]), method="bounded",
                                   options={"xatol": 1e-7})
    x = float(res.x)
    # An interior minimum that is not lower than both peaks' heights is a shoulder, not a valley.
    if not (mix.density(x) < mix.density(lo) and mix.density(x) < mix.density(hi)):
        return None
    return x


def valley_threshold(values: np.ndarray, cfg: FilterConfig) -> Threshold:
    """The paper's rule: the valley between two fitted Gaussians, or the fixed value with the reason it had to be.

    Args:
        values: VTSS per clip (NaN allowed; they are ignored).
        cfg: the filter section (``fixed_threshold``, ``min_clips``, ``min_component_weight``, GMM settings).

    Returns:
        A :class:`Threshold`; ``method`` is ``valley`` or ``fixed_fallback``.
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = int(len(x))

    def fallback(reason: str, mix: Mixture | None = None) -> Threshold:
        log.warning("VTSS threshold: %s; using the fixed %.2f (paper §4.3.2)", reason, cfg.fixed_threshold)
        return Threshold(value=cfg.fixed_threshold, method="fixed_fallback", rule="valley", n=n, reason=reason,
                         mixture=mix, fixed=cfg.fixed_threshold)

    if n < cfg.min_clips:
        return fallback(f"only {n} clips with a VTSS (a two-Gaussian fit needs at least {cfg.min_clips})")
    if np.unique(x).size < 4:
        return fallback(f"the {n} VTSS values take only {np.unique(x).size} distinct values")
    mix = fit_mixture(x, cfg)
    if min(mix.weights) < cfg.min_component_weight:
        return fallback(f"one fitted component holds only {min(mix.weights):.1%} of the clips "
                        f"(below {cfg.min_component_weight:.0%}): the distribution is not two-humped", mix)
    if min(mix.stds) < cfg.min_component_std:
        return fallback(f"one fitted component has a spread of only {min(mix.stds):.3f} (below {cfg.min_component_std:g}): "
                        "it is a pile of equal scores (a calibrated model's plateau), not a population", mix)
    valley = mixture_valley(mix)
    if valley is None:
        return fallback(f"the fitted mixture (means {mix.means[0]:.2f} and {mix.means[1]:.2f}) has no valley "
                        "between its means: the distribution is unimodal", mix)
    log.info("VTSS threshold: valley of the two-Gaussian fit at %.3f (means %.2f, %.2f; weights %.2f, %.2f; %d clips)",
             valley, *mix.means, *mix.weights, n)
    return Threshold(value=valley, method="valley", rule="valley", n=n, mixture=mix, fixed=cfg.fixed_threshold)


def choose_threshold(values: np.ndarray, cfg: FilterConfig) -> Threshold:
    """The VTSS threshold that ``cfg.rule`` asks for (the manual rule has none: NaN).

    Raises:
        ValueError: an unknown rule.
    """
    if cfg.rule not in RULES:
        raise ValueError(f"filter.rule must be one of {RULES}, not {cfg.rule!r}")
    x = np.asarray(values, dtype=float)
    n = int(np.isfinite(x).sum())
    if cfg.rule == "valley":
        return valley_threshold(x, cfg)
    if cfg.rule == "fixed":
        return Threshold(value=cfg.fixed_threshold, method="fixed", rule="fixed", n=n, fixed=cfg.fixed_threshold)
    return Threshold(value=math.nan, method="manual", rule="manual", n=n,
                     reason="the manual multi-threshold baseline decides; no VTSS threshold", fixed=cfg.fixed_threshold)


def vtss_decisions(vtss: np.ndarray, threshold: float, *, nan_reasons: list[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """Keep a clip when its VTSS reaches the threshold (the release's minimum is exactly 2.50: kept at >=).

    Args:
        vtss: per-clip VTSS (NaN where the clip has none).
        threshold: the VTSS threshold.
        nan_reasons: per clip, why its VTSS is missing (used in its rejection reason).

    Returns:
        (kept flags, rejection reason per clip: "" when kept, e.g. "vtss 2.10 < 2.43").
    """
    v = np.asarray(vtss, dtype=float)
    kept = np.isfinite(v) & (v >= threshold)
    reasons = []
    for i, x in enumerate(v):
        if not math.isfinite(x):
            why = (nan_reasons[i] if nan_reasons and nan_reasons[i] else "no VTSS for this clip")
            reasons.append(f"vtss NaN ({why})")
        elif x < threshold:
            reasons.append(f"vtss {x:.2f} < {threshold:.2f}")
        else:
            reasons.append("")
    return kept, reasons


@dataclass(frozen=True)
class MetricRule:
    """One manual threshold: ``metric`` must be >= (``min``) or <= (``max``) ``value``."""

    metric: str
    kind: str  # "min" | "max"
    value: float

    def shifted(self, shift: float, *, tighter: bool) -> "MetricRule":
        """This rule with its value moved by ``shift`` of itself, tighter (rejects more) or looser."""
        up = (self.kind == "min") == tighter
        return MetricRule(self.metric, self.kind, self.value * (1 + shift if up else 1 - shift))

    def label(self) -> str:
        return f"{self.metric} {'>=' if self.kind == 'min' else '<='} {self.value:.4g}"


def manual_rules(cfg: FilterConfig) -> list[MetricRule]:
    """The manual baseline's thresholds from ``cfg.manual`` (fields ``<metric>_min`` / ``<metric>_max``; null = unused)."""
    rules = []
    for name, value in asdict(cfg.manual).items():
        if value is None:
            continue
        metric, _, kind = name.rpartition("_")
        rules.append(MetricRule(metric, kind, float(value)))
    return rules


@dataclass
class ManualDecision:
    kept: np.ndarray  # bool per clip
    reasons: list[str]  # per clip, the thresholds it fails ("" when kept)
    skipped: list[str]  # per clip, thresholds not applied because the metric is NaN ("" when none)
    failed: dict[str, np.ndarray] = field(default_factory=dict)  # rule label -> bool per clip (failed that rule)


def manual_decisions(table, rules: list[MetricRule], *, missing: str = "skip") -> ManualDecision:
    """The manual multi-threshold baseline: a clip is kept when it passes every threshold.

    Args:
        table: a DataFrame with one column per metric named in ``rules``.
        rules: the thresholds (see :func:`manual_rules`).
        missing: what a NaN metric does: ``skip`` (that threshold is not applied to the clip, and
            ``skipped`` says so) or ``reject`` (the clip fails it).

    Raises:
        ValueError: a rule names a column the table lacks, or ``missing`` is unknown.
    """
    if missing not in ("skip", "reject"):
        raise ValueError(f"filter.manual_missing must be 'skip' or 'reject', not {missing!r}")
    absent = sorted({r.metric for r in rules if r.metric not in table.columns})
    if absent:
        raise ValueError(f"manual thresholds name metrics the table lacks: {absent}")
    n = len(table)
    kept = np.ones(n, dtype=bool)
    fails: list[list[str]] = [[] for _ in range(n)]
    skips: list[list[str]] = [[] for _ in range(n)]
    failed = {}
    for rule in rules:
        v = table[rule.metric].to_numpy(dtype=float)
        nan = ~np.isfinite(v)
        with np.errstate(invalid="ignore"):
            bad = ((v < rule.value) if rule.kind == "min" else (v > rule.value)) & ~nan
        op = "<" if rule.kind == "min" else ">"
        for i in np.flatnonzero(bad):
            fails[i].append(f"{rule.metric} {v[i]:.4g} {op} {rule.value:.4g}")
        for i in np.flatnonzero(nan):
            (fails if missing == "reject" else skips)[i].append(f"{rule.metric} NaN")
        if missing == "reject":
            bad = bad | nan
        failed[rule.label()] = bad
        kept &= ~bad
    return ManualDecision(kept=kept, reasons=["; ".join(f) for f in fails], skipped=["; ".join(s) for s in skips],
                          failed=failed)
