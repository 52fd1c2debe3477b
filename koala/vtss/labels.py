"""Human labels for VTSS: the paper's bias removal (App. B) and the per-annotator files of the annotation notebook.

Each clip is scored 1-5 by several experts (8 in the paper). Two biases are removed (docs/koala36m-paper.md §2.4):
*individual preference* (one annotator scores everything higher or spreads scores wider) by
z-scoring each annotator's scores and mapping them back to the global mean and standard deviation
of all scores; *label fluctuation* by averaging the annotators of a clip. The paper gives no exact
formula; this is the direct reading: ``g_mean + g_std * (s - a_mean) / a_std``, then the mean per clip.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

SCORE_MIN, SCORE_MAX = 1.0, 5.0  # paper Fig. 3: "Label: 1~5"


def aggregate(scores: pd.DataFrame, *, clip: bool = True) -> pd.DataFrame:
    """Bias-corrected label per clip from raw annotations.

    Args:
        scores: one row per (annotator, clip_id) with a ``score`` on 1-5.
        clip: clip the result to 1-5 (the rescaling can push an extreme annotator outside).

    Returns:
        One row per clip_id: ``label`` (mean of the rescaled scores), ``label_raw_mean``,
        ``n_annotators`` and ``label_std`` (spread of the rescaled scores: the fluctuation averaged away).

    Raises:
        ValueError: missing columns, or a score outside 1-5.
    """
    missing = {"annotator", "clip_id", "score"} - set(scores.columns)
    if missing:
        raise ValueError(f"annotations lack columns {sorted(missing)} (need annotator, clip_id, score)")
    s = scores.dropna(subset=["score"]).copy()
    bad = s[(s["score"] < SCORE_MIN) | (s["score"] > SCORE_MAX)]
    if len(bad):
        raise ValueError(f"{len(bad)} scores outside {SCORE_MIN}-{SCORE_MAX}, e.g. {bad.iloc[0].to_dict()}")
    s = s.groupby(["annotator", "clip_id"], as_index=False)["score"].mean()  # a clip scored twice counts once
    g_mean, g_std = s["score"].mean(), s["score"].std(ddof=0)
    by = s.groupby("annotator")["score"]
    a_mean, a_std = by.transform("mean"), by.transform(lambda x: x.std(ddof=0))
    # An annotator who gave one value to everything carries no preference information: keep the global mean.
    z = np.where(a_std > 0, (s["score"] - a_mean) / a_std.where(a_std > 0, 1.0), 0.0)
    s["rescaled"] = g_mean + (g_std if g_std > 0 else 0.0) * z
    out = s.groupby("clip_id").agg(label=("rescaled", "mean"), label_raw_mean=("score", "mean"),
                                   n_annotators=("annotator", "nunique"), label_std=("rescaled", lambda x: x.std(ddof=0)))
    if clip:
        out["label"] = out["label"].clip(SCORE_MIN, SCORE_MAX)
    return out.reset_index()


def annotation_path(folder: str | Path, annotator: str) -> Path:
    """One JSON-lines file per annotator, so people can label at once without sharing a file.

    Raises:
        ValueError: an empty annotator name or one that is not a plain file name.
    """
    name = annotator.strip()
    if not name or Path(name).name != name or name.startswith("."):
        raise ValueError(f"annotator name {annotator!r} must be a plain non-empty name (it names a file)")
    return Path(folder) / f"{name}.jsonl"


def record_score(folder: str | Path, annotator: str, clip_id: str, score: float, *, note: str = "") -> Path:
    """Append one score to the annotator's file (the latest score of a clip wins when read back).

    Raises:
        ValueError: a score outside 1-5.
    """
    if not SCORE_MIN <= float(score) <= SCORE_MAX:
        raise ValueError(f"score {score} is outside {SCORE_MIN}-{SCORE_MAX}")
    path = annotation_path(folder, annotator)
    path.parent.mkdir(parents=True, exist_ok=True)
    rec = {"annotator": annotator.strip(), "clip_id": clip_id, "score": float(score), "note": note,
           "time": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    with path.open("a") as f:
        f.write(json.dumps(rec) + "\n")
    return path


def read_annotations(folder: str | Path) -> pd.DataFrame:
    """Every annotator's latest score per clip: annotator, clip_id, score, note, time.

    Raises:
        ValueError: a line that is not a JSON record (names the file and line).
    """
    rows = []
    for path in sorted(Path(folder).glob("*.jsonl")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{n}: not a JSON annotation record ({exc})") from None
    cols = ["annotator", "clip_id", "score", "note", "time"]
    if not rows:
        return pd.DataFrame(columns=cols)
    df = pd.DataFrame(rows)
    return df.groupby(["annotator", "clip_id"], as_index=False).last()[cols]


def aggregate_folder(folder: str | Path) -> pd.DataFrame:
    """:func:`aggregate` over every annotator file in ``folder`` (`koala vtss labels`).

    Raises:
        FileNotFoundError: no such folder.
        ValueError: a line that is not a JSON record.
    """
    if not Path(folder).is_dir():
        raise FileNotFoundError(f"{folder}: no such folder of annotation files (the annotate notebook writes them)")
    return aggregate(read_annotations(folder))
