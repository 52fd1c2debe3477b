"""Measured captions against the hand-checked truth of the real-footage corpus (issue 14's shots).

    python benchmarks/facts_real.py [--root .] [--shots SHOTS.parquet] [--out-dir DIR]

For every shot with at least one labelled fact: the measured caption (koala.caption.measured), its
one camera label (koala.caption.camera.shot_label), the people count and on-screen-text claims it
makes (koala.caption.facts) and its letterbox bars, beside the truth. Prints each shot, the claims
that contradict the truth (the "no false fact" rule), and the accuracy of each fact:
camera (label right, or one of ``camera_ok``; a caption that says nothing of the camera is not
right), also per true camera kind, people count (a caption that names nobody counts as 0), overlay
text, letterbox. The shots are read from the truth file itself (koala.caption.facts.labelled_shots)
unless ``--shots`` names a shots table. Writes the summary, with the shots that got a false fact,
the date and the commit, to ``--out`` (JSON) for the README.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from koala.caption import camera
from koala.caption.facts import contradictions, labelled_shots, people_claim, shot_truth, text_claim
from koala.caption.measured import measure_clip
from koala.config import MeasuredCaptionConfig, load_params
from koala.io.errors import VideoError
from koala.report.benchmarks import add_out_dir, save_result, table


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


def _share(hits) -> float | None:
    hits = list(hits)
    return round(float(np.mean(hits)), 3) if hits else None


def camera_right(df: pd.DataFrame) -> pd.Series:
    """Per shot with a camera label: the one label is the truth or one of its ``camera_ok`` (silence is not right)."""
    cam = df[df.camera.notna()]
    return pd.Series([p != "" and (p == c or p in ok.split(",")) for p, c, ok in zip(cam.pred, cam.camera, cam.camera_ok)],
                     index=cam.index, dtype=bool)


def summary(df: pd.DataFrame) -> dict:
    cam = df[df.camera.notna()]
    right = camera_right(df)
    ppl = df[df.people.notna()]
    txt = df[df.overlay_text.notna()]
    lb = df[df.letterbox.notna()]
    still = cam[cam.camera == "static"]
    return {
        "shots": len(df),
        "shots_with_a_false_fact": int((df.false_facts != "").sum()),
        "camera_accuracy": _share(right),
        "camera_said_nothing": int((cam.pred == "").sum()),
        "camera_accuracy_by_kind": {k: _share(right[cam.camera == k]) for k in sorted(cam.camera.unique())},
        "camera_shots_by_kind": {k: int((cam.camera == k).sum()) for k in sorted(cam.camera.unique())},
        "still_shots_called_moving": int((~still.pred.isin(["static", "handheld", ""]) & ~still.apply(
            lambda r: r.pred in r.camera_ok.split(","), axis=1)).sum()) if len(still) else 0,
        "people_count_accuracy": _share(ppl.people == ppl.said_people),
        "text_accuracy": _share(txt.overlay_text.astype(bool) == txt.said_text),
        "letterbox_accuracy": _share(lb.letterbox.astype(bool) == lb.said_bars),
        "labelled_shots": {"camera": len(cam), "people": len(ppl), "overlay_text": len(txt), "letterbox": len(lb)},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shots", default="", help="a shots table (default: the truth file with data/corpus/real_manifest.parquet)")
    ap.add_argument("--root", default=".", help="folder the shots' paths are relative to (the repository root)")
    ap.add_argument("--params", default="params.yaml")
    add_out_dir(ap)
    args = ap.parse_args()
    cfg = load_params(args.params).caption.measured if Path(args.params).exists() else MeasuredCaptionConfig()
    root = Path(args.root)
    if args.shots:
        shots = pd.read_parquet(Path(args.shots) if Path(args.shots).is_absolute() else root / args.shots)
    else:
        shots = labelled_shots(root)
    t = time.perf_counter()
    df = evaluate(shots, root, cfg)
    pd.set_option("display.width", 250)
    pd.set_option("display.max_colwidth", 90)
    print(df.drop(columns=["camera_language", "subject"]).to_string(index=False))
    bad = df[df.false_facts != ""]
    if len(bad):
        print("\ncaptions of the shots with a false fact:")
        for r in bad.itertuples():
            print(f"  {r.shot_id}: {r.camera_language} | {r.subject}")
    summ = summary(df)
    print("\n", summ)
    print(f"{len(df)} shots in {time.perf_counter() - t:.0f} s")
    doc = {**summ, "false_facts": {r.shot_id: r.false_facts for r in bad.itertuples()},
           "camera_misses": {r.shot_id: {"truth": r.camera, "said": r.pred} for r in df.loc[camera_right(df)[~camera_right(df)].index].itertuples()},
           "people_misses": {r.shot_id: {"truth": r.people, "said": r.said_people}
                             for r in df[df.people.notna() & (df.people != df.said_people)].itertuples()},
           "seconds": round(time.perf_counter() - t, 1)}
    save_result("facts_real", summary=doc, out_dir=args.out_dir, **result_parts(doc))


def result_parts(doc: dict) -> dict:
    """The README's tables and lines from the summary (per fact, per camera kind, every shot still wrong)."""
    n = doc["labelled_shots"]
    pct = lambda x: "–" if x is None else f"{x:.2f}"  # noqa: E731
    facts = [["camera (a silent caption counts as a miss)", str(n["camera"]), pct(doc["camera_accuracy"]), ">= 0.95"],
             ["people count (0, 1, 2, many)", str(n["people"]), pct(doc["people_count_accuracy"]), ">= 0.90"],
             ["overlay text", str(n["overlay_text"]), pct(doc["text_accuracy"]), "no claim without it"],
             ["letterbox", str(n["letterbox"]), pct(doc["letterbox_accuracy"]), "–"]]
    kinds = [[k, str(doc["camera_shots_by_kind"][k]), pct(v), ">= 0.85"] for k, v in sorted(doc["camera_accuracy_by_kind"].items())]
    wrong = [[shot, why] for shot, why in sorted(doc["false_facts"].items())]
    misses = [[shot, "camera", m["truth"], m["said"] or "(nothing)"] for shot, m in sorted(doc["camera_misses"].items())]
    misses += [[shot, "people", str(m["truth"]), str(m["said"])] for shot, m in sorted(doc["people_misses"].items())]
    tables = [table(f"Facts of the measured caption against the hand-checked truth ({doc['shots']} real shots)",
                    ["fact", "labelled shots", "accuracy", "target"], facts),
              table("Camera by truth label", ["truth", "shots", "accuracy", "target"], kinds),
              table("Shots whose caption states a false fact (target: none)", ["shot", "false fact"], wrong or [["none", "–"]]),
              table("Every camera and people miss", ["shot", "fact", "truth", "caption says"], misses)]
    lines = [f"{doc['shots_with_a_false_fact']} shot(s) with a false fact; {doc['still_shots_called_moving']} still shot(s) "
             f"called moving; {doc['camera_said_nothing']} shot(s) where the caption says nothing about the camera."]
    return {"tables": tables, "lines": lines}


if __name__ == "__main__":
    main()
