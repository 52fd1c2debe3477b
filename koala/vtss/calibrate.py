"""Calibration of the trained TSA's raw output to the 1-5 label scale, and the keep/reject shares at a threshold.

The TSA is trained with MSE + (1 - PLCC), so its raw output orders clips well but sits on no fixed
scale: a clean clip can come out at 3. The paper filters at a VTSS threshold (2.5 in Table 1's
curation), so the scale matters. An isotonic regression (scikit-learn ``IsotonicRegression``:
monotone, so it never changes the order of two clips and leaves SRCC as it was) maps raw output to
the proxy labels' scale, fitted on predictions for *held-out* sources only (each fold's model on its
own test sources), so the map reflects how the model scores footage it has not seen.

``cross_fitted`` gives honest held-out numbers: each fold's predictions are calibrated by a map
fitted on the other folds' predictions only, so no clip calibrates its own score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression

from koala.vtss.labels import SCORE_MAX, SCORE_MIN

KEEP_THRESHOLD = 2.5  # the paper's VTSS filter threshold (docs/koala36m-paper.md §2.4; Table 1's curation keeps VTSS >= 2.5)
DAMAGED_SEVERITY = 2  # ours: a proxy clip with total severity >= 2 is "damaged" (should be rejected)
# A second reading of "damaged" is reported beside it (issue 17): a clip whose proxy label is under the threshold,
# the damage a perfect scorer of these labels rejects at 2.5 (:func:`damaged_below`; severity >= 3 with labels
# 5-4-3-2-1, where severity 2 is labelled 3.0 and so *kept* by a perfect scorer).


def damaged_below(severity_labels, threshold: float = KEEP_THRESHOLD) -> int:
    """The smallest total severity whose proxy label (``vtss.proxy.severity_labels``) is under ``threshold``.

    Raises:
        ValueError: no label is under the threshold (nothing would be damaged).
    """
    lab = np.asarray(severity_labels, np.float64)
    below = np.flatnonzero(lab < threshold)
    if not len(below):
        raise ValueError(f"no proxy label in {list(lab)} is under {threshold}: no severity counts as damaged")
    return int(below[0])


@dataclass(frozen=True)
class Calibration:
    """A monotone piecewise-linear map raw -> 1-5 (the isotonic fit's thresholds); constant beyond its ends."""

    x: tuple[float, ...]
    y: tuple[float, ...]

    def __post_init__(self):
        x, y = np.asarray(self.x, float), np.asarray(self.y, float)
        if len(x) == 0 or len(x) != len(y) or (np.diff(x) < 0).any() or (np.diff(y) < 0).any():
            raise ValueError("a calibration needs equally many ascending x and non-decreasing y values")

    def __call__(self, raw) -> np.ndarray:
        return np.interp(np.asarray(raw, np.float64), self.x, self.y)

    def to_dict(self) -> dict:
        return {"kind": "isotonic", "x": list(self.x), "y": list(self.y)}

    @classmethod
    def from_dict(cls, d: dict | None) -> "Calibration | None":
        if not d:
            return None
        return cls(x=tuple(float(v) for v in d["x"]), y=tuple(float(v) for v in d["y"]))


def fit_calibration(raw, labels) -> Calibration:
    """Isotonic map from raw predictions to labels (NaN pairs dropped), bounded to 1-5.

    Raises:
        ValueError: fewer than two usable pairs.
    """
    raw, labels = np.asarray(raw, np.float64), np.asarray(labels, np.float64)
    ok = np.isfinite(raw) & np.isfinite(labels)
    if ok.sum() < 2:
        raise ValueError(f"calibration needs at least 2 predictions with labels, got {int(ok.sum())}")
    iso = IsotonicRegression(y_min=SCORE_MIN, y_max=SCORE_MAX, increasing=True, out_of_bounds="clip")
    iso.fit(raw[ok], labels[ok])
    return Calibration(x=tuple(float(v) for v in iso.X_thresholds_), y=tuple(float(v) for v in iso.y_thresholds_))


def cross_fitted(raw, labels, groups) -> np.ndarray:
    """Each group's predictions calibrated by a map fitted on every other group's (NaN when only one group)."""
    raw, labels, groups = np.asarray(raw, np.float64), np.asarray(labels, np.float64), np.asarray(groups)
    out = np.full(len(raw), np.nan)
    for g in pd.unique(groups):
        mine = groups == g
        if (~mine).sum() >= 2:
            out[mine] = fit_calibration(raw[~mine], labels[~mine])(raw[mine])
    return out


def keep_reject(scores, severity, *, threshold: float = KEEP_THRESHOLD, damaged: int = DAMAGED_SEVERITY) -> dict:
    """Share of clean clips (severity 0) kept (score >= threshold) and of damaged ones (severity >= damaged) rejected.

    NaN (with n = 0) when a group is empty; NaN scores are left out.
    """
    scores, severity = np.asarray(scores, np.float64), np.asarray(severity, np.float64)
    ok = np.isfinite(scores)
    clean, bad = ok & (severity == 0), ok & (severity >= damaged)
    return {"threshold": float(threshold), "damaged_severity": int(damaged),
            "clean_n": int(clean.sum()), "damaged_n": int(bad.sum()),
            "clean_kept": float(np.mean(scores[clean] >= threshold)) if clean.any() else math.nan,
            "damaged_rejected": float(np.mean(scores[bad] < threshold)) if bad.any() else math.nan,
            "clean_mean": float(np.mean(scores[clean])) if clean.any() else math.nan,
            "clean_min": float(np.min(scores[clean])) if clean.any() else math.nan}


def separation(scores, severity, *, kept: float = 0.95, damaged: int = DAMAGED_SEVERITY) -> dict:
    """How well the scores *order* clean clips (severity 0) above damaged ones (severity >= ``damaged``), whatever the scale.

    ``auc``: the chance that a clean clip scores above a damaged one (ties count half; scikit-learn
    ``roc_auc_score``). ``damaged_rejected_at_kept``: the share of damaged clips below the threshold that
    keeps ``kept`` of the clean ones (their ``1 - kept`` quantile): the most any monotone calibration of these
    scores could reject while keeping that share, so a model whose value here is under the target cannot meet
    the keep/reject targets by calibration alone. NaN (with n = 0) when a group is empty.
    """
    from sklearn.metrics import roc_auc_score

    scores, severity = np.asarray(scores, np.float64), np.asarray(severity, np.float64)
    ok = np.isfinite(scores)
    clean, bad = scores[ok & (severity == 0)], scores[ok & (severity >= damaged)]
    out = {"kept": float(kept), "clean_n": int(len(clean)), "damaged_n": int(len(bad)), "auc": math.nan,
           "damaged_rejected_at_kept": math.nan}
    if len(clean) and len(bad):
        out["auc"] = float(roc_auc_score(np.r_[np.ones(len(clean)), np.zeros(len(bad))], np.r_[clean, bad]))
        out["damaged_rejected_at_kept"] = float(np.mean(bad < np.quantile(clean, 1.0 - kept)))
    return out
