"""Scoring detections against ground truth: boundary P/R/F1, dirty clips, the paper's Table 3.

Conventions (issue #3): a transition is an inclusive frame span; a hard cut between frames k-1
and k is (k-1, k). A detected span matches a true one when they overlap once each is widened by
``tolerance`` frames (2), one to one (Hungarian assignment on the distance between centres, so
one long detection cannot claim two transitions). The paper's unit of evaluation is a clip
labelled "contains a transition?" (Table 3, docs/koala36m-paper.md §3); we score fixed windows of the benchmark
videos the same way (see :func:`window_table`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

Span = tuple[int, int]


def overlaps(a: Span, b: Span, tolerance: int) -> bool:
    """Whether spans a and b (inclusive) overlap once widened by ``tolerance`` frames."""
    return a[0] - tolerance <= b[1] and b[0] - tolerance <= a[1]


def match(pred: Sequence[Span], truth: Sequence[Span], tolerance: int = 2) -> list[tuple[int, int]]:
    """One-to-one matches (pred index, truth index) among overlapping pairs.

    Maximises the number of matches first, then prefers pairs whose centres are closer.
    """
    if not len(pred) or not len(truth):
        return []
    big = 1e6
    cost = np.full((len(pred), len(truth)), big)
    for i, p in enumerate(pred):
        for j, t in enumerate(truth):
            if overlaps(p, t, tolerance):
                cost[i, j] = abs((p[0] + p[1]) - (t[0] + t[1])) / 2.0
    rows, cols = linear_sum_assignment(cost)
    return [(int(i), int(j)) for i, j in zip(rows, cols) if cost[i, j] < big]


def prf(tp: int, n_pred: int, n_true: int) -> dict:
    """Precision, recall and F1; NaN where undefined (nothing predicted / nothing true)."""
    p = tp / n_pred if n_pred else float("nan")
    r = tp / n_true if n_true else float("nan")
    f = 2 * p * r / (p + r) if n_pred and n_true and (p + r) > 0 else (0.0 if n_pred and n_true else float("nan"))
    return {"precision": p, "recall": r, "f1": f}


def boundary_table(videos: pd.DataFrame, detections: dict[str, list[Span]], *, tolerance: int = 2) -> pd.DataFrame:
    """One row per true transition (matched or missed) and per unmatched detection.

    Columns: video_id, type (truth type, or "false_positive"), first, last (truth or
    detection span), detected (bool), pred_first, pred_last.
    """
    rows = []
    for vid, truth in zip(videos["video_id"], videos["truth"]):
        if vid not in detections:
            continue
        tlist = list(truth) if truth is not None else []
        tspans = [(int(t["first_frame"]), int(t["last_frame"])) for t in tlist]
        pred = detections[vid]
        pairs = dict((j, i) for i, j in match(pred, tspans, tolerance))
        for j, t in enumerate(tlist):
            i = pairs.get(j)
            rows.append({"video_id": vid, "type": t["type"], "first": tspans[j][0], "last": tspans[j][1], "detected": i is not None,
                         "pred_first": pred[i][0] if i is not None else -1, "pred_last": pred[i][1] if i is not None else -1})
        used = set(pairs.values())
        for i, p in enumerate(pred):
            if i not in used:
                rows.append({"video_id": vid, "type": "false_positive", "first": p[0], "last": p[1], "detected": False, "pred_first": p[0], "pred_last": p[1]})
    return pd.DataFrame(rows, columns=["video_id", "type", "first", "last", "detected", "pred_first", "pred_last"])


def boundary_metrics(table: pd.DataFrame) -> dict:
    """P/R/F1 over all transitions, recall per type and for gradual ones, false positives."""
    true = table[table["type"] != "false_positive"]
    tp = int(true["detected"].sum())
    fp = int((table["type"] == "false_positive").sum())
    out = {"transitions": int(len(true)), "detected": tp, "false_positives": fp, **prf(tp, tp + fp, len(true))}
    gradual = true[true["type"] != "cut"]
    out["recall_gradual"] = float(gradual["detected"].mean()) if len(gradual) else float("nan")
    out["recall_by_type"] = {str(k): float(v) for k, v in true.groupby("type")["detected"].mean().items()}
    return out


def clip_holds_transition(clip: Span, truth: Sequence[Span], tolerance: int = 2) -> bool:
    """Whether clip [start, end) still holds a transition.

    A hard cut (k-1, k) counts when the clip has both frames; a gradual span counts when more
    than ``tolerance`` of its mixed frames are inside the clip (its first and last frames are
    nearly pure, and detections may be off by the matching tolerance).
    """
    s, e = clip
    for first, last in truth:
        if last - first == 1:  # hard cut
            if s <= first and e > last:
                return True
        elif min(e - 1, last) - max(s, first) + 1 > tolerance:
            return True
    return False


def dirty_clip_share(videos: pd.DataFrame, clips: pd.DataFrame, *, tolerance: int = 2) -> dict:
    """Share of output clips that still hold a true transition."""
    truth = {vid: [(int(t["first_frame"]), int(t["last_frame"])) for t in (tr if tr is not None else [])]
             for vid, tr in zip(videos["video_id"], videos["truth"])}
    dirty = [clip_holds_transition((s, e), truth.get(v, []), tolerance) for v, s, e in zip(clips["video_id"], clips["start_frame"], clips["end_frame"])]
    n = len(dirty)
    return {"clips": n, "dirty_clips": int(sum(dirty)), "dirty_share": float(np.mean(dirty)) if n else float("nan")}


def _truth_spans(videos: pd.DataFrame) -> dict[str, list[Span]]:
    return {str(vid): [(int(t["first_frame"]), int(t["last_frame"])) for t in (tr if tr is not None else [])]
            for vid, tr in zip(videos["video_id"], videos["truth"])}


def frame_masks(truth: Sequence[Span], num_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """(transition frames, cut boundaries) of one video, as boolean arrays.

    ``mixed[i]``: frame i belongs to a gradual transition (its truth span lists exactly its mixed
    frames). ``cut[k]``: a hard cut lies between frames k - 1 and k (the span (k - 1, k), whose two
    frames are pure).
    """
    mixed = np.zeros(num_frames, dtype=bool)
    cut = np.zeros(num_frames + 1, dtype=bool)
    for first, last in truth:
        if last - first == 1:
            if 0 < last <= num_frames:
                cut[last] = True
        else:
            mixed[max(first, 0) : min(last + 1, num_frames)] = True
    return mixed, cut


def clip_purity(videos: pd.DataFrame, clips: pd.DataFrame) -> dict:
    """Yield and the impure-clip share of a method's clips, against the truth (no tolerance).

    A clip is impure when it holds any mixed frame of a gradual transition or both frames of a
    hard cut. Yield is the share of the videos' non-transition frames that end up in a pure clip:
    what a perfect splitter keeps (every frame outside a transition, a cut costing none). Both are
    summed over every video of ``videos`` that has clips or none (a video with no clip yields 0).

    Args:
        videos: any videos table with ``video_id``, ``num_frames`` and ``truth``.
        clips: a CLIPS table (``video_id``, ``start_frame``, ``end_frame`` exclusive).

    Returns:
        {"clips", "impure_clips", "impure_share", "clean_frames", "kept_clean_frames", "yield"};
        shares are NaN when there is nothing to divide by.
    """
    truth = _truth_spans(videos)
    by_video = {str(v): g for v, g in clips.groupby(clips["video_id"].astype(str))} if len(clips) else {}
    n_clips = impure = clean = kept = 0
    for vid, n in zip(videos["video_id"].astype(str), videos["num_frames"]):
        n = int(n)
        mixed, cut = frame_masks(truth.get(vid, []), n)
        clean += int((~mixed).sum())
        g = by_video.get(vid)
        if g is None or not len(g):
            continue
        s = np.clip(g["start_frame"].to_numpy(np.int64), 0, n)
        e = np.clip(g["end_frame"].to_numpy(np.int64), 0, n)
        cm = np.r_[0, np.cumsum(mixed)]  # mixed frames before index i
        cc = np.cumsum(cut)  # cut boundaries at index <= i
        has_mixed = cm[e] - cm[s] > 0
        has_cut = (cc[np.maximum(e - 1, s)] - cc[s]) > 0  # a cut boundary k with s < k < e
        bad = has_mixed | has_cut
        n_clips += len(g)
        impure += int(bad.sum())
        # frames of pure clips (overlapping clips counted once)
        covered = np.zeros(n + 1, dtype=np.int64)
        np.add.at(covered, s[~bad], 1)
        np.add.at(covered, e[~bad], -1)
        kept += int(((np.cumsum(covered)[:n] > 0) & ~mixed).sum())
    return {
        "clips": n_clips, "impure_clips": impure, "impure_share": impure / n_clips if n_clips else float("nan"),
        "clean_frames": clean, "kept_clean_frames": kept, "yield": kept / clean if clean else float("nan"),
    }


def window_table(videos: pd.DataFrame, detections: dict[str, list[Span]], *, window: int) -> pd.DataFrame:
    """The paper's clip-level test, on fixed windows of ``window`` frames (stride = window).

    A window is positive when a true transition lies wholly inside it, negative when none
    touches it; windows cut through a transition are left out (the paper's annotators labelled
    whole clips). It is predicted positive when a detection's centre lies inside it.
    """
    rows = []
    for vid, truth, n in zip(videos["video_id"], videos["truth"], videos["num_frames"]):
        if vid not in detections:
            continue
        tspans = [(int(t["first_frame"]), int(t["last_frame"])) for t in (truth if truth is not None else [])]
        for s in range(0, int(n) - window + 1, window):
            e = s + window - 1
            inside = any(s <= a and b <= e for a, b in tspans)
            touching = any(a <= e and b >= s for a, b in tspans)
            if touching and not inside:
                continue
            pred = any(s <= (a + b) / 2 <= e for a, b in detections[vid])
            rows.append({"video_id": vid, "start": s, "label": inside, "pred": pred})
    return pd.DataFrame(rows, columns=["video_id", "start", "label", "pred"])


def paper_metrics(windows: pd.DataFrame) -> dict:
    """Accuracy, recall and precision of the clip-level test (Table 3's columns)."""
    y, p = windows["label"].astype(bool), windows["pred"].astype(bool)
    tp = int((y & p).sum())
    return {
        "windows": int(len(windows)),
        "positives": int(y.sum()),
        "accuracy": float((y == p).mean()) if len(windows) else float("nan"),
        "recall": tp / int(y.sum()) if y.sum() else float("nan"),
        "precision": tp / int(p.sum()) if p.sum() else float("nan"),
    }
