"""Fig. 5's point checked on clips with human labels: which good clips does each rule drop?

The paper's Fig. 5 shows high-quality clips that manual thresholds wrongly delete. The five real
sample clips carry the release's human VTSS labels (corpus stage, ``sample_labels.parquet``), so for
their clips both rules can be put beside what the annotators' score says (label >= the fixed 2.5:
suitable). Five labels are an illustration, not a measurement.
"""

from __future__ import annotations

import pandas as pd


def label_check(filtered: pd.DataFrame, labels: pd.DataFrame, *, cut: float = 2.5) -> pd.DataFrame:
    """The labelled clips with their label, what the label says, and each rule's decision.

    Args:
        filtered: the filter table (video_id, clip_id, vtss, vtss_kept, manual_kept, manual_reason).
        labels: per video, ``vtss_label`` on the 1-5 scale (the LABELS schema).
        cut: label at or above which a clip counts as suitable (paper §4.3.2: 2.5).

    Returns:
        One row per clip of a labelled video, with ``label_keep`` and ``vtss_agrees`` /
        ``manual_agrees`` (NaN-free booleans; a NaN VTSS is a drop, as the filter treats it).
    """
    keep = ["clip_id", "video_id", "vtss", "vtss_kept", "manual_kept", "manual_reason"]
    t = filtered[keep].merge(labels[["video_id", "vtss_label"]], on="video_id", how="inner")
    t["label_keep"] = t["vtss_label"] >= cut
    t["vtss_agrees"] = t["vtss_kept"] == t["label_keep"]
    t["manual_agrees"] = t["manual_kept"] == t["label_keep"]
    return t.sort_values("vtss_label", ascending=False).reset_index(drop=True)
