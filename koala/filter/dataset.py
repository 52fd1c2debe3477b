"""Table 1: Koala-36M next to earlier text-video datasets, plus rows for the dataset this pipeline made.

The published rows are the paper's (docs/koala36m-paper.md §3 Table 1). Our rows are computed from the filter
table (the joined clips, captions and scores with the kept flag): number of clips, total hours,
mean caption words, how the text was made and how clips were filtered, and the median source
height. Three rows mirror the paper's 48M -> 37M (manual) / 36M (VTSS) story: the unfiltered pool,
what the manual thresholds keep, and what the chosen rule keeps.

Pure functions over DataFrames; no I/O.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Paper Table 1 (docs/koala36m-paper.md §3): #videos, ATL = average text length (words), TVL = total video length (hours).
PAPER_TABLE1 = pd.DataFrame(
    [
        ("LSMDC", "118K", 7.0, "158", "Manual", "Sub-metrics", "1080p"),
        ("DiDeMo", "27K", 8.0, "87", "Manual", "Sub-metrics", "–"),
        ("YouCook2", "14K", 8.8, "176", "Manual", "Sub-metrics", "–"),
        ("ActivityNet", "100K", 13.5, "849", "Manual", "Sub-metrics", "–"),
        ("MSR-VTT", "10K", 9.3, "40", "Manual", "Sub-metrics", "240p"),
        ("VATEX", "41K", 15.2, "~115", "Manual", "Sub-metrics", "–"),
        ("WebVid-10M", "10M", 12.0, "52K", "Alt-Text", "Sub-metrics", "360p"),
        ("HowTo100M", "136M", 4.0, "135K", "ASR", "Sub-metrics", "240p"),
        ("HD-VILA-100M", "103M", 17.6, "760.3K", "ASR", "Sub-metrics", "720p"),
        ("VidGen-1M", "1M", 89.3, "–", "Generated", "Sub-metrics", "720p"),
        ("MiraData", "330K", 318.0, "16K", "Generated & Struct", "Sub-metrics", "720p"),
        ("Panda-70M", "70M", 13.2, "167K", "Generated", "Sub-metrics", "720p"),
        ("Koala-36M", "36M", 202.1, "172K", "Generated & Struct", "Expert Model", "720p"),
    ],
    columns=["dataset", "videos", "atl_words", "tvl_hours", "text", "filtering", "resolution"],
)

TEXT_KIND = {"measured": "Measured & Struct", "vlm": "Generated & Struct"}  # caption backend -> Table 1 "Text"


def caption_words(captions: pd.Series) -> pd.Series:
    """Words per caption (whitespace-separated, as "words" are counted for ATL); NaN for a missing caption."""
    words = [len(c.split()) if isinstance(c, str) and c.strip() else np.nan for c in captions]
    return pd.Series(words, index=captions.index, dtype=float)


def humanise(n: float) -> str:
    """A count the way Table 1 writes it: 36M, 118K, 47."""
    if not np.isfinite(n):
        return "–"
    for div, suffix in ((1e6, "M"), (1e3, "K")):
        if n >= div:
            return f"{n / div:.3g}{suffix}"
    return f"{int(n)}"


def dataset_row(table: pd.DataFrame, name: str, filtering: str, *, resolution: str = "–") -> dict:
    """One Table 1 row for the clips of ``table`` (columns start_sec, end_sec, caption, backend).

    Args:
        table: the clips the row describes (e.g. the kept ones).
        name: the row's dataset name.
        filtering: how these clips were chosen (Table 1's "Filtering" column).
        resolution: the row's resolution, e.g. "720p".
    """
    words = caption_words(table["caption"]) if "caption" in table.columns else pd.Series(dtype=float)
    hours = float((table["end_sec"] - table["start_sec"]).clip(lower=0).sum() / 3600) if len(table) else 0.0
    backends = sorted(set(table["backend"].dropna().astype(str))) if "backend" in table.columns else []
    text = " / ".join(TEXT_KIND.get(b, b) for b in backends) or "–"
    return {
        "dataset": name,
        "videos": humanise(len(table)),
        "atl_words": round(float(words.mean()), 1) if words.notna().any() else np.nan,
        "tvl_hours": f"{hours:.3f}",
        "text": text,
        "filtering": filtering,
        "resolution": resolution,
        "n_clips": int(len(table)),
        "hours": hours,
        "mean_clip_sec": float((table["end_sec"] - table["start_sec"]).mean()) if len(table) else np.nan,
        "captioned": int(words.notna().sum()),
    }


def resolution_label(heights: pd.Series) -> str:
    """The median source height as "720p" ("–" when unknown)."""
    h = pd.to_numeric(heights, errors="coerce").dropna()
    return f"{int(h.median())}p" if len(h) else "–"


def table1(filtered: pd.DataFrame, *, rule_label: str, name: str = "koala sample") -> pd.DataFrame:
    """The paper's Table 1 with our three rows appended: pool, manual thresholds, the chosen rule.

    Args:
        filtered: the filter table (every clip, with ``kept``, ``manual_kept``, ``start_sec``,
            ``end_sec``, ``caption``, ``backend`` and, when known, ``source_height``).
        rule_label: how the chosen rule filtered, e.g. "Expert Model (VTSS >= 2.43, valley)".
        name: prefix of our rows' names.
    """
    def res(t: pd.DataFrame) -> str:
        return resolution_label(t["source_height"]) if "source_height" in t.columns else "–"

    ours = [
        dataset_row(filtered, f"{name}: pool (unfiltered)", "None", resolution=res(filtered)),
        dataset_row(filtered[filtered["manual_kept"]], f"{name}: manual thresholds", "Sub-metrics (manual)",
                    resolution=res(filtered[filtered["manual_kept"]])),
        dataset_row(filtered[filtered["kept"]], f"{name}: kept", rule_label, resolution=res(filtered[filtered["kept"]])),
    ]
    paper = PAPER_TABLE1.assign(source="paper")
    return pd.concat([paper, pd.DataFrame(ours).assign(source="ours")], ignore_index=True)
