"""Figures of the split notebook: score curves against the truth, recall per type."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

TYPE_COLOURS = {"cut": "tab:red", "dissolve": "tab:purple", "fade_black": "black", "fade_white": "tab:gray", "wipe": "tab:orange", "slide": "tab:green"}


def score_curves(curves: dict[str, np.ndarray], truth: list[dict], *, title: str = "", thresholds: dict[str, float] | None = None) -> plt.Figure:
    """One panel per curve (per-boundary scores), with the true transitions shaded by type."""
    fig, axes = plt.subplots(len(curves), 1, figsize=(11, 1.9 * len(curves)), sharex=True, squeeze=False)
    for ax, (name, y) in zip(axes[:, 0], curves.items()):
        ax.plot(np.arange(1, len(y) + 1), y, lw=0.9)
        for t in truth:
            ax.axvspan(t["first_frame"], t["last_frame"] + 1, color=TYPE_COLOURS.get(t["type"], "tab:blue"), alpha=0.25, lw=0)
        if thresholds and name in thresholds:
            ax.axhline(thresholds[name], color="k", ls=":", lw=0.8)
        ax.set_ylabel(name)
    axes[-1, 0].set_xlabel("frame (boundary between frame t-1 and t)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c, alpha=0.4) for c in TYPE_COLOURS.values()]
    axes[0, 0].legend(handles, TYPE_COLOURS, ncol=6, fontsize=7, loc="lower right")
    axes[0, 0].set_title(title)
    fig.tight_layout()
    return fig


def recall_bars(recall: pd.DataFrame) -> plt.Figure:
    """Recall per transition type (groups) and method (bars)."""
    fig, ax = plt.subplots(figsize=(10, 3.2))
    recall.plot.bar(ax=ax, width=0.8)
    ax.set_ylabel("recall")
    ax.set_ylim(0, 1.05)
    ax.legend(ncol=4, fontsize=8)
    fig.tight_layout()
    return fig


def speed_lines(table: pd.DataFrame) -> plt.Figure:
    """ms/frame against resolution, one line per method, log scale."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for name, row in table.iterrows():
        ax.plot(list(row.index), row.values, marker="o", label=name, ls=":" if "floor" in name else "-")
    ax.set_yscale("log")
    ax.set_ylabel("ms per frame")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
