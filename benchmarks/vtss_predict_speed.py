"""Speed of `koala vtss predict` with the released model: seconds per clip beside decode time.

    python benchmarks/vtss_predict_speed.py [VIDEO ...] [--seconds 5] [--repeat 2] [--checkpoint infer.pth]

For each video, the first ``--seconds`` seconds are one clip, scored as the command scores it
(4 fragment clips of 32 frames, 7x7 patches at native resolution, float32). Side by side, in this
process (torch uses every core unless --threads):

* decode all: every frame of the clip at native size, the floor of any per-frame reader (baseline);
* decode + fragments: the command's own read (sampled frame range only) filling the mosaics;
* model fp32: the 4 fragment clips through the Swin-T and the head in float32 (the original's arithmetic);
* model: the same at ``vtss.precision`` (auto: bfloat16 on CPUs that compute it natively);
* predict: the whole item function (probe, decode, fragments, model), what one clip costs.

Without --checkpoint the weights are rebuilt by the reference rule (same shapes, same compute
as the released infer.pth). When the trained TSA exists (``vtss.model_path``, after `koala vtss
train`), a last column times the default `koala vtss predict` path with it: decode at the model's
short side, its fragments and static frames, the sub-metrics, the model. Target (issue #6): a 5 s 720p clip in under 10 s on CPU. Default
videos: the 720p sample clips in data/samples (after `koala corpus samples`).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from koala.config import VtssConfig, load_params, to_dict
from koala.io.video import probe, read_frames
from koala.vtss.fragments import FragmentCollector, normalise, plan_fragments
from koala.vtss.predict import (clip_rng, predict_video, predict_video_tsa, released_model, resolve_precision,
                                score_fragments)
from koala.engine import code_version
from koala.report.benchmarks import add_out_dir, save_result, table
from koala.vtss.swin3d import relative_position_index

TARGET_S = 10.0  # issue #6: predict on a 5 s 720p clip in under 10 s on CPU
REFERENCE = Path(__file__).resolve().parents[1] / ".." / "shared" / "docs" / "released_vtss_reference.json"


def rule_checkpoint(folder: Path) -> Path:
    """infer.pth rebuilt from the reference names and shapes (values do not change the speed)."""
    names = json.loads(REFERENCE.read_text())["state_dict"]
    state = {}
    for i, (name, shape) in enumerate(names):
        if name.endswith("relative_position_index"):
            state[name] = relative_position_index((8, 7, 7))
        else:
            state[name] = torch.randn(shape, generator=torch.Generator().manual_seed(i)) * 0.02
    path = folder / "infer.pth"
    torch.save({"state_dict": state}, path)
    return path


def timed(fn, repeat: int) -> tuple[float, float, object]:
    """Best wall and CPU seconds over ``repeat`` runs, and the last result."""
    wall, cpu, out = [], [], None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return min(wall), min(cpu), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("videos", nargs="*")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--checkpoint", help="the released infer.pth (default: rebuilt by the reference rule)")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--params", default="params.yaml")
    add_out_dir(ap)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    params = load_params(args.params) if Path(args.params).exists() else None
    cfg = params.vtss if params else VtssConfig()
    score_cfg = to_dict(params.score) if params else None
    tsa = Path(cfg.model_path) if Path(cfg.model_path).is_file() and score_cfg else None
    fr = cfg.fragments
    videos = args.videos or sorted(str(p) for p in Path("data/samples").glob("*.mp4"))
    if not videos:
        raise SystemExit("no videos: pass some, or run `koala corpus samples` for data/samples")
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = Path(args.checkpoint) if args.checkpoint else rule_checkpoint(Path(tmp))
        model = released_model(ckpt, "cpu")
        dtype = resolve_precision(cfg.precision, torch.device("cpu"))
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs; "
              f"{fr.num_clips} clips x {fr.clip_len} frames; precision {cfg.precision} = {dtype}; best of {args.repeat}")
        print(f"{'video':<26} {'size':>9} {'frames':>6} | {'decode all':>10} {'decode+frag':>11} {'model fp32':>10} {'model':>7} "
              f"{'predict':>8} | {'predict/decode all':>18} {'CPU s':>6} {'target':>7} | {'TSA predict':>11}")
        totals, rows = [], []
        for path in videos:
            info = probe(path)
            n = min(info.num_frames, int(round(args.seconds * info.fps)))
            plan = plan_fragments(n, info.height, info.width, grid=fr.grid, patch=fr.patch, clip_len=fr.clip_len,
                                  interval=fr.frame_interval, num_clips=fr.num_clips, rng=clip_rng(fr.seed, "bench"))

            def decode_all():
                return sum(len(b.index) for b in read_frames(path, end=n, info=info))

            def decode_fragments():
                col = FragmentCollector(plan)
                for b in read_frames(path, start=int(plan.needed[0]), end=int(plan.needed[-1]) + 1, info=info):
                    for i, f in zip(b.index.tolist(), b.frames):
                        col.add(i, f)
                return normalise(col.mosaics)

            d_all, _, _ = timed(decode_all, args.repeat)
            d_frag, _, frags = timed(decode_fragments, args.repeat)
            m32_wall, _, _ = timed(lambda: score_fragments(model, frags, batch=cfg.batch_clips), args.repeat)
            m_wall, _, _ = timed(lambda: score_fragments(model, frags, batch=cfg.batch_clips, dtype=dtype), args.repeat)
            item = {"key": "bench", "video_id": "bench", "path": path, "clips": [{"clip_id": "bench", "start": 0, "end": n}],
                    "cfg": to_dict(cfg), "checkpoint": str(ckpt), "model": "bench"}
            p_wall, p_cpu, _ = timed(lambda: predict_video(item), args.repeat)
            totals.append(p_wall)
            t_wall = float("nan")
            if tsa is not None:
                titem = dict(item, checkpoint=str(tsa), score=score_cfg, code_version=code_version("koala.vtss"))
                t_wall, _, _ = timed(lambda: predict_video_tsa(titem), args.repeat)
            print(f"{Path(path).name[:26]:<26} {info.width}x{info.height:<4} {n:>6} | {d_all:>9.2f}s {d_frag:>10.2f}s "
                  f"{m32_wall:>9.2f}s {m_wall:>6.2f}s {p_wall:>7.2f}s | {p_wall / d_all:>17.1f}x {p_cpu:>6.1f} "
                  f"{'ok' if p_wall < TARGET_S else 'MISS':>7} | {t_wall:>10.2f}s")
            rows.append([Path(path).name, f"{info.width}x{info.height}", str(n), f"{d_all:.2f}", f"{m32_wall:.2f}",
                         f"{m_wall:.2f}", f"{p_wall:.2f}", f"{p_wall / d_all:.1f}", "–" if np.isnan(t_wall) else f"{t_wall:.2f}"])
        print(f"median predict: {np.median(totals):.2f} s per clip (target < {TARGET_S:.0f} s for a 5 s 720p clip on CPU)")
        save_result("vtss_predict_speed", summary={"median_predict_s": float(np.median(totals)), "precision": str(dtype),
                                                   "threads": torch.get_num_threads()},
                    tables=[table(f"`koala vtss predict`, seconds per {args.seconds:g} s clip (wall, best of {args.repeat}; "
                                  f"released architecture at `vtss.precision` = {dtype}; last column: the default trained TSA)",
                                  ["video", "size", "frames", "decode all", "released model fp32", "released model",
                                   "predict (released)", "x decode all", "predict (default TSA)"], rows)],
                    out_dir=args.out_dir)


if __name__ == "__main__":
    main()
