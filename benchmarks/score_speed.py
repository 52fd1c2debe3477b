"""Speed of the score stage: all sub-metrics of a clip against decoding it alone, side by side.

    python benchmarks/score_speed.py [VIDEO ...] [--seconds 5] [--repeat 3]

For each video, the first ``--seconds`` seconds are one clip. Two runs, each in this process
(CPU time counts every thread: PyAV's decoder, swscale conversion, OpenCV, onnxruntime):

* decode alone: the stage's own read plan (one pass, reduced size, sampled frames), no metrics;
* score: the same decode plus every metric (koala.metrics.stage.score_video).

Prints CPU and wall ms per clip, their ratio, clips/s, the target (all metrics for a 5 s 720p clip
under 1 s of CPU, issue #4), and the median ms of each metric and shared step. Default videos:
the five 720p sample clips in data/samples (after `make repro`).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import pandas as pd

from koala.config import ScoreConfig, load_params, to_dict
from koala.io.video import probe, read_frames
from koala.metrics.stage import TIMING_PREFIX, decode_plan, score_video
from koala.report.benchmarks import add_out_dir, frame_table, save_result

TARGET_CPU_MS = 1000.0  # issue #4: all metrics of a 5 s 720p clip under 1 s of CPU


def clip_item(path: str, seconds: float, cfg: ScoreConfig) -> tuple[dict, object]:
    info = probe(path)
    end = min(info.num_frames, int(round(seconds * info.fps)))
    item = {"key": Path(path).stem, "path": path, "clips": [{"clip_id": Path(path).stem, "start": 0, "end": end}],
            "cfg": to_dict(cfg)}
    return item, info


def decode_only(item: dict, info, cfg: ScoreConfig) -> int:
    plan = decode_plan(item["clips"], info, cfg)
    return sum(len(b.index) for b in read_frames(item["path"], height=plan.height, width=plan.width, start=plan.start,
                                                  end=plan.stop, step=plan.step, info=info))


def timed(fn, repeat: int) -> tuple[float, float, object]:
    """Best CPU ms and best wall ms over ``repeat`` runs, and the last result."""
    cpu, wall, out = [], [], None
    for _ in range(repeat):
        c, w = time.process_time(), time.perf_counter()
        out = fn()
        cpu.append((time.process_time() - c) * 1000)
        wall.append((time.perf_counter() - w) * 1000)
    return min(cpu), min(wall), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("videos", nargs="*")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--params", default="params.yaml")
    add_out_dir(ap)
    args = ap.parse_args()
    cfg = load_params(args.params).score if Path(args.params).exists() else ScoreConfig()
    videos = args.videos or sorted(str(p) for p in Path("data/samples").glob("*.mp4"))
    if not videos:
        raise SystemExit("no videos: pass some, or run `koala corpus samples` first")
    rows, per_metric = [], []
    for path in videos:
        item, info = clip_item(path, args.seconds, cfg)
        score_video(item)  # warm-up: OCR session, flow objects, imports
        d_cpu, d_wall, n = timed(lambda: decode_only(item, info, cfg), args.repeat)
        s_cpu, s_wall, out = timed(lambda: score_video(item), args.repeat)
        per_metric.append({k.removeprefix(TIMING_PREFIX): v for k, v in out[0].items() if k.startswith(TIMING_PREFIX)})
        rows.append({
            "video": Path(path).name, "size": f"{info.width}x{info.height}", "frames": item["clips"][0]["end"],
            "sampled": n, "decode_cpu_ms": d_cpu, "score_cpu_ms": s_cpu, "x_decode_cpu": s_cpu / d_cpu,
            "decode_wall_ms": d_wall, "score_wall_ms": s_wall, "clips_per_s": 1000.0 / s_wall,
            "under_1s_cpu": s_cpu < TARGET_CPU_MS,
        })
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(f"score stage vs decode alone: first {args.seconds:g} s of each video, best of {args.repeat}, "
          f"decode at {cfg.decode_short_side}p, ~{cfg.sample_fps:g} samples/s\n")
    print(table.round(2).to_string(index=False))
    print(f"\nmedian CPU per clip: decode {statistics.median(table.decode_cpu_ms):.0f} ms, "
          f"all metrics {statistics.median(table.score_cpu_ms):.0f} ms "
          f"(x{statistics.median(table.x_decode_cpu):.2f} of decode alone; target < {TARGET_CPU_MS:.0f} ms)")
    print(f"clips/s (one process): {statistics.median(table.clips_per_s):.2f}")
    ms = pd.DataFrame(per_metric).median().sort_values(ascending=False)
    print("\nmedian ms per clip of each metric and shared step (wall, inside the score run):")
    print(ms.round(1).to_string())
    shown = table.drop(columns=["under_1s_cpu"]).rename(columns={
        "decode_cpu_ms": "decode CPU ms", "score_cpu_ms": "all metrics CPU ms", "x_decode_cpu": "x decode (CPU)",
        "decode_wall_ms": "decode wall ms", "score_wall_ms": "all metrics wall ms", "clips_per_s": "clips/s"})
    save_result("score_speed", summary={"median_x_decode_cpu": float(statistics.median(table.x_decode_cpu)),
                                        "median_score_cpu_ms": float(statistics.median(table.score_cpu_ms))},
                tables=[frame_table(f"`koala score` on the first {args.seconds:g} s of each video beside decoding alone "
                                    f"(best of {args.repeat}; decode at {cfg.decode_short_side}p, ~{cfg.sample_fps:g} samples/s)",
                                    shown, digits=2),
                        frame_table("Median ms per clip of each metric and shared step (wall, inside the score run)",
                                    ms.rename_axis("step").reset_index(name="ms"), digits=1)],
                lines=[f"Median: all metrics x{statistics.median(table.x_decode_cpu):.2f} the CPU of decoding alone "
                       f"(target: 2x)."], out_dir=args.out_dir)


if __name__ == "__main__":
    main()
