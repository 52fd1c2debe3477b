"""Figures of the caption report: Fig. 4 (caption lengths) and example clips with their fields."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from koala.caption.fields import word_count
from koala.io.tables import CAPTION_FIELDS
from koala.io.video import read_all

PAPER_MEAN_WORDS = 202.1  # Table 1 / Fig. 4 of the paper


def length_histogram(captions: pd.DataFrame, *, paper_mean: float = PAPER_MEAN_WORDS) -> plt.Figure:
    """Fig. 4: distribution of caption length in words, our mean beside the paper's."""
    words = captions["caption"].map(word_count).to_numpy() if len(captions) else np.zeros(0)
    fig, ax = plt.subplots(figsize=(6.5, 3))
    hi = max(paper_mean * 1.5, float(words.max()) if len(words) else 0.0)
    ax.hist(words, bins=np.linspace(0, hi, 31), color="C0", alpha=0.8, label=f"ours ({len(words)} clips)")
    if len(words):
        ax.axvline(words.mean(), color="C0", ls="--", lw=1.5, label=f"our mean {words.mean():.1f} words")
    ax.axvline(paper_mean, color="C3", ls="-", lw=1.5, label=f"Koala-36M mean {paper_mean} words (paper)")
    ax.set_xlabel("caption length (words)")
    ax.set_ylabel("clips")
    ax.legend(fontsize=8)
    ax.set_title("Fig. 4: caption length distribution", fontsize=9)
    fig.tight_layout()
    return fig


def field_lengths(captions: pd.DataFrame) -> pd.DataFrame:
    """Mean words per field and the share of clips in which each field says something."""
    rows = []
    for f in CAPTION_FIELDS:
        w = captions[f].map(word_count) if len(captions) else pd.Series(dtype=float)
        rows.append({"field": f, "mean_words": round(float(w.mean()), 1) if len(w) else np.nan,
                     "filled_share": round(float((w > 0).mean()), 2) if len(w) else np.nan})
    return pd.DataFrame(rows)


def example_frames(path: str, start: int, end: int, *, height: int = 120) -> plt.Figure:
    """First, middle and last frame of one clip."""
    idx = [start, (start + end - 1) // 2, end - 1]
    frames = read_all(path, height=height, start=start, end=end)
    fig, axes = plt.subplots(1, 3, figsize=(7.5, 1.6))
    for ax, i in zip(axes, idx):
        ax.imshow(frames[min(i - start, len(frames) - 1)])
        ax.set_xticks([]), ax.set_yticks([])
        ax.set_title(f"frame {i}", fontsize=7)
    fig.tight_layout()
    return fig
