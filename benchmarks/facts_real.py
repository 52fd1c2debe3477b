"""Measured captions against the hand-checked truth of the real-footage corpus (issue 14's shots).

    python benchmarks/facts_real.py [--shots data/corpus/real_shots.parquet] [--root .]

For every shot with at least one labelled fact: the measured caption (koala.caption.measured), its
one camera label (koala.caption.camera.shot_label), the people count and on-screen-text claims it
makes (koala.caption.facts) and its letterbox bars, beside the truth. Prints each shot, the claims
that contradict the truth (the "no false fact" rule), and the accuracy of each fact:
camera (label right, or one of ``camera_ok``), people count (a caption that names nobody counts
as 0), overlay text, letterbox.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from koala.caption import camera
from koala.caption.facts import contradictions, people_claim, shot_truth, text_claim
from koala.caption.measured import measure_clip
from koala.config import MeasuredCaptionConfig, load_params
from koala.io.errors import VideoError


def _count_word(n: int | None) -> str:
    n = 0 if n is None else n
    return "many" if n >= 3 else str(n)


def evaluate(shots: pd.DataFrame, root: Path, cfg: MeasuredCaptionConfig) -> pd.DataFrame:
    rows = []
    for r in shots.itertuples():
        t = shot_truth(r._asdict())
        if all(t[k] is None for k in ("camera", "overlay_text", "people", "letterbox")) or r.end_frame - r.start_frame < 2:
            continue
        try:
            m = measure_clip(str(root / r.path), start=int(r.start_frame), end=int(r.end_frame), cfg=cfg)
        except VideoError as exc:  # recorded, and the rest goes on
            print(f"skipped {r.shot_id}: {exc}")
            continue
        bars = m.visual.bars
        rows.append({
            "shot_id": r.shot_id, "camera": t["camera"], "camera_ok": ",".join(t["camera_ok"]),
            "pred": camera.shot_label(m.phases, m.shake, cfg), "shake": round(m.shake, 4),
            "people": t["people"], "said_people": _count_word(people_claim(m.fields["subject"])),
            "overlay_text": t["overlay_text"], "said_text": text_claim(m.fields["visual_language"]),
            "letterbox": t["letterbox"], "said_bars": bool(max(bars) > 0 and sum(bars) >= cfg.border_min),
            "false_facts": "; ".join(contradictions(t, m.fields)), "camera_language": m.fields["camera_language"],
            "subject": m.fields["subject"],
        })
    return pd.DataFrame(rows)


def summary(df: pd.DataFrame) -> dict:
    cam = df[df.camera.notna()]
    cam_ok = [(p == c) or (p in ok.split(",")) for p, c, ok in zip(cam.pred, cam.camera, cam.camera_ok)]
    ppl = df[df.people.notna()]
    txt = df[df.overlay_text.notna()]
    lb = df[df.letterbox.notna()]
    return {
        "shots": len(df),
        "shots_with_a_false_fact": int((df.false_facts != "").sum()),
        "camera_accuracy": round(float(np.mean(cam_ok)), 3) if len(cam) else None,
        "people_count_accuracy": round(float((ppl.people == ppl.said_people).mean()), 3) if len(ppl) else None,
        "text_accuracy": round(float((txt.overlay_text.astype(bool) == txt.said_text).mean()), 3) if len(txt) else None,
        "letterbox_accuracy": round(float((lb.letterbox.astype(bool) == lb.said_bars).mean()), 3) if len(lb) else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shots", default="data/corpus/real_shots.parquet")
    ap.add_argument("--root", default=".", help="folder the shots' paths are relative to (the repository root)")
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args()
    cfg = load_params(args.params).caption.measured if Path(args.params).exists() else MeasuredCaptionConfig()
    root = Path(args.root)
    shots_path = Path(args.shots) if Path(args.shots).is_absolute() else root / args.shots
    t = time.perf_counter()
    df = evaluate(pd.read_parquet(shots_path), root, cfg)
    pd.set_option("display.width", 250)
    pd.set_option("display.max_colwidth", 90)
    print(df.drop(columns=["camera_language", "subject"]).to_string(index=False))
    bad = df[df.false_facts != ""]
    if len(bad):
        print("\ncaptions of the shots with a false fact:")
        for r in bad.itertuples():
            print(f"  {r.shot_id}: {r.camera_language} | {r.subject}")
    print("\n", summary(df))
    print(f"{len(df)} shots in {time.perf_counter() - t:.0f} s")


if __name__ == "__main__":
    main()
