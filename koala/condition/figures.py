"""Figures of the condition stage: sample strips and asked-vs-measured motion."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def grid(clips: np.ndarray, rows: pd.DataFrame | None = None, *, asked=None, title: str = ""):
    """A strip per asked motion: ``clips`` (L, T, H, W, 3), one row per level, frames left to right.

    Rows are labelled "asked -> measured" from ``rows`` (the sweep table of these clips), or
    with the asked values alone from ``asked``.
    """
    n, t = clips.shape[:2]
    fig, axes = plt.subplots(n, 1, figsize=(t * 0.8, n * 0.85), squeeze=False)
    for i in range(n):
        ax = axes[i, 0]
        ax.imshow(np.concatenate(list(clips[i]), axis=1), interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        if rows is not None and len(rows) == n:
            r = rows.iloc[i]
            ax.set_ylabel(f"{r['asked']:.1f}\n→{r['motion_score']:.1f}", rotation=0, ha="right", va="center", fontsize=7)
        elif asked is not None:
            ax.set_ylabel(f"{float(asked[i]):.1f}", rotation=0, ha="right", va="center", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    plt.close(fig)
    return fig


def sweep_plot(sweep: pd.DataFrame):
    """Measured vs asked motion, one line per (caption, seed) sweep, one panel per variant (log axes)."""
    variants = list(dict.fromkeys(sweep["variant"]))
    fig, axes = plt.subplots(1, len(variants), figsize=(4.2 * len(variants), 3.6), squeeze=False, sharey=True)
    lo = max(1e-2, float(np.nanmin(sweep[["asked", "motion_score"]].to_numpy())) * 0.8)
    hi = float(np.nanmax(sweep[["asked", "motion_score"]].to_numpy())) * 1.2
    for ax, v in zip(axes[0], variants):
        for _, g in sweep[sweep["variant"] == v].groupby(["prompt", "seed"]):
            ax.plot(g["asked"], g["motion_score"].clip(lower=lo), marker="o", ms=3, alpha=0.7)
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8, label="measured = asked")
        ax.set(xscale="log", yscale="log", xlim=(lo, hi), ylim=(lo, hi), title=v, xlabel="asked motion_score")
        ax.legend(fontsize=7)
    axes[0, 0].set_ylabel("measured motion_score of the generated clip")
    fig.tight_layout()
    plt.close(fig)
    return fig


def drift_plot(summary: dict, drift_metrics: tuple[str, ...]):
    """Drift of each other metric along the motion sweep, per variant (lower = better decoupled)."""
    variants = list(summary["variants"])
    x = np.arange(len(drift_metrics))
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    w = 0.8 / max(1, len(variants))
    for i, v in enumerate(variants):
        ax.bar(x + i * w, [summary["variants"][v].get(f"drift_{m}", np.nan) for m in drift_metrics], w, label=v)
    ax.set_xticks(x + w * (len(variants) - 1) / 2, drift_metrics, fontsize=8)
    ax.set_ylabel("std along sweep / std of training windows")
    ax.legend()
    fig.tight_layout()
    plt.close(fig)
    return fig


def window_motion(windows: pd.DataFrame):
    """Measured motion of the training windows by source-frame step (0: a repeated frame), log scale."""
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(6, 3.2))
    data = windows.assign(motion=windows["motion_score"].clip(lower=0.01))
    sns.boxplot(data=data, x="stride", y="motion", ax=ax, color="#9ecae1")
    ax.set(yscale="log", xlabel="source frames between window frames (0 = still)", ylabel="motion_score (window)")
    fig.tight_layout()
    plt.close(fig)
    return fig
