"""Long videos in linear time: every per-clip stage and `koala curate` on a video of length L and 4L.

For each of the two videos, each stage runs in its own subprocess (fresh caches, so nothing is
reused) and reports its wall seconds and peak resident memory (``getrusage``: the largest of the
stage's process and its engine workers). Beside them, a raw PyAV decode of the same video (threaded,
no conversion: the floor every pixel method pays). Printed per stage:

- seconds on L and on 4L, and their ratio (target: at most 4.4, linear within 10 %); the same in CPU
  seconds (the stage's process and its engine workers), which other jobs on a shared machine disturb
  far less than wall time;
- seconds as a multiple of the raw decode of the same video (targets: caption and score at most 2x);
- curate's seconds per second of video (target: at most 1x real time on 2 cores), and beside it
  ``curate_in_turn``: the same with ``curate.fused_decode`` off (each per-clip stage decodes the
  video itself), so the one-decode pass is measured against the stages run in turn;
- ``caption_scored``: the caption stage as the pipeline runs it, after the score stage (DVC and
  ``koala curate`` give it the score stage's ``text_area``, so it needs no OCR of its own);
  ``caption`` is the stage alone, with its own OCR;
- peak memory on L and 4L and their ratio (target: within 10 %).

"Raw decode" is a full PyAV decode of every frame of the video at its native size, FFmpeg's own
threads on (``thread_type='AUTO'``), no colour conversion (:func:`koala.split.speed.raw_decode`), run
in its own subprocess beside the stages, on the same video and in the same run. ``--baseline DIR``
also times score and caption with the ``koala`` package of another checkout (e.g. the commit before
a change) on the short video, so a before/after pair is side by side in one run. The table and
every measurement are written to ``reports/metrics/benchmarks/long_video.json`` (``--out-dir``).

Inputs: two videos and their clips. By default the corpus's long videos
(``data/corpus/long/long_5min.mp4`` and ``long_20min.mp4``, clips cut at the truth of
``data/corpus/long.parquet``); when they are missing, or with ``--build``, two videos of
``--minutes`` and 4x that are built under ``--work`` from 3-second pieces of the five sample clips
(``$KOALA_SAMPLES`` or ``/work/shared/data/koala_tsa_samples``) taken in turn and joined with hard
cuts at 720p, 25 fps, one clip per piece (the cuts are known, so the clips table is exact).

VTSS uses ``--checkpoint`` (a trained TSA, or the released ``infer.pth``); without it, a randomly
initialised TSA of the ``tiny`` size (timing only: its scores mean nothing).

    python benchmarks/long_video.py [VIDEO_L VIDEO_4L] [--build --minutes 1.25] [--stages score,caption]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from koala.report.benchmarks import add_out_dir, frame_table, save_result

STAGES = ("decode", "score", "caption", "caption_scored", "vtss", "posters", "curate", "curate_in_turn")
# Decodes of the video per stage; curate's are read from its summary (split's small-size pass, then one
# for the per-clip stages together, or one per stage with curate.fused_decode off: curate_in_turn).
DECODE_PASSES = {"decode": 1, "score": 1, "caption": 1, "caption_scored": 1, "vtss": 1, "posters": 1}
SAMPLES = Path(os.environ.get("KOALA_SAMPLES", "/work/shared/data/koala_tsa_samples"))
DEFAULT_VIDEOS = ("data/corpus/long/long_5min.mp4", "data/corpus/long/long_20min.mp4")


def build_long_video(out: Path, *, seconds: float, piece_sec: float = 3.0, fps: int = 25, width: int = 1280,
                     height: int = 720) -> pd.DataFrame:
    """Pieces of ``piece_sec`` taken in turn from the sample clips (each sample read on from where its
    last piece ended, wrapping), joined with hard cuts, until ``seconds`` are filled; written at 720p,
    ``fps``. Returns the clips table, one clip per piece (consecutive pieces come from different
    samples, so every boundary is a true cut). Cached: an existing video and clips table are reused.
    """
    from koala.io.video import probe, read_all
    from koala.io.writer import VideoWriter

    clips_path = out.with_suffix(".clips.parquet")
    if out.exists() and clips_path.exists():
        return pd.read_parquet(clips_path)
    sources = sorted(SAMPLES.glob("*.mp4"))
    if not sources:
        raise SystemExit(f"no sample clips in {SAMPLES}: set KOALA_SAMPLES or pass two videos")
    lengths = [probe(s).num_frames for s in sources]
    total, piece = int(round(seconds * fps)), int(round(piece_sec * fps))
    pos = [0] * len(sources)
    rows, start, k = [], 0, 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with VideoWriter(out, fps=fps, width=width, height=height, preset="veryfast", crf=20) as writer:
        while start < total:
            s = k % len(sources)
            n = min(piece, total - start)
            if pos[s] + n > lengths[s]:  # wrap to the sample's start
                pos[s] = 0
            writer.write(read_all(sources[s], height=height, width=width, start=pos[s], end=pos[s] + n))  # (n, 720, 1280, 3)
            pos[s] += n
            rows.append({"clip_id": f"{out.stem}-{k:04d}", "video_id": out.stem, "clip_index": k, "start_frame": start,
                         "end_frame": start + n, "start_sec": start / fps, "end_sec": (start + n) / fps, "fps": float(fps),
                         "method": "truth", "video": str(out)})
            start += n
            k += 1
    clips = pd.DataFrame(rows)
    clips.to_parquet(clips_path)
    return clips


def clips_for(video: Path) -> pd.DataFrame:
    """Clips of a given video: its ``.clips.parquet`` beside it (a built video), else cut at its truth in
    data/corpus/long.parquet, else 4-second pieces."""
    from koala.io.video import probe
    from koala.metrics.stage import clips_from_truth

    if video.with_suffix(".clips.parquet").exists():
        return pd.read_parquet(video.with_suffix(".clips.parquet"))

    truth = Path("data/corpus/long.parquet")
    if truth.exists():
        videos = pd.read_parquet(truth)
        match = videos[[Path(p).name == video.name for p in videos["path"]]]
        if len(match):
            return clips_from_truth(match.assign(path=str(video)))
    info = probe(video)
    step = int(round(4 * info.fps))
    bounds = list(range(0, info.num_frames, step)) + [info.num_frames]
    return pd.DataFrame([{"clip_id": f"{video.stem}-{k:04d}", "video_id": video.stem, "clip_index": k, "start_frame": s,
                          "end_frame": e, "start_sec": s / info.fps, "end_sec": e / info.fps, "fps": info.fps,
                          "method": "fixed4s", "video": str(video)} for k, (s, e) in enumerate(zip(bounds[:-1], bounds[1:])) if e - s >= 2])


def random_tsa(path: Path, decode_short_side: int) -> Path:
    """A randomly initialised tiny TSA saved as the trained one would be (timing only)."""
    import torch

    from koala.config import VtssTsaSize
    from koala.vtss.features import FEATURE_NAMES  # the label branch's inputs: the sub-metrics and the temporal features
    from koala.vtss.train import MetricScaler, save_model
    from koala.vtss.tsa import build_tsa

    if path.exists():
        return path
    torch.manual_seed(0)
    n = len(FEATURE_NAMES)
    model = build_tsa(VtssTsaSize(), n, "full", dropout=0.0).eval()
    save_model(path, model, MetricScaler(center=tuple([0.0] * n), scale=tuple([1.0] * n)), size_name="tiny", variant="full",
               decode_short_side=decode_short_side, info={"note": "random initialisation, for benchmark timing only"})
    return path


def run_stage(stage: str, video: str, clips_path: str, work: str, params_file: str, checkpoint: str) -> dict:
    """One stage on one video in this process (called in a subprocess); returns seconds and counts."""
    from koala.config import load_params

    params = load_params(params_file)
    work_dir = Path(work)
    params = dataclasses.replace(params, engine=dataclasses.replace(params.engine, cache_dir=str(work_dir / "cache")))
    clips = pd.read_parquet(clips_path)
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu0 = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    t = time.perf_counter()
    n, passes = len(clips), None
    if stage == "decode":
        from koala.split.speed import raw_decode

        n = raw_decode(video)
    elif stage == "score":
        from koala.metrics.stage import score_clips

        scored = score_clips(clips, params.score, params).table
        n = len(scored)
        scored.to_parquet(Path(work).parent.parent / f"metrics-{Path(video).stem}.parquet")  # for caption_scored (a few kB)
    elif stage == "caption":
        from koala.caption.stage import caption_clips, clips_frame

        n = len(caption_clips(clips_frame(clips), params.caption, params.engine)[0])
    elif stage == "caption_scored":  # as the pipeline runs it: the score stage's text and letterbox measures given
        from koala.caption.stage import as_stage
        from koala.stage import read_clips

        scored = Path(work).parent.parent / f"metrics-{Path(video).stem}.parquet"
        if not scored.exists():
            raise SystemExit(f"{scored}: run the score stage first (--stages score,caption_scored)")
        n = len(as_stage(read_clips(clips_path, scored=scored), params, params.engine).table)
    elif stage == "vtss":
        from koala.vtss.predict import predict_clips

        ckpt = Path(checkpoint)
        cfg = params.vtss
        released = ckpt.suffix == ".pth"
        if not released:
            cfg = dataclasses.replace(cfg, model_path=str(ckpt))
        n = len(predict_clips(clips, cfg, params.engine, checkpoint=ckpt if released else None, score=params.score).table)
    elif stage == "posters":
        from koala.curate.report import make_posters

        n = len(make_posters(clips, out_dir=work_dir, cfg=params.curate, engine=params.engine)[0])
    elif stage in ("curate", "curate_in_turn"):  # the per-clip stages from one decode, or each from its own
        from koala.curate.run import curate

        ckpt = Path(checkpoint)
        if ckpt.suffix != ".pth":
            params = dataclasses.replace(params, vtss=dataclasses.replace(params.vtss, model_path=str(ckpt)))
        params = dataclasses.replace(params, curate=dataclasses.replace(params.curate, fused_decode=stage == "curate"))
        res = curate([video], out_dir=work_dir / "curate", params=params)
        n, passes = res.summary["clips"], res.summary.get("decode_passes_per_video")
    else:
        raise ValueError(f"unknown stage {stage!r}; choose from {STAGES}")
    seconds = time.perf_counter() - t
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime - cpu0
    # ru_maxrss survives exec (a child starts with its parent's peak), so this process's own peak is
    # read from /proc (VmHWM, reset at exec); the workers' figure can only be inflated up to it.
    own = _vm_hwm_mb()
    return {"stage": stage, "video": video, "seconds": seconds, "cpu_seconds": cpu, "items": int(n),
            "decode_passes": passes or DECODE_PASSES.get(stage),
            "peak_mb": max(own, kids.ru_maxrss / 1024), "peak_mb_main": own, "peak_mb_workers": kids.ru_maxrss / 1024}


def _vm_hwm_mb() -> float:
    """This process's peak resident memory in MB (Linux /proc; getrusage elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(stage: str, video: Path, clips: Path, work: Path, args, *, code: str | None = None) -> dict:
    """Run one stage in a fresh subprocess (with the ``koala`` package under ``code``, default this
    checkout) and read back its JSON line."""
    work.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, os.path.abspath(__file__), "--one", stage, str(video.resolve()), str(clips.resolve()), str(work.resolve()),
           "--params", os.path.abspath(args.params), "--checkpoint", str(args.checkpoint)]
    root = os.path.abspath(code or os.getcwd())
    if code and Path(root, "params.yaml").exists():  # the other checkout's settings (its config may lack newer keys)
        cmd[cmd.index("--params") + 1] = str(Path(root, "params.yaml"))
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=os.getcwd(), env={**os.environ, "PYTHONPATH": root})
    if out.returncode:
        raise SystemExit(f"{stage} on {video} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(results: dict[str, dict[str, dict]], durations: tuple[float, float]) -> pd.DataFrame:
    """One row per stage: seconds, x raw decode, growth ratio, peak memory, real-time factor."""
    rows = []
    for stage, by in sorted(results.items(), key=lambda kv: "earlier run" in kv[0]):  # this run's rows first
        a, b = by["L"], by.get("4L")
        dec = by.get("decode_ref") or results.get("decode", {})  # a row kept from an earlier run: that run's decode
        if b is None:  # measured on the short video only (a baseline)
            rows.append({"stage": stage, "sec L": round(a["seconds"], 2), "cpu L": round(a["cpu_seconds"], 1),
                         "x decode L": round(a["seconds"] / dec["L"]["seconds"], 2) if dec else np.nan,
                         "peak MB L": round(a["peak_mb"])})
            continue
        rows.append({
            "stage": stage,
            "sec L": round(a["seconds"], 2),
            "sec 4L": round(b["seconds"], 2),
            "4L/L": round(b["seconds"] / a["seconds"], 2),
            "cpu L": round(a["cpu_seconds"], 1),
            "cpu 4L": round(b["cpu_seconds"], 1),
            "cpu 4L/L": round(b["cpu_seconds"] / a["cpu_seconds"], 2),
            "cpu x decode 4L": round(b["cpu_seconds"] / dec["4L"]["cpu_seconds"], 2) if dec else np.nan,
            "x decode L": round(a["seconds"] / dec["L"]["seconds"], 2) if dec else np.nan,
            "x decode 4L": round(b["seconds"] / dec["4L"]["seconds"], 2) if dec else np.nan,
            "x real time 4L": round(b["seconds"] / durations[1], 3),
            "peak MB L": round(a["peak_mb"]),
            "peak MB 4L": round(b["peak_mb"]),
            "mem 4L/L": round(b["peak_mb"] / a["peak_mb"], 2),
            "clips 4L": b["items"] if stage != "decode" else "",
            "decode passes": b.get("decode_passes") or DECODE_PASSES.get(stage, ""),
        })
    out = pd.DataFrame(rows)
    for col in ("peak MB L", "peak MB 4L", "clips 4L", "decode passes"):  # counts: whole numbers, a dash where missing
        if col in out:
            out[col] = pd.Series([int(v) if isinstance(v, (int, float)) and v == v else v for v in out[col]], index=out.index, dtype=object)
    return out


def measured(results: dict, name: str) -> dict:
    """A stage's results, from this run or kept from an earlier one (``NAME (earlier run, C)``)."""
    for key, by in results.items():
        if key == name or key.startswith(f"{name} (earlier run"):
            return by
    return {}


def write_json(results: dict, durations: tuple[float, float], videos: list, args, out: pd.DataFrame | None) -> None:
    """The measurements so far (and the table, once all are in) as the benchmark's result file (the README's table)."""
    cur = measured(results, "curate")
    doc = {
        "videos": [str(v) for v in videos], "durations": list(durations), "cores": os.cpu_count(), "vtss_model": str(args.checkpoint),
        "raw_decode": "PyAV decode of every frame at native size, thread_type AUTO, no conversion (koala.split.speed.raw_decode)",
        "curate_real_time_factor": {k: round(cur[k]["seconds"] / d, 3) for k, d in zip(("L", "4L"), durations) if k in cur},
        "decode_passes_per_video": {s: by["4L"].get("decode_passes") for s, by in results.items()
                                    if s.startswith("curate") and "4L" in by},
        "baseline": args.baseline or None,
        "complete": out is not None,
        "results": results,
    }
    save_result("long_video", summary=doc, out_dir=args.out_dir, **result_parts(doc))


def result_parts(doc: dict) -> dict:
    """The README's table and lines from a result document (its ``results`` and ``durations``)."""
    durations = tuple(doc["durations"])
    t = table(doc["results"], durations)
    names = [Path(v).name for v in doc["videos"]]
    title = (f"Every per-clip stage and `koala curate` on L = `{names[0]}` ({durations[0] / 60:g} min) and 4L = `{names[1]}` "
             f"({durations[1] / 60:g} min), seconds wall and CPU beside a raw decode of the same video"
             + ("" if doc.get("complete") else " (partial: the run was still going when this was written)"))
    lines = []
    rtf = doc.get("curate_real_time_factor") or {}
    if rtf:
        lines.append("`koala curate` end to end: " + ", ".join(f"{k} {rtf[k]:.2f}x real time" for k in ("L", "4L") if k in rtf) + " (target: <= 1x).")
    res = doc["results"]
    if "4L" in measured(res, "curate") and "4L" in measured(res, "curate_in_turn"):
        one, each = measured(res, "curate")["4L"], measured(res, "curate_in_turn")["4L"]
        lines.append(f"One decode for the per-clip stages (`curate`, {one.get('decode_passes')} decodes per video) against one per "
                     f"stage (`curate_in_turn`, {each.get('decode_passes')}): {one['cpu_seconds'] / each['cpu_seconds']:.2f}x the CPU "
                     f"seconds and {one['seconds'] / each['seconds']:.2f}x the wall seconds on 4L, in the same run.")
    if any("earlier run" in k for k in doc["results"]):
        lines.append("Rows marked (earlier run, C) were measured by an earlier run of this script at commit C and kept "
                     "(`--keep-earlier`); their x-decode columns use that run's own decode of the same video.")
    if doc.get("baseline"):
        lines.append("Rows marked (baseline) are the same stage run by the code before this change, on L, side by side.")
    return {"tables": [frame_table(title, t, digits=2)], "lines": lines}


def earlier_rows(path: Path, stages: list[str]) -> dict[str, dict[str, dict]]:
    """The rows of an earlier result file for stages this run does not measure, renamed
    ``<stage> (earlier run, <commit>)`` and each carrying that run's decode as its reference."""
    if not path.is_file():
        return {}
    old = json.loads(path.read_text())
    results, commit = old["summary"]["results"], old.get("commit", "?")
    dec = results.get("decode", {})
    kept = {}
    for s, by in results.items():
        base = s.split(" (earlier run")[0]
        if base in stages or s == "decode" or "(baseline)" in s:  # measured again now; a baseline compared code that is gone
            continue
        name = s if "earlier run" in s else f"{s} (earlier run, {commit})"
        kept[name] = {k: {**r, "decode_passes": r.get("decode_passes") or DECODE_PASSES.get(s)} if k in ("L", "4L") else r
                      for k, r in by.items()}
        kept[name]["decode_ref"] = by.get("decode_ref") or dec
    return kept


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("videos", nargs="*", help="a video of length L and one of about 4L (default: the corpus's long videos)")
    ap.add_argument("--build", action="store_true", help="build the two videos from the sample clips (also when the defaults are missing)")
    ap.add_argument("--minutes", type=float, default=1.25, help="length L of the built short video (the long one is 4L)")
    ap.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated subset of {','.join(STAGES)}")
    ap.add_argument("--checkpoint", default="", help="VTSS model: a trained TSA file or the released infer.pth (default: random tiny TSA)")
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--work", default="/tmp/koala_long_video", help="built videos, caches and outputs")
    ap.add_argument("--one", nargs=4, metavar=("STAGE", "VIDEO", "CLIPS", "WORK"), help=argparse.SUPPRESS)
    add_out_dir(ap)
    ap.add_argument("--keep-earlier", nargs="?", const="reports/metrics/benchmarks/long_video.json", metavar="RESULT",
                    help="keep the stages this run does not measure from an earlier result file (default: the committed "
                         "one), each marked with the commit that measured it and compared with that run's own decode")
    ap.add_argument("--baseline", default="", help="a checkout whose koala package is also timed (score, caption) on the short video")
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_stage(*args.one, params_file=args.params, checkpoint=args.checkpoint)))
        return
    from koala.config import load_params
    from koala.io.video import probe

    work = Path(args.work)
    videos = [Path(v) for v in (args.videos or DEFAULT_VIDEOS)]
    if args.build or not all(v.exists() for v in videos):
        if not args.build:
            print(f"{', '.join(map(str, videos))} not found: building two videos from the sample clips", file=sys.stderr)
        secs = args.minutes * 60
        pairs = [(work / f"long_{args.minutes:g}min.mp4", secs), (work / f"long_{4 * args.minutes:g}min.mp4", 4 * secs)]
        videos, clip_files = [], []
        for path, s in pairs:
            build_long_video(path, seconds=s)
            videos.append(path)
            clip_files.append(path.with_suffix(".clips.parquet"))
    else:
        clip_files = []
        for v in videos:
            c = work / f"{v.stem}.given.clips.parquet"
            work.mkdir(parents=True, exist_ok=True)
            clips_for(v).to_parquet(c)
            clip_files.append(c)
    if not args.checkpoint:
        args.checkpoint = str(random_tsa(work / "random_tiny_tsa.pt", load_params(args.params).vtss.proxy.decode_short_side))
    infos = [probe(v) for v in videos]
    stages = [s for s in args.stages.split(",") if s]
    if "decode" not in stages:
        stages = ["decode"] + stages
    if "caption_scored" in stages and "score" not in stages:
        stages.insert(stages.index("caption_scored"), "score")
    results: dict[str, dict[str, dict]] = earlier_rows(Path(args.keep_earlier), stages) if args.keep_earlier else {}
    for stage in stages:
        for label, video, clips in zip(("L", "4L"), videos, clip_files):
            tag = f"{stage}-{label}-{time.time_ns()}"
            results.setdefault(stage, {})[label] = r = measure(stage, video, clips, work / "runs" / tag, args)
            print(f"{stage:<8} {label:<3} {r['seconds']:8.2f} s  {r['cpu_seconds']:8.2f} CPU s  peak {r['peak_mb']:7.0f} MB  ({r['items']} items)", file=sys.stderr, flush=True)
            # partial results survive an interrupted run
            write_json(results, (infos[0].duration_sec, infos[1].duration_sec), videos, args, None)
        if args.baseline and stage in ("score", "caption"):  # the same stage with the other checkout's code, side by side
            tag = f"{stage}-before-{time.time_ns()}"
            results.setdefault(f"{stage} (baseline)", {})["L"] = r = measure(stage, videos[0], clip_files[0], work / "runs" / tag, args, code=args.baseline)
            print(f"{stage} (baseline) L {r['seconds']:8.2f} s  {r['cpu_seconds']:8.2f} CPU s", file=sys.stderr, flush=True)
    durations = (infos[0].duration_sec, infos[1].duration_sec)
    print(f"L = {videos[0]} ({durations[0]:.1f} s, {len(pd.read_parquet(clip_files[0]))} clips, "
          f"{infos[0].width}x{infos[0].height}); 4L = {videos[1]} ({durations[1]:.1f} s, {len(pd.read_parquet(clip_files[1]))} clips); "
          f"{os.cpu_count()} cores; VTSS model {args.checkpoint}")
    out = table(results, durations)
    print(out.to_string(index=False))
    print("targets: 4L/L <= 4.4 for every per-clip stage; score and caption <= 2x decode; curate <= 1x real time; "
          "mem 4L/L <= 1.1")
    write_json(results, durations, videos, args, out)


if __name__ == "__main__":
    main()
