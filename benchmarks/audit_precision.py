"""Precision of `koala audit` on the real corpus's hand-labelled shots paired with right and wrong captions.

Every shot of ``real_shots.parquet`` with a hand label (camera, people, overlay/scene text) gets
captions built from its truth: statements that are right about it and statements deliberately
wrong about it (a static shot "pans left", a shot with people "has no people", a shot without
text "has subtitles", ...). Each shot is measured once by :func:`koala.caption.audit.measure` and
every caption judged; precision is the share of flagged statements that are wrong, recall the
share of wrong statements flagged (issue 19's target: precision >= 0.9).

    python benchmarks/audit_precision.py [--shots data/corpus/real_shots.parquet] [--root .] [--out-dir DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import pandas as pd

from koala.caption import audit as A
from koala.config import Params
from koala.io.errors import VideoError
from koala.report.benchmarks import add_out_dir, save_result, table

MOVE_WORDS = {"pan_left": "The camera pans to the left.", "pan_right": "The camera pans to the right.",
              "tilt_up": "The camera tilts up.", "tilt_down": "The camera tilts down.",
              "zoom_in": "The camera zooms in.", "zoom_out": "The camera zooms out."}


def captions_for(shot) -> list[tuple[str, bool, str]]:
    """(caption, wrong?, what it tests) for one labelled shot, from its truth only."""
    out = []
    cam, ok = shot.camera, set(shot.camera_ok if shot.camera_ok is not None else [])
    if cam == "static":
        out.append(("The camera is stationary throughout the shot.", False, "static is static"))
        out += [(text, True, f"static called {move}") for move, text in MOVE_WORDS.items()]
    elif cam in MOVE_WORDS:
        out.append((MOVE_WORDS[cam], False, f"{cam} is {cam}"))
        out.append(("The camera is stationary throughout the shot.", True, f"{cam} called static"))
        opp = A.OPPOSITE[cam]
        out.append((MOVE_WORDS[opp], True, f"{cam} called {opp}"))
    elif cam == "moving" and "static" not in ok:
        out.append(("A static shot.", True, "moving called static"))
    if shot.people in ("1", "2", "many"):
        out.append(("There are no people in the shot.", True, f"{shot.people} people called none"))
    elif shot.people == "0":
        out.append(("There are no people in the shot.", False, "no people is none"))
    if shot.overlay_text is True or shot.scene_text is True:
        out.append(("There is no text anywhere in the frame.", True, "text called absent"))
    elif shot.overlay_text is False and shot.scene_text is False:
        out.append(("Subtitles appear at the bottom of the screen.", True, "no text called subtitled"))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shots", default="data/corpus/real_shots.parquet")
    ap.add_argument("--root", default=".", help="folder the shots' paths are relative to")
    add_out_dir(ap)
    ap.add_argument("--max-sec", type=float, default=12.0, help="measure at most this many seconds of each shot")
    args = ap.parse_args(argv)
    params = Params()
    score_cfg = dataclasses.replace(params.score, decode_short_side=params.audit.decode_short_side, text_frames=params.audit.text_frames)
    shots = pd.read_parquet(args.shots)
    rows = []
    t0 = time.perf_counter()
    for shot in shots.itertuples():
        caps = captions_for(shot)
        if not caps:
            continue
        end = min(int(shot.end_frame), int(shot.start_frame) + int(args.max_sec * float(shot.fps)))
        try:
            meas = A.measure(str(Path(args.root) / shot.path), int(shot.start_frame), end,
                             measured_cfg=params.caption.measured, score_cfg=score_cfg)
        except VideoError as exc:  # e.g. a 2-frame title card: too short to measure motion
            print(f"{shot.shot_id}: skipped ({exc})", file=sys.stderr)
            continue
        for caption, wrong, what in caps:
            found = A.audit_caption(caption, meas, params.audit)
            flagged = any(s["verdict"] == A.CONTRADICTED for s in found)
            rows.append({"shot_id": shot.shot_id, "what": what, "wrong": wrong, "flagged": flagged, "caption": caption,
                         "evidence": "; ".join(s["evidence"] for s in found), "camera_phases": meas["camera_phases"],
                         "faces": meas["faces"], "text_area": meas["text_area"]})
        print(f"{shot.shot_id}: {meas['camera_phases']}; faces {meas['faces']}; text {meas['text_area']:.4f}", file=sys.stderr)
    t = pd.DataFrame(rows)
    tp = int((t["wrong"] & t["flagged"]).sum())
    fp = int((~t["wrong"] & t["flagged"]).sum())
    summary = {
        "shots": int(t["shot_id"].nunique()), "statements": int(len(t)), "wrong": int(t["wrong"].sum()), "right": int((~t["wrong"]).sum()),
        "flagged_wrong": tp, "flagged_right": fp,
        "precision": round(tp / (tp + fp), 4) if tp + fp else None,
        "recall": round(tp / int(t["wrong"].sum()), 4) if t["wrong"].any() else None,
        "by_test": {w: {"n": int(len(g)), "flagged": int(g["flagged"].sum())} for w, g in t.groupby("what")},
        "false_flags": t.loc[~t["wrong"] & t["flagged"], ["shot_id", "what", "evidence"]].to_dict("records"),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    print(json.dumps({k: v for k, v in summary.items() if k != "by_test"}, indent=2))
    fmt = lambda x: "–" if x is None else f"{x:.2f}"  # noqa: E731
    rows = [[w, str(v["n"]), str(v["flagged"])] for w, v in summary["by_test"].items()]
    save_result("audit_precision", summary=summary, argv=["benchmarks/audit_precision.py", *(argv or sys.argv[1:])],
                tables=[table("Captions built from each hand-labelled real shot's truth, right and deliberately wrong: "
                              "statements flagged as contradicted", ["statement tested", "statements", "flagged"], rows)],
                lines=[f"{summary['shots']} measurable shots, {summary['statements']} statements ({summary['wrong']} wrong): "
                       f"{summary['flagged_wrong']} wrong ones flagged and {summary['flagged_right']} right ones; precision "
                       f"{fmt(summary['precision'])}, recall {fmt(summary['recall'])} (target: precision >= 0.9)."],
                out_dir=args.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
