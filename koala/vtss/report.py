"""Figures and tables of the VTSS notebook (numbers come from the stage's outputs, never typed in)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from koala.vtss.proxy import load_tensors


def proxy_counts(proxy: pd.DataFrame) -> pd.DataFrame:
    """Proxy clips per label and per source (a check that every label level is populated)."""
    return pd.crosstab(proxy["source"], proxy["label_proxy"], margins=True)


def paper_table(records: list[dict], index: str) -> pd.DataFrame | str:
    """Table 5 or 6 as the stage summary holds it (``index``: "configuration" or "model"), or a sentence
    saying why it has no row (``vtss.train.variants`` trained none of its variants)."""
    if not records:
        return (f"No row in this run: `vtss.train.variants` holds none of this table's variants "
                "(add them with `dvc exp run -S 'vtss.train.variants=[...]'`).")
    return pd.DataFrame(records).set_index(index).drop(columns="variant").round(4)


def proxy_examples(proxy: pd.DataFrame, *, source: str | None = None) -> plt.Figure:
    """The middle static frame of one source's clean clip and of each degradation at its worst severity."""
    src = source or sorted(proxy["source"].unique())[0]
    rows = proxy[(proxy["source"] == src) & (proxy["window"] == 0) & ~proxy["degradations"].str.contains(r"\+")]
    rows = rows.sort_values("severity").groupby(rows["degradations"].str.rstrip("0123456789"), sort=False).tail(1)
    _, frames = load_tensors(rows)
    n = len(rows)
    cols = min(5, n)
    fig, axes = plt.subplots(int(np.ceil(n / cols)), cols, figsize=(2.6 * cols, 2.8 * np.ceil(n / cols)), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (_, r), f in zip(axes.flat, rows.iterrows(), frames):
        ax.imshow(f[len(f) // 2])
        ax.set_title(f"{r['degradations']}\nproxy label {r['label_proxy']:.0f}", fontsize=9)
    fig.suptitle(f"proxy clips of {src} (static-branch view)")
    fig.tight_layout()
    return fig


def heldout_scatter(predictions: pd.DataFrame, variants: list[str]) -> plt.Figure:
    """Held-out predictions (linearly rescaled, as evaluated) against the proxy labels, one panel per variant."""
    from koala.vtss.train import linear_rescale

    variants = [v for v in variants if v in set(predictions["variant"])]
    fig, axes = plt.subplots(1, len(variants), figsize=(3.2 * len(variants), 3.2), squeeze=False, sharey=True)
    for ax, v in zip(axes[0], variants):
        d = predictions[predictions["variant"] == v]
        r = linear_rescale(d["pred"].to_numpy(), d["label_proxy"].to_numpy())
        jitter = np.random.default_rng(0).uniform(-0.12, 0.12, len(d))
        ax.scatter(d["label_proxy"] + jitter, r, s=10, alpha=0.7)
        ax.plot([1, 5], [1, 5], color="grey", lw=0.8)
        ax.set_title(v)
        ax.set_xlabel("proxy label")
    axes[0, 0].set_ylabel("prediction (rescaled)")
    fig.tight_layout()
    return fig


def error_by_degradation(predictions: pd.DataFrame, variant: str) -> pd.DataFrame:
    """Mean absolute error (after the rescale) per kind of degradation: which flaws the model misses."""
    from koala.vtss.train import linear_rescale

    d = predictions[predictions["variant"] == variant].copy()
    d["rescaled"] = linear_rescale(d["pred"].to_numpy(), d["label_proxy"].to_numpy())
    d["kind"] = d["degradations"].str.replace(r"\d", "", regex=True)
    d["abs_error"] = (d["rescaled"] - d["label_proxy"]).abs()
    return d.groupby("kind").agg(clips=("abs_error", "size"), mae=("abs_error", "mean")).sort_values("mae")


def training_curves(runs_dir: str | Path) -> plt.Figure:
    """Training loss per epoch of every variant (history.csv of each run)."""
    fig, ax = plt.subplots(figsize=(5, 3))
    for h in sorted(Path(runs_dir).glob("*/*/history.csv")):
        d = pd.read_csv(h)
        ax.plot(d["epoch"], d["loss"], label=f"{h.parent.parent.name}/{h.parent.name}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE + (1 - PLCC)")
    ax.legend(fontsize=7)
    sns.despine(fig)
    fig.tight_layout()
    return fig


def training_lines(summary: dict, *, metrics_json: str) -> list[str]:
    """What `koala vtss train` prints: each variant's held-out proxy agreement and keep/reject shares at 2.5."""
    lines = []
    for v, m in summary["results"].items():
        lines.append(f"{v:>11}: proxy PLCC {m['plcc']:.3f}  SRCC {m['srcc']:.3f}  KRCC {m['krcc']:.3f}  RMSE {m['rmse']:.3f}  (n={m['n']})")
        kr = summary.get("keep_reject", {}).get(v, {})
        if kr.get("calibrated"):
            c, below = kr["calibrated"], kr.get("calibrated_label_below")
            lines.append(f"{'':>11}  at 2.5 (calibrated, held out): clean kept {c['clean_kept']:.1%}, damaged rejected "
                         f"{c['damaged_rejected']:.1%}" + (f" (proxy label under 2.5: {below['damaged_rejected']:.1%})" if below else ""))
    lines.append(f"five real clips: Spearman {summary['real_clips']['srcc']:.2f} (n=5); model {summary['model_path']}; summary {metrics_json}")
    return lines
