"""Inputs for a smoke run of the filter notebook when the upstream stages have not run.

Under DVC the filter stage always reads the split, score, caption and vtss stages' tables. A smoke
run (``koala notebook 06_filter --smoke`` after only the corpus stage) has none of them, so the
sample videos become one clip each and are scored and captioned here, for real, into a cache
folder. There is no VTSS model to run offline, so the VTSS table stays missing and the notebook
says so: every clip's VTSS is NaN and none passes the VTSS rule.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from koala.config import Params
from koala.io.tables import CLIPS, read_table, write_table
from koala.metrics.stage import clips_from_truth
from koala.stage import read_clips, run_saved

log = logging.getLogger(__name__)


def smoke_inputs(params: Params, *, out_dir: str | Path = "data/cache/filter_smoke", max_clips: int = 3) -> Params:
    """``params`` with the filter's input tables pointed at real ones, built here when missing.

    Tables that exist are used as they are. Missing clips, metrics or captions are made from the
    corpus's sample videos (one clip per video, at most ``max_clips``) with the score and caption
    stages' own functions.

    Raises:
        FileNotFoundError: neither the clips table nor the corpus's samples table exists.
    """
    cfg = params.filter
    out = Path(out_dir)
    clips_path, metrics_path, captions_path = Path(cfg.clips_table), Path(cfg.metrics_table), Path(cfg.captions_table)
    if not all(p.is_file() for p in (clips_path, metrics_path, captions_path)):
        if clips_path.is_file():
            clips = read_table(clips_path)
        else:
            samples = Path(params.corpus.samples.table)
            if not samples.is_file():
                raise FileNotFoundError(f"{clips_path} and {samples} are missing: run the corpus stage first (koala corpus samples)")
            clips = clips_from_truth(read_table(samples))
        log.warning("smoke run: the upstream tables are incomplete, so %d clips are scored and captioned into %s",
                    min(len(clips), max_clips), out)
        clips_path, metrics_path, captions_path = out / "clips.parquet", out / "metrics.parquet", out / "captions.parquet"
        write_table(clips.head(max_clips)[CLIPS.names], clips_path, CLIPS)
        run_saved("score", read_clips(clips_path), params, out=metrics_path, errors=out / "score_errors.parquet")
        run_saved("caption", read_clips(clips_path, scored=metrics_path), params, out=captions_path,
                  errors=out / "caption_errors.parquet")
    vtss_path = Path(cfg.vtss_table)
    if not vtss_path.is_file():
        vtss_path = out / "vtss.parquet"  # never written: the notebook runs with missing_vtss_ok
    return dataclasses.replace(params, filter=dataclasses.replace(
        cfg, clips_table=str(clips_path), metrics_table=str(metrics_path), captions_table=str(captions_path),
        vtss_table=str(vtss_path), release_csv=str(out / "koala.csv"), filtered_table=str(out / "filtered.parquet")))
