"""Fig. 7: the VTSS histogram with the fitted Gaussians and the threshold, beside the paper's shape."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from koala.filter.threshold import Threshold

# The paper's Fig. 7 has no published numbers. This histogram was read off the paper's score
# distribution by a user in KlingAIResearch/Koala-36M issue #3 (docs/koala36m-paper.md §2.4; the thread calls it the
# label/score distribution, "Figure 6" in v1): bin centre -> relative count, approximate.
PAPER_FIG7_ESTIMATE = {
    1.1: 180, 1.3: 360, 1.5: 375, 1.7: 160, 1.9: 99, 2.1: 80, 2.3: 79, 2.5: 98, 2.7: 155, 2.9: 245,
    3.1: 330, 3.3: 395, 3.5: 390, 3.7: 365, 3.9: 475, 4.1: 687, 4.3: 800, 4.5: 500, 4.7: 130, 4.9: 10,
}


def fig7(vtss: pd.Series | np.ndarray, th: Threshold, *, bins: int = 20, paper_rule: Threshold | None = None) -> plt.Figure:
    """Left: our VTSS histogram, the two fitted components and their sum (scaled to counts), the
    chosen threshold and the fixed 2.5. Right: the paper's distribution as read off its figure,
    with ``paper_rule`` (our valley rule run on it) when given."""
    x = np.asarray(vtss, dtype=float)
    x = x[np.isfinite(x)]
    fig, (ax, axp) = plt.subplots(1, 2, figsize=(11, 3.6))
    edges = np.linspace(1.0, 5.0, bins + 1)
    if len(x):
        ax.hist(x, bins=edges, color="C0", alpha=0.6, label=f"our clips (n={len(x)})")
    else:
        ax.text(0.5, 0.5, "no finite VTSS\n(see the reasons in filtered.parquet)", ha="center", va="center", transform=ax.transAxes)
    if th.mixture is not None and len(x):
        grid = np.linspace(1.0, 5.0, 400)
        scale = len(x) * (edges[1] - edges[0])  # density -> expected count per bin
        for k, colour in ((0, "C3"), (1, "C2")):
            m = th.mixture
            ax.plot(grid, scale * m.component_density(grid, k), color=colour, lw=1.2,
                    label=f"component {k + 1}: mean {m.means[k]:.2f}, sd {m.stds[k]:.2f}, w {m.weights[k]:.2f}")
        ax.plot(grid, scale * th.mixture.density(grid), color="k", lw=1, ls=":", label="mixture")
    if th.method != "manual":
        ax.axvline(th.value, color="k", lw=1.5, label=f"threshold {th.value:.2f} ({th.method})")
    if th.method != "fixed" and th.value != th.fixed:
        ax.axvline(th.fixed, color="grey", lw=1, ls="--", label=f"paper's fixed {th.fixed:.1f}")
    ax.set_xlim(1, 5)
    ax.set_xlabel("VTSS (1-5)")
    ax.set_ylabel("clips")
    ax.set_title("ours")
    ax.legend(fontsize=7, loc="upper left")
    centres = np.array(list(PAPER_FIG7_ESTIMATE))
    axp.bar(centres, list(PAPER_FIG7_ESTIMATE.values()), width=0.19, color="C1", alpha=0.7)
    axp.axvline(2.5, color="k", lw=1.5, label="paper's threshold 2.5")
    if paper_rule is not None and paper_rule.method == "valley":
        axp.axvline(paper_rule.value, color="C3", lw=1.2, ls="--", label=f"our valley rule on it: {paper_rule.value:.2f}")
    axp.set_xlim(1, 5)
    axp.set_xlabel("VTSS (1-5)")
    axp.set_ylabel("relative count")
    axp.set_title("paper (read off its figure in issue #3; approximate)")
    axp.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def paper_fig7_values(bin_width: float = 0.2) -> np.ndarray:
    """The issue #3 reading of Fig. 7 as VTSS values: each bin's count spread evenly over the bin (deterministic).

    Lets the valley rule run on the paper's own distribution (its answer against the paper's 2.5).
    """
    parts = [c - bin_width / 2 + (np.arange(n) + 0.5) * bin_width / n for c, n in PAPER_FIG7_ESTIMATE.items()]
    return np.concatenate(parts)
