"""Throughput of `koala curate`, measured per stage and projected to 1K, 100K and 36M clips.

Runs the whole curate pipeline once, from an empty cache, over the sample corpus on the
in-process engine (one worker, so every stage's CPU time and memory are this process's), and
prints per stage and end to end:

- clips per hour per core (clips / CPU seconds x 3600),
- real-time factor: seconds of video per wall second, and per CPU second (per core),
- peak resident memory (sampled every 20 ms while the stage runs),
- the cost as a multiple of the baseline: decoding the same videos once at full size (the floor
  any pixel method pays).

VTSS: without a trained TSA model or the released ``infer.pth`` (none ship offline), the stage
would cost nothing and score nothing, so the benchmark times it with a randomly initialised
released-architecture model (video Swin-T + VQA head: the same compute as the real weights) on
``--vtss-fragments`` fragment clips per clip, and scales to the released protocol's 4.

Memory flatness: a second pair of runs, each in a fresh process, curates ``--memory-videos`` tiny
synthetic videos and ten times as many, in chunks of 4 videos, and compares their peak memory
(target: flat).

Writes ``reports/tables/curate_throughput.csv`` (measured) and ``reports/tables/curate_projection.csv``
(core-hours, hours on this 2-core machine and cores for a 24 h run for 1K, 100K and 36M clips of
the paper's 13.75 s average, bottleneck stage named; GPU columns are empty: no GPU was measured).

    python benchmarks/curate_throughput.py [VIDEO_OR_FOLDER...] [--vtss-fragments 1] [--memory-videos 4]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

from koala.config import Params, load_params
from koala.curate.inputs import iter_inputs
from koala.curate.clock import StageClock, cpu_seconds
from koala.curate.run import curate
from koala.io.video import probe, read_frames
from koala.report.benchmarks import add_out_dir, frame_table, save_result, table

PAPER_CLIP_SEC = 13.75  # paper Table 1: Koala-36M's average clip length
RELEASED_FRAGMENT_CLIPS = 4  # released infer.yml: 4 fragment clips per video at test
SCALES = {"1K": 1_000, "100K": 100_000, "36M": 36_000_000}
MEASURED_STAGES = ("split", "score", "caption", "vtss", "poster", "filter", "write", "report")
PER_RUN = ("report",)  # costs once per run (a gallery of at most curate.gallery_clips), not per clip


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096 / 2**20


class MemoryClock(StageClock):
    """A stage clock that also samples this process's resident memory while each stage runs."""

    def __init__(self) -> None:
        super().__init__()
        self.peak = {s: 0.0 for s in self.seconds}
        self.overall = rss_mb()
        self._stage = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            m = rss_mb()
            self.overall = max(self.overall, m)
            if self._stage:
                self.peak[self._stage] = max(self.peak[self._stage], m)

    def enter(self, stage: str) -> None:
        self._stage = stage
        self.peak[stage] = max(self.peak[stage], rss_mb())

    def exit(self, stage: str) -> None:
        self._stage = None

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def random_released_checkpoint(folder: Path) -> Path:
    """The released VTSS architecture with random weights: the real model's compute, no real scores."""
    import torch

    from koala.vtss.released import ReleasedVTSS

    torch.manual_seed(0)
    path = folder / "random_infer.pth"
    torch.save({"state_dict": ReleasedVTSS().state_dict()}, path)
    return path


def decode_baseline(videos: list[str]) -> tuple[float, float]:
    """(wall s, CPU s) to decode every video once at full size: the floor."""
    t0, c0 = time.perf_counter(), cpu_seconds()
    for v in videos:
        for _ in read_frames(v):
            pass
    return time.perf_counter() - t0, cpu_seconds() - c0


def measure(videos: list[str], params: Params, out: Path) -> tuple[dict, MemoryClock]:
    clock = MemoryClock()
    try:
        res = curate(videos, out_dir=out, params=params, clock=clock)
    finally:
        clock.close()
    return res.summary, clock


def memory_run(videos: list[str], params: Params, out: Path) -> tuple[float, int]:
    """Curate ``videos`` in a fresh process; returns (its peak resident memory in MB, clips)."""
    import json
    import subprocess
    import sys

    import yaml

    from koala.config import to_dict

    out.mkdir(parents=True, exist_ok=True)
    (out / "params.yaml").write_text(yaml.safe_dump(json.loads(json.dumps(to_dict(params)))))
    (out / "videos.txt").write_text("\n".join(videos) + "\n")
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork and exec.
    code = ("import json, sys; from koala.config import load_params; from koala.curate.run import curate; "
            "r = curate([sys.argv[1]], out_dir=sys.argv[2], params=load_params(sys.argv[3])); "
            "hwm = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')); "
            "print(json.dumps({'mb': hwm / 1024, 'clips': r.summary['clips']}))")
    run = subprocess.run([sys.executable, "-c", code, str(out / "videos.txt"), str(out / "run"), str(out / "params.yaml")],
                         capture_output=True, text=True)
    if run.returncode:
        raise SystemExit(f"the memory run over {len(videos)} videos failed:\n{run.stderr[-3000:]}")
    res = json.loads(run.stdout.strip().splitlines()[-1])
    return float(res["mb"]), int(res["clips"])


def synth_videos(folder: Path, n: int) -> list[str]:
    """``n`` tiny single-shot videos (2.4 s at 128x96) with moving content."""
    from koala.io.writer import VideoWriter

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    y, x = np.mgrid[0:96, 0:128]
    for k in range(n):
        p = folder / f"v{k:04d}.mp4"
        with VideoWriter(p, fps=25, width=128, height=96) as w:
            for i in range(60):
                w.write(np.stack([(x * 2 + i * 3 + k) % 256, (y * 2 + k * 7) % 256, np.full_like(x, 60 + k % 100)], -1).astype(np.uint8))
        paths.append(str(p))
    return paths


def stage_rows(summary: dict, clock: MemoryClock, *, video_sec: float, base_cpu: float, vtss_scale: float) -> pd.DataFrame:
    rows = []
    clips = summary["clips"]
    for s in MEASURED_STAGES:
        wall, cpu = clock.seconds[s], clock.cpu[s]
        if s == "vtss":
            wall, cpu = wall * vtss_scale, cpu * vtss_scale
        rows.append({"stage": s, "clips": clips, "wall_s": wall, "cpu_s": cpu,
                     "clips_per_hour_per_core": clips * 3600 / cpu if cpu > 0 else np.nan,
                     "rtf_wall": video_sec / wall if wall > 0 else np.nan,
                     "rtf_per_core": video_sec / cpu if cpu > 0 else np.nan,
                     "x_decode": cpu / base_cpu if base_cpu > 0 else np.nan,
                     "peak_rss_mb": clock.peak[s]})
    wall = sum(r["wall_s"] for r in rows)
    cpu = sum(r["cpu_s"] for r in rows)
    rows.append({"stage": "end_to_end", "clips": clips, "wall_s": wall, "cpu_s": cpu,
                 "clips_per_hour_per_core": clips * 3600 / cpu, "rtf_wall": video_sec / wall,
                 "rtf_per_core": video_sec / cpu, "x_decode": cpu / base_cpu, "peak_rss_mb": clock.overall})
    return pd.DataFrame(rows)


def projection(stages: pd.DataFrame, *, clip_video_sec: float) -> pd.DataFrame:
    """Core-hours per stage for each scale, from CPU seconds per second of clip video."""
    per = stages[~stages["stage"].isin(("end_to_end",) + PER_RUN)].set_index("stage")
    cost = per["cpu_s"] / clip_video_sec  # CPU s per second of video
    rows = []
    for label, n in SCALES.items():
        video = n * PAPER_CLIP_SEC
        core_h = cost * video / 3600
        bottleneck = str(core_h.idxmax())
        for stage, h in core_h.items():
            rows.append({"clips": label, "stage": stage, "core_hours": h, "hours_on_2_cores": h / 2,
                         "cores_for_24h": h / 24, "gpus": np.nan, "gpu_hours": np.nan,
                         "bottleneck": stage == bottleneck})
        total = float(core_h.sum())
        rows.append({"clips": label, "stage": "end_to_end", "core_hours": total, "hours_on_2_cores": total / 2,
                     "cores_for_24h": total / 24, "gpus": np.nan, "gpu_hours": np.nan, "bottleneck": False})
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="*", default=["samples"], help="curate input specs (default: the sample clips)")
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--vtss-fragments", type=int, default=1, help="fragment clips per clip when timing VTSS (scaled to 4)")
    ap.add_argument("--memory-videos", type=int, default=4, help="tiny videos in the small memory run (the large one has 10x)")
    ap.add_argument("--tables-dir", default="reports/tables", help="where the two CSV tables go")
    add_out_dir(ap)
    args = ap.parse_args()
    base = load_params(args.params) if Path(args.params).exists() else Params()
    videos = list(iter_inputs(args.inputs, base))
    infos = [probe(v) for v in videos]
    video_sec = float(sum(i.duration_sec for i in infos))
    tmp = Path(tempfile.mkdtemp(prefix="curate-bench-"))
    vtss = dataclasses.replace(base.vtss, fragments=dataclasses.replace(base.vtss.fragments, num_clips=args.vtss_fragments),
                               model_path=str(tmp / "none.pt"))
    params = dataclasses.replace(
        base, engine=dataclasses.replace(base.engine, kind="local", workers=1), vtss=vtss,
        curate=dataclasses.replace(base.curate, vtss_checkpoint=str(random_released_checkpoint(tmp)), export_clips=False))
    print(f"{len(videos)} videos, {video_sec:.1f} s of video; decoding once at full size (baseline) ...")
    base_wall, base_cpu = decode_baseline(videos)
    print(f"baseline decode: {base_wall:.1f} s wall, {base_cpu:.1f} s CPU, real-time factor {video_sec / base_wall:.1f}")
    summary, clock = measure(videos, params, tmp / "run")
    clip_sec = summary["clip_hours"] * 3600
    vtss_scale = RELEASED_FRAGMENT_CLIPS / args.vtss_fragments
    stages = stage_rows(summary, clock, video_sec=video_sec, base_cpu=base_cpu, vtss_scale=vtss_scale)
    pd.set_option("display.width", 160)
    print(f"\nper stage ({summary['clips']} clips, {clip_sec:.1f} s of clips; VTSS timed on {args.vtss_fragments} fragment clip(s), "
          f"x{vtss_scale:g} for the released {RELEASED_FRAGMENT_CLIPS}):")
    print(stages.round(3).to_string(index=False))

    small = synth_videos(tmp / "mem", args.memory_videos * 10)
    mem_params = dataclasses.replace(params, curate=dataclasses.replace(params.curate, vtss_checkpoint="", report=False, chunk_videos=4))
    peaks = {n: memory_run(small[:n], mem_params, tmp / f"mem-{n}") for n in (args.memory_videos, args.memory_videos * 10)}
    for n, (mb, clips) in peaks.items():
        print(f"memory: {n} videos, {clips} clips, in chunks of 4: peak {mb:.0f} MB (a fresh process)")
    lo, hi = peaks[args.memory_videos][0], peaks[args.memory_videos * 10][0]
    print(f"memory growth for 10x the input list: x{hi / lo:.3f} ({hi - lo:+.0f} MB)  target: flat")

    proj = projection(stages, clip_video_sec=clip_sec)
    out = Path(args.tables_dir)
    out.mkdir(parents=True, exist_ok=True)
    stages.assign(memory_small_mb=lo, memory_10x_mb=hi).to_csv(out / "curate_throughput.csv", index=False)
    proj.to_csv(out / "curate_projection.csv", index=False)
    print(f"\nprojection at {PAPER_CLIP_SEC} s per clip (paper Table 1); GPU columns empty: no GPU measured here")
    show = proj.pivot(index="stage", columns="clips", values="core_hours")[list(SCALES)]
    print("core-hours:\n" + show.round(2).to_string())
    for label in SCALES:
        p = proj[(proj["clips"] == label)]
        b = p[p["bottleneck"]].iloc[0]
        e = p[p["stage"] == "end_to_end"].iloc[0]
        print(f"{label:>5} clips: {e['core_hours']:.1f} core-hours, {e['hours_on_2_cores']:.1f} h on 2 cores, "
              f"{e['cores_for_24h']:.1f} cores for 24 h; bottleneck: {b['stage']} ({b['core_hours'] / e['core_hours']:.0%})")
    print(f"wrote {out / 'curate_throughput.csv'} and {out / 'curate_projection.csv'}")
    cols = {"stage": "stage", "cpu_s": "CPU s", "wall_s": "wall s", "clips_per_hour_per_core": "clips/h/core",
            "rtf_per_core": "s of video per CPU s", "x_decode": "CPU x decode", "peak_rss_mb": "peak MB"}
    ends = proj[proj["stage"] == "end_to_end"].set_index("clips")
    save_result("curate_throughput", summary={"videos": len(videos), "video_sec": video_sec, "clips": summary["clips"],
                                              "memory_small_mb": lo, "memory_10x_mb": hi},
                tables=[frame_table(f"`koala curate` per stage on {len(videos)} videos ({video_sec:.0f} s, {summary['clips']} clips; "
                                    f"released VTSS architecture at random weights, scaled to {RELEASED_FRAGMENT_CLIPS} fragment clips)",
                                    stages[list(cols)].rename(columns=cols), digits=2),
                        table(f"Projected CPU cost at the paper's {PAPER_CLIP_SEC} s per clip (no GPU measured here)",
                              ["clips", "core-hours", "hours on 2 cores", "cores for 24 h"],
                              [[k, f"{r.core_hours:,.0f}", f"{r.hours_on_2_cores:,.0f}", f"{r.cores_for_24h:,.0f}"]
                               for k, r in ends.iterrows()])],
                lines=[f"Peak memory {lo:.0f} MB for {args.memory_videos} tiny videos and {hi:.0f} MB for "
                       f"{args.memory_videos * 10} in chunks of 4 (x{hi / lo:.2f})."],
                out_dir=args.out_dir)


if __name__ == "__main__":
    main()
