"""Table 8: how errors in several manual thresholds add up.

The paper's argument for one learned score over several hand-set thresholds (App. D, docs/koala36m-paper.md §2.6):
shift one, two, three sub-metric thresholds by 10 % and count the clips whose keep/drop decision
changes against the unshifted rule: 250K, 290K, 340K of 48M. "Shifted by 10 %" does not say in
which direction, so both are counted: ``tighter`` moves every listed threshold to reject more
(a minimum up, a maximum down by 10 % of its value), ``looser`` the other way. The two sets of
flipped clips are disjoint (tighter only drops clips, looser only adds them), so ``either`` is
their sum: the clips whose decision a +-10 % error in those thresholds can flip.

Pure function over a metrics DataFrame and the config; no I/O.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from koala.config import FilterConfig
from koala.filter.threshold import MetricRule, manual_decisions, manual_rules

log = logging.getLogger(__name__)

# Paper App. D Table 8 (docs/koala36m-paper.md §3, from two secondary readings that agree): mis-filtered clips of 48M.
PAPER_TOTAL = 48_000_000
PAPER_TABLE8 = {
    ("clarity_score",): 250_000,
    ("clarity_score", "aesthetic_score"): 290_000,
    ("clarity_score", "motion_score", "aesthetic_score"): 340_000,
}


def shift_rules(rules: list[MetricRule], metrics: tuple[str, ...], shift: float, *, tighter: bool) -> list[MetricRule]:
    """``rules`` with the thresholds on ``metrics`` shifted by ``shift`` of their value; the others unchanged.

    Raises:
        ValueError: a listed metric has no manual threshold to shift.
    """
    have = {r.metric for r in rules}
    absent = [m for m in metrics if m not in have]
    if absent:
        raise ValueError(f"Table 8 shifts thresholds on {absent}, but filter.manual sets none for them")
    return [r.shifted(shift, tighter=tighter) if r.metric in metrics else r for r in rules]


def table8(metrics: pd.DataFrame, cfg: FilterConfig) -> pd.DataFrame:
    """Clips mis-filtered when the thresholds of each ``cfg.shift_sets`` row are shifted, next to the paper's Table 8.

    Args:
        metrics: one row per clip with the sub-metric columns the manual thresholds name.
        cfg: the filter section (``manual``, ``manual_missing``, ``shift``, ``shift_sets``).

    Returns:
        One row per shift set: ``shifted`` (the metrics), ``clips``, ``tighter``, ``looser``,
        ``either`` (clip counts), ``either_share``, ``all_nan`` (shifted metrics that no clip has,
        e.g. aesthetic without its weights: shifting them flips nothing), ``no_threshold`` (listed
        metrics ``filter.manual`` leaves unset: that row's counts are NaN), the paper's ``paper_misfiltered`` and
        ``paper_share`` (NaN for a row the paper does not have).
    """
    rules = manual_rules(cfg)
    base = manual_decisions(metrics, rules, missing=cfg.manual_missing).kept
    rows = []
    have = {r.metric for r in rules}
    for names in cfg.shift_sets:
        names = tuple(names)
        flips = {}
        unset = [m for m in names if m not in have]
        if unset:  # nothing to shift: say so in the row rather than fail the stage over one table
            log.warning("Table 8: no manual threshold on %s to shift (filter.manual)", ", ".join(unset))
            flips = {"tighter": np.nan, "looser": np.nan}
        for tighter in (True, False) if not unset else ():
            shifted = manual_decisions(metrics, shift_rules(rules, names, cfg.shift, tighter=tighter),
                                       missing=cfg.manual_missing).kept
            flips["tighter" if tighter else "looser"] = int((shifted != base).sum())
        unknown = [m.removesuffix("_score") for m in names if not np.isfinite(metrics[m].to_numpy(dtype=float)).any()]
        paper = PAPER_TABLE8.get(names)
        n = len(metrics)
        either = flips["tighter"] + flips["looser"]  # NaN when a listed metric has no threshold
        rows.append({
            "shifted": ", ".join(m.removesuffix("_score") for m in names),
            "n_shifted": len(names),
            "clips": n,
            "all_nan": ", ".join(unknown),  # shifted metrics with no value at all: their shift can flip nothing
            "no_threshold": ", ".join(m.removesuffix("_score") for m in unset),
            "tighter": flips["tighter"],
            "looser": flips["looser"],
            "either": either,
            "either_share": either / n if n else np.nan,
            "paper_misfiltered": paper if paper is not None else np.nan,
            "paper_share": paper / PAPER_TOTAL if paper is not None else np.nan,
        })
    return pd.DataFrame(rows)
