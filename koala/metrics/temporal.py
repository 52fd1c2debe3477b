"""Temporal stability: frozen (repeated) pictures and brightness flicker, from the sampled frames."""

from __future__ import annotations

import numpy as np

from koala.metrics.registry import MetricSpec, Unavailable, metric


def pair_differences(small: np.ndarray) -> np.ndarray:
    """(N-1,) mean absolute grey-level change between consecutive frames (N, h, w)."""
    a = small.astype(np.int16)
    return np.abs(np.diff(a, axis=0)).mean(axis=(1, 2))


def frozen_share(diffs: np.ndarray, threshold: float) -> float:
    """Share of consecutive pairs that show the same picture."""
    return float((diffs < threshold).mean())


def flicker_of(means: np.ndarray) -> float:
    """Mean absolute second difference of per-frame mean luma (grey levels).

    A fade or a slow exposure change is a straight line and leaves ~0; brightness that jumps up
    and down from sample to sample remains. Divided by 4, so brightness alternating by +-a around
    its mean reads a.
    """
    if len(means) < 3:
        raise Unavailable(f"{len(means)} sampled frame(s): flicker needs at least 3")
    second = means[2:] - 2 * means[1:-1] + means[:-2]
    return float(np.abs(second).mean() / 4.0)


@metric(MetricSpec(
    name="frozen_fraction", unit="fraction of sample pairs", lo=0.0, hi=1.0, direction="lower_better", version=1,
    description="share of consecutive sampled frames whose mean grey change is below frozen_diff",
    reference="ours; docs/koala36m-paper.md §2.4 (static clips score low)",
))
def frozen_fraction(clip, cfg) -> float:
    if clip.n < 2:
        raise Unavailable("one sampled frame: nothing to compare")
    return frozen_share(pair_differences(clip.small), cfg.frozen_diff)


@metric(MetricSpec(
    name="flicker", unit="grey levels", lo=0.0, hi=127.5, direction="lower_better", version=1,
    description="mean absolute second difference of frame brightness over the sampled frames (/4: the amplitude of an alternation)",
    reference="ours; docs/koala36m-paper.md §2.4 temporal stability",
))
def flicker(clip, cfg) -> float:
    return flicker_of(clip.small.reshape(clip.n, -1).mean(axis=1).astype(np.float64))
