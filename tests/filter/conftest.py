"""Hand-made pipeline tables (clips, metrics, captions, VTSS) for the filter tests: no video decoding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from koala.metrics.registry import METRIC_NAMES


def make_tables(vtss: list[float], *, seed: int = 0) -> dict[str, pd.DataFrame]:
    """One clip per VTSS value; clip k of video k // 3 lasts 2 + k % 3 seconds; metrics pass the default manual thresholds."""
    rng = np.random.default_rng(seed)
    n = len(vtss)
    ids = [f"v{k // 3}-{k:04d}" for k in range(n)]
    start = np.array([4.0 * (k % 3) for k in range(n)])
    dur = np.array([2.0 + k % 3 for k in range(n)])
    clips = pd.DataFrame({
        "clip_id": ids, "video_id": [f"v{k // 3}" for k in range(n)], "clip_index": [k % 3 for k in range(n)],
        "start_frame": (start * 25).astype(int), "end_frame": ((start + dur) * 25).astype(int),
        "start_sec": start, "end_sec": start + dur, "fps": 25.0, "method": "auto",
        "video": [f"/data/videos/v{k // 3}.mp4" for k in range(n)],
    })
    metrics = pd.DataFrame({"clip_id": ids, "video_id": clips["video_id"]})
    for name in METRIC_NAMES:
        metrics[name] = rng.uniform(0.0, 0.01, n)  # small: passes the *_max thresholds
    metrics["motion_score"] = rng.uniform(2.0, 20.0, n)
    metrics["moving_area"] = rng.uniform(0.4, 0.9, n)
    metrics["clarity_score"] = rng.uniform(0.35, 0.6, n)
    metrics["aesthetic_score"] = rng.uniform(4.8, 6.0, n)
    metrics["frames_scored"] = 16
    metrics["nan_reasons"] = ""
    words = [" ".join(["word"] * (10 + k)) for k in range(n)]
    captions = pd.DataFrame({"clip_id": ids, "subject": "s", "actions": "a", "environment": "e", "visual_language": "v",
                             "camera_language": "The camera is static.", "world_knowledge": "", "caption": words,
                             "backend": "measured", "model": "koala-measured"})
    table = pd.DataFrame({"clip_id": ids, "video_id": clips["video_id"], "vtss": np.asarray(vtss, float),
                          "vtss_raw": (np.asarray(vtss, float) - 1) / 4, "frames_sampled": 64, "model": "test"})
    return {"clips": clips, "metrics": metrics, "captions": captions, "vtss": table}


@pytest.fixture
def tables():
    """Factory: ``tables(vtss_values)`` -> dict of clips, metrics, captions, vtss DataFrames."""
    return make_tables


@pytest.fixture
def bimodal():
    """A clearly two-humped VTSS sample: 300 clips around 1.5 (sd 0.3) and 700 around 3.8 (sd 0.4), clipped to 1-5."""
    rng = np.random.default_rng(7)
    return np.clip(np.concatenate([rng.normal(1.5, 0.3, 300), rng.normal(3.8, 0.4, 700)]), 1, 5)
