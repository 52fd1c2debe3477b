"""Figures for the stage reports (matplotlib); each takes tables, returns a Figure."""

from __future__ import annotations


import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from koala.io.video import read_all


def _frames_at(path: str, indices: list[int], height: int) -> dict[int, np.ndarray]:
    """Decode only up to the last wanted frame and keep the wanted ones."""
    wanted = sorted(set(int(i) for i in indices if i >= 0))
    if not wanted:
        return {}
    frames = read_all(path, height=height, end=wanted[-1] + 1)
    return {i: frames[i] for i in wanted if i < len(frames)}


def poster_grid(videos: pd.DataFrame, *, height: int = 120, label_col: str | None = None) -> plt.Figure:
    """First, middle and last frame of each video, one row per video."""
    n = len(videos)
    fig, axes = plt.subplots(n, 3, figsize=(9, 1.9 * n), squeeze=False)
    for r, row in enumerate(videos.itertuples()):
        idx = [0, row.num_frames // 2, row.num_frames - 1]
        got = _frames_at(row.path, idx, height)
        for c, i in enumerate(idx):
            ax = axes[r, c]
            if i in got:
                ax.imshow(got[i])
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_title(f"frame {i}", fontsize=8)
        label = f"  label {getattr(row, label_col):.2f}" if label_col else ""
        axes[r, 0].set_ylabel(f"{row.video_id}{label}", fontsize=8, rotation=0, ha="right", va="center")
    fig.tight_layout()
    return fig


def transition_strip(path: str, first: int, last: int, *, height: int = 90, max_frames: int = 8, title: str = "") -> plt.Figure:
    """Frames from one before to one after a transition, evenly spaced."""
    idx = np.unique(np.linspace(first - 1, last + 1, num=min(max_frames, last - first + 3)).round().astype(int))
    got = _frames_at(path, list(idx), height)
    fig, axes = plt.subplots(1, len(idx), figsize=(1.6 * len(idx), 1.3), squeeze=False)
    for ax, i in zip(axes[0], idx):
        if i in got:
            ax.imshow(got[i])
        inside = first <= i <= last
        ax.set_title(f"{i}{' *' if inside else ''}", fontsize=7, color="C3" if inside else "k")
        ax.set_xticks([]), ax.set_yticks([])
    fig.suptitle(title, fontsize=8, x=0.01, ha="left")
    fig.tight_layout()
    return fig


def duration_histogram(transitions: pd.DataFrame, *, lo: float, hi: float) -> plt.Figure:
    """Gradual-transition durations by type, with the asked-for range drawn."""
    grad = transitions[transitions["type"] != "cut"]
    fig, ax = plt.subplots(figsize=(6, 3))
    if len(grad):
        sns.histplot(grad, x="seconds", hue="type", multiple="stack", bins=12, ax=ax)
    for x in (lo, hi):
        ax.axvline(x, color="k", ls="--", lw=1)
    ax.set_xlabel("gradual transition duration (s)")
    ax.set_title("benchmark transitions; dashed: the configured 0.3-1.2 s range", fontsize=9)
    fig.tight_layout()
    return fig


def label_counts(shots: pd.DataFrame, columns: list[str]) -> plt.Figure:
    """How many shots carry each value of each truth label (unlabelled shown as such)."""
    fig, axes = plt.subplots(1, len(columns), figsize=(3.2 * len(columns), 2.6), squeeze=False)
    for ax, col in zip(axes[0], columns):
        counts = shots[col].astype("string").fillna("unlabelled").value_counts().sort_index()
        ax.barh(counts.index.astype(str), counts.values, color="C0")
        ax.set_title(col, fontsize=9)
        ax.set_xlabel("shots", fontsize=8)
        ax.tick_params(labelsize=8)
    fig.tight_layout()
    return fig


def piece_durations(pieces: pd.DataFrame, *, fps: float) -> plt.Figure:
    """Durations of the real pieces in each long video (log scale)."""
    fig, ax = plt.subplots(figsize=(6, 3))
    if len(pieces):
        secs = (pieces["end_frame"] - pieces["start_frame"]) / fps
        sns.histplot(x=secs, hue=pieces["video_id"], bins=np.geomspace(max(secs.min(), 0.05), secs.max() + 1e-6, 20),
                     element="step", ax=ax)
        ax.set_xscale("log")
    ax.set_xlabel("piece duration (s), between transitions")
    ax.set_title("long edited videos: pure piece lengths", fontsize=9)
    fig.tight_layout()
    return fig
