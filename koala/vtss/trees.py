"""A tree ensemble on the sub-metrics: the ``label_trees`` variant (issue 17; not in the paper).

The label-only MLP learns a smooth function of sixteen robustly scaled sub-metrics from a few
hundred proxy clips. The damage the proxy set applies moves one or two sub-metrics each, past a
level that depends on the kind (a noise estimate, a border share, a frozen share): axis-aligned
splits express that directly. Extremely randomised trees (scikit-learn ``ExtraTreesRegressor``)
fit on the same inputs as the label branch (the standardised metrics and their missing mask), and
measured leave-source-out over 13 folds they order held-out clips better than the MLP.

The ``label_kinds`` variant (issue 17, ours) fits the same trees to a richer target: the severity of each
damage kind in the clip (:func:`koala.vtss.pretrain.kind_targets`, nine columns: ``blur3+text1`` is 3 for blur, 1
for text, 0 elsewhere), one multi-output ensemble whose splits serve every kind, so a split learns which
sub-metric moves with which damage instead of only with the total. The clip's score is the sum of the
predicted severities read through the label table (``vtss.proxy.severity_labels``, piecewise linear):
the label is a function of the total severity, so summing per-kind estimates is the label's own form.
Measured leave-source-out over 13 folds (docs/experiments.md) it orders held-out clips better than
the trees fitted to the label directly.

The fitted trees are kept as plain arrays (children, feature, threshold, value per node), saved in
the model file as tensors and evaluated here in numpy: loading needs no pickle, and the model
behaves like a TSA to :func:`koala.vtss.train.predict_draws` (``spec``, ``eval``, ``to``, a call on
``metrics`` and ``mask``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.ensemble import ExtraTreesRegressor

from koala.config import VtssTsaSize
from koala.vtss.tsa import TsaSpec

TREES_VARIANT = "label_trees"
KINDS_VARIANT = "label_kinds"  # the same trees fitted to each damage kind's severity; score = label of their sum
TREE_VARIANTS = (TREES_VARIANT, KINDS_VARIANT)
TREES_CLIP = 1e6  # the trees see the standardised metrics unbounded (MetricScaler.clip): a noise estimate 13 IQRs
# above the median is a split away from one 5 IQRs above (measured, 13 folds: PLCC 0.58 unbounded, 0.53 clipped at 5)


@dataclass(frozen=True)
class TreeArrays:
    """Every tree of the ensemble, concatenated: node arrays and where each tree starts."""

    left: np.ndarray  # (nodes,) int64: left child (global index), -1 at a leaf
    right: np.ndarray  # (nodes,) int64
    feature: np.ndarray  # (nodes,) int64
    threshold: np.ndarray  # (nodes,) float64: go left when x[feature] <= threshold
    value: np.ndarray  # (nodes,) float64: the leaf's prediction
    roots: np.ndarray  # (trees,) int64

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(N, F) -> (N,): the mean over trees of each row's leaf value."""
        x = np.asarray(x, np.float32).astype(np.float64)  # scikit-learn's trees compare float32 inputs
        rows = np.arange(len(x))
        node = np.repeat(self.roots[None], len(x), 0)  # (N, trees)
        while True:
            inner = self.left[node] >= 0
            if not inner.any():
                break
            go_left = x[rows[:, None], self.feature[node]] <= self.threshold[node]
            nxt = np.where(go_left, self.left[node], self.right[node])
            node = np.where(inner, nxt, node)
        return self.value[node].mean(1)

    def to_tensors(self) -> dict[str, torch.Tensor]:
        return {k: torch.from_numpy(np.ascontiguousarray(getattr(self, k))) for k in
                ("left", "right", "feature", "threshold", "value", "roots")}

    @classmethod
    def from_tensors(cls, d: dict) -> "TreeArrays":
        return cls(**{k: d[k].numpy() for k in ("left", "right", "feature", "threshold", "value", "roots")})

    @classmethod
    def from_sklearn(cls, model: ExtraTreesRegressor) -> "TreeArrays":
        """The ensemble's nodes; a multi-output ensemble keeps the *sum* of its outputs per node (the mean over
        trees of the sums is the sum of the per-output means, so :meth:`predict` gives the summed prediction)."""
        parts, roots, offset = [], [], 0
        for est in model.estimators_:
            t = est.tree_
            leaf = t.children_left < 0
            parts.append((np.where(leaf, -1, t.children_left + offset), np.where(leaf, -1, t.children_right + offset),
                          np.where(leaf, 0, t.feature), np.where(leaf, 0.0, t.threshold), t.value[:, :, 0].sum(1)))
            roots.append(offset)
            offset += t.node_count
        cat = [np.concatenate([p[i] for p in parts]) for i in range(5)]
        return cls(left=cat[0].astype(np.int64), right=cat[1].astype(np.int64), feature=cat[2].astype(np.int64),
                   threshold=cat[3].astype(np.float64), value=cat[4].astype(np.float64),
                   roots=np.asarray(roots, np.int64))


def severity_to_label(total: np.ndarray, severity_labels: tuple[float, ...]) -> np.ndarray:
    """Total severity (any real >= 0) -> label: ``severity_labels`` at 0, 1, 2, ..., linear between, constant beyond."""
    lab = np.asarray(severity_labels, np.float64)
    return np.interp(np.asarray(total, np.float64), np.arange(len(lab), dtype=np.float64), lab)


class TreeTsa:
    """The tree ensemble with a TSA's calling convention (label branch only).

    ``severity_labels``: None for ``label_trees`` (the trees predict the label); for ``label_kinds`` the label
    table the summed kind severities are read through (:func:`severity_to_label`).
    """

    def __init__(self, trees: TreeArrays, size: VtssTsaSize, n_metrics: int,
                 severity_labels: tuple[float, ...] | None = None):
        self.trees = trees
        self.severity_labels = None if severity_labels is None else tuple(float(v) for v in severity_labels)
        self.spec = TsaSpec(size=size, n_metrics=n_metrics, branches=("label",), fusion="cat")

    def eval(self) -> "TreeTsa":
        return self

    def to(self, device) -> "TreeTsa":
        return self

    def __call__(self, fragments=None, frames=None, metrics=None, mask=None) -> torch.Tensor:
        """(B, M) standardised metrics and (B, M) missing mask -> (B,) scores on the label scale."""
        x = torch.cat([metrics, mask], -1).double().cpu().numpy()
        out = self.trees.predict(x)
        if self.severity_labels is not None:
            out = severity_to_label(out, self.severity_labels)
        return torch.from_numpy(out)


def fit_trees(z: np.ndarray, mask: np.ndarray, labels: np.ndarray, *, size: VtssTsaSize, n_trees: int = 300,
              min_samples_leaf: int = 3, seed: int = 0, severity_labels: tuple[float, ...] | None = None) -> TreeTsa:
    """Fit the ensemble on standardised metrics ``z`` (N, M), their missing ``mask`` (N, M) and targets.

    ``labels``: (N,) labels on 1-5 (``label_trees``), or (N, K) severities per damage kind with ``severity_labels``
    the label table (``label_kinds``: the model then scores ``severity_to_label`` of the summed predictions).

    Raises:
        ValueError: no training clip, or kind severities without a label table (or the reverse).
    """
    labels = np.asarray(labels, np.float64)
    if len(labels) == 0:
        raise ValueError("no training clip for the tree model")
    if (labels.ndim == 2) != (severity_labels is not None):
        raise ValueError("per-kind severities (N, K) need severity_labels, and labels (N,) take none")
    x = np.concatenate([z, mask], 1)
    model = ExtraTreesRegressor(n_estimators=n_trees, min_samples_leaf=min_samples_leaf, random_state=seed, n_jobs=1)
    model.fit(x, labels)
    return TreeTsa(TreeArrays.from_sklearn(model), size, z.shape[1], severity_labels)
