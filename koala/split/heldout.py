"""A held-out real edit for the splitter (issue 18): only sources no split setting was trained or tuned on.

The real corpus's hand-checked shots are divided BY SOURCE: ``split.heldout.sources`` (a fixed list)
are never trained on (``koala split-train`` leaves them out) and never tuned on; an edit is built from
their shots alone with the long-video recipe (:mod:`koala.corpus.long`: real pieces joined by cuts,
dissolves, fades, wipes and slides, exact truth, 720p), and every method is scored on it. Because the
edit holds nothing else, both sides of every transition come from held-out sources.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pandas as pd

from koala.config import LongConfig, Params, SplitConfig
from koala.corpus import long as L
from koala.io.tables import VIDEOS, read_table, write_table

log = logging.getLogger(__name__)


def heldout_shots(shots: pd.DataFrame, sources: tuple[str, ...]) -> pd.DataFrame:
    """The single shots (kind ``shot``) of the held-out sources."""
    return shots[(shots["kind"] == "shot") & shots["source"].isin(sources)].reset_index(drop=True)


def training_shots(shots: pd.DataFrame, sources: tuple[str, ...]) -> pd.DataFrame:
    """The single shots of every other source: what ``koala split-train`` may use."""
    return shots[(shots["kind"] == "shot") & ~shots["source"].isin(sources)].reset_index(drop=True)


def heldout_videos(cfg: SplitConfig, long_cfg: LongConfig | None = None) -> pd.DataFrame:
    """The held-out edit's VIDEOS table (with truth), rendered on first use and reused after.

    Args:
        cfg: the split section (``cfg.heldout`` names the sources, length, seed and folder).
        long_cfg: size, rate, transition lengths and mix (default: the corpus stage's long videos').

    Raises:
        FileNotFoundError: the real shots table is missing (run the corpus stage).
    """
    h = cfg.heldout
    out = Path(h.out_dir)
    table = out / "videos.parquet"
    long_cfg = dataclasses.replace(long_cfg or LongConfig(), seed=h.seed, minutes=(h.minutes,), out_dir=str(out))
    shots_path = Path(h.shots_table)
    if not shots_path.exists():
        raise FileNotFoundError(f"{shots_path}: no real shots table; run `koala corpus real` first")
    pool = heldout_shots(pd.read_parquet(shots_path), h.sources)
    missing = sorted(set(h.sources) - set(pool["source"]))
    if missing:
        log.warning("split.heldout: no shots of %s in %s", ", ".join(missing), shots_path)
    items = L.long_items(pool, long_cfg)
    for it in items:
        it["key"] = f"heldout_{it['key']}"
        it["out"] = str(out / f"{it['key']}.mp4")
    key = repr([(it["key"], it["plan"]["truth"], [p["shot_id"] for p in it["plan"]["pieces"]]) for it in items])
    stamp = out / "plan.txt"
    if table.exists() and stamp.exists() and stamp.read_text() == key and all(Path(it["out"]).exists() for it in items):
        return read_table(table, VIDEOS)
    out.mkdir(parents=True, exist_ok=True)
    rows = [getattr(r, "rows", r) for r in (L.render_long(it) for it in items)]
    videos = pd.DataFrame(rows)
    videos["source"] = "split_heldout"
    write_table(videos, table, VIDEOS)
    stamp.write_text(key)
    return read_table(table, VIDEOS)


def heldout_metrics(params: Params, methods: tuple[str, ...] | list[str]) -> dict:
    """Every method scored on the held-out edit, plus what the edit holds (sources, transitions by type).

    Returns:
        {"sources", "videos", "frames", "transitions", "transitions_by_type", "methods": {method: metrics}}
        (:func:`koala.split.stage.evaluate_method`'s numbers per method).
    """
    from koala.split.stage import evaluate_videos

    cfg = params.split
    videos = heldout_videos(cfg, params.corpus.long)
    types = pd.Series([t["type"] for truth in videos["truth"] for t in truth])
    return {
        "sources": list(cfg.heldout.sources),
        "videos": int(len(videos)),
        "frames": int(videos["num_frames"].sum()),
        "transitions": int(len(types)),
        "transitions_by_type": {str(k): int(v) for k, v in types.value_counts().sort_index().items()},
        "methods": evaluate_videos(videos, methods, cfg=cfg, params=params),
    }
