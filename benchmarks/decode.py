"""Decode speed of koala's reader against the raw decode floor (and decord), side by side.

    python benchmarks/decode.py [VIDEO ...] [--repeat 3]

Prints ms/frame and the ratio to PyAV's raw decode (no conversion), which bounds every stage
that reads pixels. Default videos: the five sample clips in data/samples (after `make repro`).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import av
import numpy as np

from koala.io.video import probe, read_frames
from koala.report.benchmarks import add_out_dir, save_result, table


def raw_decode(path: str) -> int:
    with av.open(path) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        return sum(1 for _ in c.decode(s))


def koala_read(path: str, *, height: int | None, threads: int) -> int:
    info = probe(path)
    return sum(len(b.index) for b in read_frames(path, height=height, threads=threads, info=info))


def decord_read(path: str, *, height: int) -> int:
    import decord

    info = probe(path)
    w = int(round(height * info.width / info.height / 2)) * 2
    vr = decord.VideoReader(path, width=w, height=height, num_threads=2)
    n = 0
    for start in range(0, len(vr), 32):
        n += len(vr.get_batch(list(range(start, min(start + 32, len(vr))))).asnumpy())
    return n


def best_ms_per_frame(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        n = fn()
        times.append((time.perf_counter() - t) / max(n, 1) * 1000)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("videos", nargs="*")
    ap.add_argument("--repeat", type=int, default=3)
    add_out_dir(ap)
    args = ap.parse_args()
    videos = args.videos or sorted(str(p) for p in Path("data/samples").glob("*.mp4"))
    if not videos:
        raise SystemExit("no videos: pass paths, or run `make repro` first to fetch data/samples")
    rows = []
    for v in videos:
        floor = best_ms_per_frame(lambda: raw_decode(v), args.repeat)
        info = probe(v)
        cases = {
            "pyav decode only (floor)": floor,
            "koala full size, 2 threads": best_ms_per_frame(lambda: koala_read(v, height=None, threads=2), args.repeat),
            "koala 180p, inline": best_ms_per_frame(lambda: koala_read(v, height=180, threads=0), args.repeat),
            "koala 180p, 2 threads": best_ms_per_frame(lambda: koala_read(v, height=180, threads=2), args.repeat),
            "decord 180p, chunks of 32": best_ms_per_frame(lambda: decord_read(v, height=180), args.repeat),
        }
        print(f"\n{Path(v).name}: {info.width}x{info.height}, {info.num_frames} frames, {info.codec}")
        for name, ms in cases.items():
            print(f"  {name:<28} {ms:6.2f} ms/frame   x{ms / floor:4.2f} of the floor")
        rows.append(list(cases.values()))
    mean = np.mean(rows, axis=0)
    print("\nmean over videos:")
    for name, ms in zip(cases, mean):
        print(f"  {name:<28} {ms:6.2f} ms/frame   x{ms / mean[0]:4.2f} of the floor")
    sizes = sorted({f"{probe(v).width}x{probe(v).height}" for v in videos})
    save_result("decode", summary={"videos": len(videos), "ms_per_frame": dict(zip(cases, mean))},
                tables=[table(f"Reader speed, mean over {len(videos)} videos ({', '.join(sizes)}; best of {args.repeat})",
                              ["reader", "ms/frame", "x raw decode"],
                              [[name, f"{ms:.2f}", f"{ms / mean[0]:.2f}"] for name, ms in zip(cases, mean)])],
                out_dir=args.out_dir)


if __name__ == "__main__":
    main()
