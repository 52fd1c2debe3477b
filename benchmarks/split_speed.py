"""Split speed: CSS, our detector and PySceneDetect side by side, against the decode floor (Table 4).

    python benchmarks/split_speed.py [VIDEO] [--frames 150] [--repeat 3] [--sizes 256 512 720p 1080p 4K]

One real clip (default: the first sample clip in data/samples) is re-encoded at each size into
data/cache/split_speed (not the repository). Prints ms/frame per method and size, each method's
ratio to the raw decode (the floor: nothing that reads every frame is faster) and to PySceneDetect's
ContentDetector run through our reader and through its own ``scenedetect.detect()``, in wall-clock and in
CPU ms (timers take turns, best of --repeat, so load from other processes hits all alike), then peak
traced memory of our detector on the video and on a copy four times as long (flat = streaming).
On a busy machine trust the CPU table and the ratios more than the wall-clock times.
"""

from __future__ import annotations

import argparse
import tracemalloc
from pathlib import Path

import pandas as pd

from koala.config import SplitConfig, load_params
from koala.io.video import probe, read_frames
from koala.io.writer import VideoWriter
from koala.report.benchmarks import add_out_dir, frame_table, save_result
from koala.split import speed
from koala.split.registry import get_detector

METHODS = ("css", "learned", "content", "content_edges", "adaptive", "hash", "histogram", "transnetv2")


def peak_memory_mb(method: str, path: Path, cfg: SplitConfig) -> float:
    det = get_detector(method, cfg)
    info = probe(path)
    tracemalloc.start()
    det.run(path, info)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def looped(src: Path, times: int, out: Path) -> Path:
    """``src`` played ``times`` times in a row (a longer video of the same content)."""
    if out.exists():
        return out
    info = probe(src)
    with VideoWriter(out, fps=info.fps, width=info.width, height=info.height) as w:
        for _ in range(times):
            for batch in read_frames(src, info=info):
                for f in batch.frames:
                    w.write(f)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video", nargs="?")
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sizes", nargs="+", default=list(speed.RESOLUTIONS))
    ap.add_argument("--methods", nargs="+", default=list(METHODS))
    ap.add_argument("--cache", default="data/cache/split_speed")
    add_out_dir(ap)
    args = ap.parse_args()
    cfg = load_params().split if Path("params.yaml").exists() else SplitConfig()
    src = args.video or next(iter(sorted(Path("data/samples").glob("*.mp4"))), None)
    if src is None:
        raise SystemExit("no video given and none in data/samples (run `koala corpus samples` first)")
    pd.set_option("display.width", 200)
    wall, cpu = speed.speed_tables(src, methods=tuple(args.methods), cfg=cfg, labels=tuple(args.sizes), frames=args.frames,
                                   cache_dir=args.cache, repeat=args.repeat)
    for table, kind in ((wall, "wall-clock ms"), (cpu, "CPU ms (all threads of the process)")):
        report(table, f"{kind} per frame ({src}, first {args.frames} frames re-encoded at each size; timers in turn, best of {args.repeat})")
    if "720p" in wall.columns:
        print("\n=== at 720p, side by side (targets for learned: <= 1.3x the raw decode, <= 0.8x ContentDetector)")
        print(side_by_side(wall, cpu, "720p").round(2).to_string())
    print("\npaper's Table 4 (ms per frame, CPU unknown)")
    print(speed.PAPER_TABLE4.to_string())
    one = speed.scaled_copy(src, "720p", args.cache, frames=args.frames)
    four = looped(one, 4, Path(args.cache) / f"{one.stem}_x4.mp4")
    rows = {m: {"1x": peak_memory_mb(m, one, cfg), "4x": peak_memory_mb(m, four, cfg)} for m in ("learned", "css")}
    mem = pd.DataFrame(rows).T
    print("\npeak traced memory, MiB, 720p (a video and the same four times as long)")
    print(mem.round(2).to_string())
    tables = [frame_table(f"ms per frame by size, wall-clock (first {args.frames} frames of {Path(src).name} re-encoded "
                          f"at each size; best of {args.repeat})", wall.round(2).rename_axis("method").reset_index(), digits=2),
              frame_table("ms per frame by size, CPU (all threads of the process)", cpu.round(2).rename_axis("method").reset_index(),
                          digits=2)]
    if "720p" in wall.columns:
        tables.insert(0, frame_table("At 720p, side by side: ms per frame and ratios to the raw decode and to "
                                     "`scenedetect.detect(ContentDetector())`", side_by_side(wall, cpu, "720p")
                                     .rename_axis("method").reset_index(), digits=2))
    tables.append(frame_table("Peak traced memory at 720p, MiB (the video and the same four times as long)",
                              mem.rename_axis("method").reset_index(), digits=1))
    save_result("split_speed", summary={"720p_wall_ms": wall["720p"].to_dict() if "720p" in wall.columns else {}},
                tables=tables, out_dir=args.out_dir)


def side_by_side(wall: pd.DataFrame, cpu: pd.DataFrame, label: str) -> pd.DataFrame:
    """Per method at one size: ms/frame and its ratios to the raw decode and to ContentDetector, wall and CPU."""
    cols = {}
    for kind, t in (("wall", wall), ("cpu", cpu)):
        cols[f"{kind} ms"] = t[label]
        cols[f"{kind} x raw decode"] = t[label] / t.loc["raw decode (floor)", label]
        cols[f"{kind} x ContentDetector"] = t[label] / t.loc["content (scenedetect.detect)", label]
    return pd.DataFrame(cols)


def report(table: pd.DataFrame, title: str) -> None:
    """One table and its ratios to the floor and to ContentDetector."""
    print(f"\n=== {title}")
    print(table.round(2).to_string())
    print("\nratio to the raw decode (floor = 1.00)")
    print(speed.ratios(table, baseline="raw decode (floor)").round(2).to_string())
    print("\nratio to ContentDetector through our reader (below 1 = faster)")
    print(speed.ratios(table, baseline="content").round(2).to_string())
    print("\nratio to scenedetect.detect(ContentDetector()) with its own decoder")
    print(speed.ratios(table, baseline="content (scenedetect.detect)").round(2).to_string())


if __name__ == "__main__":
    main()
