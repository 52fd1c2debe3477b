"""Tables and figures of the score stage's report: the paper's Table 7, distributions, extreme examples."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from koala.io.video import read_all
from koala.metrics.registry import METRIC_NAMES, load_all

# Table 7 of the paper (App. D; docs/koala36m-paper.md §3): correlations between the release's sub-metrics over
# its 48M clips. Pearson from two secondary sources that agree; Spearman from one (S2).
PAPER_TABLE7 = {
    ("clarity_score", "aesthetic_score"): (0.3774, 0.3732),
    ("clarity_score", "motion_score"): (-0.4028, -0.4324),
    ("motion_score", "aesthetic_score"): (-0.2515, -0.2347),
}


def correlation_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """Pearson and Spearman of each Table 7 pair on our clips, next to the paper's values.

    A pair with fewer than 3 clips where both are known (e.g. aesthetic without weights) is NaN,
    and ``n`` says how many clips it used.
    """
    rows = []
    for (a, b), (p_pearson, p_spearman) in PAPER_TABLE7.items():
        both = metrics[[a, b]].dropna()
        ok = len(both) >= 3 and both[a].nunique() > 1 and both[b].nunique() > 1
        rows.append({
            "pair": f"({a.removesuffix('_score')}, {b.removesuffix('_score')})",
            "n": len(both),
            "pearson": stats.pearsonr(both[a], both[b])[0] if ok else np.nan,
            "paper_pearson": p_pearson,
            "spearman": stats.spearmanr(both[a], both[b])[0] if ok else np.nan,
            "paper_spearman": p_spearman,
        })
    return pd.DataFrame(rows)


def table7_json(metrics: pd.DataFrame) -> dict:
    """Table 7 as flat numbers for the stage's metrics JSON (None where it cannot be computed)."""
    out = {}
    for r in correlation_table(metrics).itertuples():
        key = r.pair.strip("()").replace(", ", "_")
        out[f"pearson_{key}"] = None if np.isnan(r.pearson) else round(float(r.pearson), 4)
        out[f"spearman_{key}"] = None if np.isnan(r.spearman) else round(float(r.spearman), 4)
    return out


def distributions(metrics: pd.DataFrame) -> plt.Figure:
    """One histogram per metric, titled with its unit; metrics that are all NaN say so."""
    specs = load_all()
    fig, axes = plt.subplots(4, 4, figsize=(13, 10))
    for ax, name in zip(axes.flat, METRIC_NAMES):
        spec = specs[name][0]
        vals = metrics[name].dropna()
        if len(vals):
            ax.hist(vals, bins=min(20, max(5, len(vals) // 2)), color="C0")
        else:
            ax.text(0.5, 0.5, "all NaN\n(see nan_reasons)", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(spec.unit, fontsize=7)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig


def middle_frame(row, *, height: int = 120) -> np.ndarray | None:
    """The middle frame of a clip (a clips-table row), small."""
    mid = int((row.start_frame + row.end_frame - 1) // 2)
    try:
        return read_all(row.video, height=height, start=mid, end=mid + 1)[0]
    except Exception:  # a figure is no place to fail the stage; the errors table has the reason
        return None


def extremes(metrics: pd.DataFrame, clips: pd.DataFrame, *, names=METRIC_NAMES, height: int = 110) -> plt.Figure:
    """For each metric, the middle frame of its lowest- and highest-scoring clip."""
    merged = metrics.merge(clips[["clip_id", "video", "start_frame", "end_frame"]], on="clip_id")
    names = [n for n in names if merged[n].nunique() >= 2]  # all NaN or all equal: nothing to show
    fig, axes = plt.subplots(len(names), 2, figsize=(6, 1.6 * len(names)), squeeze=False)
    for r, name in enumerate(names):
        ranked = merged.dropna(subset=[name]).sort_values(name)
        for c, row in enumerate((ranked.iloc[0], ranked.iloc[-1])):
            ax = axes[r, c]
            frame = middle_frame(row, height=height)
            if frame is not None:
                ax.imshow(frame)
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_title(f"{'low' if c == 0 else 'high'} {name} = {row[name]:.3g}\n{row.clip_id}", fontsize=7)
    fig.tight_layout()
    return fig


def timing_summary(timings: pd.DataFrame) -> pd.DataFrame:
    """Median ms per clip of each metric and of the shared steps (flow, global motion)."""
    cols = [c for c in timings.columns if c != "clip_id"]
    med = timings[cols].median().sort_values(ascending=False)
    return med.rename("median ms per clip").to_frame().round(2)
