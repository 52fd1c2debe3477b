"""One decode for every per-clip stage of `koala curate`: score, caption, VTSS and posters in one pass.

Run one after another, the four per-clip stages decode each video four times (each at its own
size, through :func:`koala.io.clip_reader.read_clips`). Here each run of a video's clips (the score
stage's work item, about ``score.item_sec`` of video) is one work item whose single pass serves
all four: every stage builds its :class:`koala.io.clip_reader.Reading` from the work item it would
have had on its own, and :func:`koala.io.clip_reader.read_into` feeds them all from one decode. The
caption of a clip waits for that clip's score row, so it reads the score stage's ``text_area`` and
``border_fraction`` exactly as when the stages run in turn.

Each stage's rows are saved in that stage's own engine cache, under the key and fingerprint its
own item has (:func:`koala.engine.core.run_item`), and gathered from there with
:func:`koala.engine.core.collect`, then finished by the stage's own post-processing. So the tables
are those of the stages run in turn (tested), a stage that fails on a video fails alone (its error
row, the other stages go on), and a killed run resumes: a stage whose item is already saved is
not run again. Used when ``curate.fused_decode`` is on and the captions are the measured backend's
(a VLM captions on its own).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

import pandas as pd

from koala.config import CaptionConfig, EngineConfig, Params
from koala.engine import map_items
from koala.engine.core import collect, code_version, is_done, run_item
from koala.stage import SCORED, StageResult

log = logging.getLogger(__name__)

ORDER = ("score", "caption", "vtss", "poster")  # the stages' cache names (koala.stage.STAGES: score, caption, vtss, posters)




def can_fuse(cfg: CaptionConfig) -> bool:
    """The measured captions read frames like the other stages; a VLM reads its own clips."""
    return cfg.backend == "measured" and cfg.merge == "template"


def fused_items(clips: pd.DataFrame, params: Params, engine: EngineConfig, *, vtss_model: tuple[Path, str] | None,
                posters_dir: Path | None) -> tuple[list[dict], dict[str, list[dict]]]:
    """The fused work items, and per stage the work items they hold (one per fused item, same order).

    Args:
        vtss_model: (checkpoint, label) from :func:`koala.vtss.predict.prepare_model`; None: no VTSS.
        posters_dir: the run's folder (posters go to ``posters/``); None: no posters.
    """
    from koala.caption.stage import build_items, clips_frame
    from koala.curate.report import poster_items
    from koala.metrics.stage import video_items
    from koala.vtss.predict import clip_items

    cache = Path(engine.cache_dir)
    fused, subs = [], {name: [] for name in ORDER}
    for score_item in video_items(clips, params.score):
        ids = {c["clip_id"] for c in score_item["clips"]}
        part = clips[clips["clip_id"].astype(str).isin(ids)]
        item = {"key": score_item["key"], "path": score_item["path"], "stages": {"score": score_item},
                "code": code_version("koala.curate.fused", "koala.io")}
        one = dataclasses.replace(params.caption.measured, clips_per_item=len(part))  # the run's clips: one caption item
        (item["stages"]["caption"],) = build_items(clips_frame(part), dataclasses.replace(params.caption, measured=one),
                                                   "measured", {})
        if vtss_model is not None:
            (vi,) = clip_items(part, params.vtss, vtss_model[0], vtss_model[1], params.score)
            item["stages"]["vtss"] = {**vi, "key": score_item["key"]}  # unique per run of a long video
        if posters_dir is not None:
            (pi,) = poster_items(part, out_dir=posters_dir, cfg=params.curate)
            item["stages"]["poster"] = {**pi, "key": score_item["key"]}
        item["caches"] = {name: str(cache / name) for name in item["stages"]}
        fused.append(item)
        for name in ORDER:
            if name in item["stages"]:
                subs[name].append(item["stages"][name])
    return fused, subs


def fused_video(item: dict) -> list[dict]:
    """Engine item: one decode pass for every stage of ``item["stages"]``; each stage's rows (or its
    error) saved in its own cache. Returns one row per stage: what happened to it.

    Raises:
        VideoError: the video cannot be probed (every stage's item fails with it).
    """
    from koala.caption.stage import caption_reading
    from koala.curate.report import poster_reading
    from koala.io.clip_reader import read_into
    from koala.io.video import cached_probe
    from koala.metrics.stage import score_reading
    from koala.vtss.predict import released_reading, tsa_reading

    path = item["path"]
    todo = {n: s for n, s in item["stages"].items() if not is_done(Path(item["caches"][n]), s)}
    outcome: dict[str, object] = {}
    if todo:
        info = cached_probe(path)
        scored: dict[str, dict] = _saved_rows(item, "score") if "score" not in todo else {}  # a resumed item: its saved rows
        waiting: dict[str, object] = {}
        readings = {}

        def caption_take(got) -> None:
            readings["caption"].take(got)

        def after_score(got) -> None:
            readings["score"].take(got)
            later = waiting.pop(got.key, None)
            if later is not None:
                caption_take(later)

        builders = {
            "score": lambda s: score_reading(s, info, on_row=lambda row: scored.__setitem__(row["clip_id"], row)),
            "caption": lambda s: caption_reading(s, info, has_text=True, metrics_of=lambda cid: _score_metrics(scored.get(cid))),
            "vtss": lambda s: (tsa_reading if s["model"].startswith("tsa:") else released_reading)(s, info),
            "poster": lambda s: poster_reading(s, info),
        }
        for name, sub in todo.items():
            try:
                readings[name] = builders[name](sub)
            except Exception as exc:  # noqa: BLE001 - that stage's failure on this video; the others go on
                outcome[name] = exc
        names = list(readings)
        feed = []
        for name in names:
            rd = readings[name]
            if name == "score" and "caption" in readings:
                rd = dataclasses.replace(rd, take=after_score)
            elif name == "caption" and "score" in readings:
                # a clip's caption waits for its score row (text_area, border_fraction), as in the stages run in turn
                rd = dataclasses.replace(rd, take=lambda got: caption_take(got) if got.key in scored else waiting.__setitem__(got.key, got))
            feed.append(rd)
        try:
            failed = dict(zip(names, read_into(path, feed, info=info, isolate=True)))
        except Exception as exc:  # noqa: BLE001 - the pass itself failed: every stage's item fails with it
            failed = {name: exc for name in names}
        if waiting and failed.get("caption", False) is None:  # clips whose score failed: the caption's own measures
            try:
                for later in waiting.values():
                    caption_take(later)
            except Exception as exc:  # noqa: BLE001
                failed["caption"] = exc
        for name in names:
            outcome[name] = failed[name] if failed[name] is not None else readings[name].result
    rows = []
    for name, sub in item["stages"].items():
        if name not in todo:
            rows.append({"stage": name, "status": "reused"})
            continue
        got = outcome[name]
        _, status = run_item(_Replay(got), sub, item["caches"][name], name)
        rows.append({"stage": name, "status": status})
    return rows


class _Replay:
    """An item function that gives what the fused pass computed for a stage (rows, or its exception)."""

    def __init__(self, got) -> None:
        self.got = got

    def __call__(self, item: dict):
        if isinstance(self.got, BaseException):
            raise self.got
        return self.got()


def _saved_rows(item: dict, name: str) -> dict[str, dict]:
    """A stage's rows as saved in its cache for this item, by clip_id (empty when it failed)."""
    from koala.engine.core import result_path
    from koala.io.tables import read_table

    path = result_path(Path(item["caches"][name]), item["stages"][name])
    return {str(r["clip_id"]): r for r in read_table(path).to_dict("records")} if path.is_file() else {}


def _score_metrics(row: dict | None) -> dict | None:
    """The score row's numbers the caption reads (koala.stage.SCORED: text_area, border_fraction)."""
    if row is None:
        return None
    return {k: float(row[k]) for k in SCORED if k in row}


def run_fused(clips: pd.DataFrame, params: Params, engine: EngineConfig, *, vtss_model: tuple[Path, str] | None,
              posters_dir: Path | None) -> dict[str, StageResult]:
    """Score, caption, VTSS and posters for ``clips`` from one decode per work item (module docstring).

    Returns:
        Each stage's result by its cache name (score, caption, vtss, poster); vtss absent without
        ``vtss_model``, poster without ``posters_dir``.
    """
    from koala.caption.stage import clips_frame, finish_captions, measured_tables
    from koala.curate.report import poster_table
    from koala.metrics.stage import score_result
    from koala.vtss.predict import predict_result

    items, subs = fused_items(clips, params, engine, vtss_model=vtss_model, posters_dir=posters_dir)
    t0 = time.perf_counter()
    names = "+".join(n for n in ORDER if subs[n])
    res = map_items(fused_video, items, stage="per_clip", cfg=engine, desc=f"{names} (one decode)")
    seconds = time.perf_counter() - t0
    per = {name: collect(subs[name], Path(engine.cache_dir) / name, n_reused=res.n_reused, n_run=res.n_run, stage=name)
           for name in ORDER if subs[name]}
    out: dict[str, StageResult] = {}
    sc = score_result(per["score"], clips, subs["score"])
    out["score"] = StageResult(sc.table, sc.errors, sc.metrics)
    table, errors = finish_captions(*measured_tables(per["caption"], subs["caption"], clips_frame(clips)), params.caption)
    from koala.caption.stage import caption_metrics

    out["caption"] = StageResult(table, errors, caption_metrics(table, errors))
    if "vtss" in per:
        pr = predict_result(per["vtss"], subs["vtss"], params.vtss, vtss_model[0], vtss_model[1], seconds=seconds)
        out["vtss"] = StageResult(pr.table, pr.errors, pr.metrics)
    if "poster" in per:
        out["poster"] = StageResult(poster_table(per["poster"].table), per["poster"].errors)
    return out


def per_clip_stages(clips: pd.DataFrame, params: Params, engine_of, clock) -> tuple[dict[str, StageResult], str, int]:
    """Score, caption, VTSS and posters (``curate.report``) for a chunk's clips: from one decode per
    work item (:func:`run_fused`) when ``curate.fused_decode`` is on and the captions are measured,
    else each stage of :data:`koala.stage.STAGES` in turn, the caption reading the score stage's columns.

    Args:
        engine_of: the engine section for a stage's cache name (``koala.curate.run.stage_engine``).
        clock: times each stage (``koala.curate.clock.StageClock``).

    Returns:
        (results by cache name: score, caption, and vtss and poster when they ran; the note for
        clips without a VTSS row; decodes of each video, the split stage's included).
    """
    from koala.curate import decide
    from koala.stage import STAGES

    posters_dir = Path(params.curate.out_dir) if params.curate.report else None
    if params.curate.fused_decode and can_fuse(params.caption) and len(clips):
        with clock("per_clip"):
            model, note = decide.vtss_model(params)
            done = run_fused(clips, params, engine_of("vtss" if model else "score"), vtss_model=model, posters_dir=posters_dir)
        return done, note or decide.VTSS_FAILED, 2
    done = {}
    with clock("score"):
        done["score"] = STAGES["score"](clips, params, engine_of("score"))
    with clock("caption"):
        metrics = done["score"].table
        extra = [c for c in SCORED if c in metrics.columns]
        scored = clips.merge(metrics[["clip_id"] + extra], on="clip_id", how="left") if extra and len(clips) else clips
        done["caption"] = STAGES["caption"](scored, params, engine_of("caption"))
    with clock("vtss"):
        vtss, note, errors = decide.vtss_scores(clips, params=params, engine=engine_of("vtss"))
        if vtss is not None:
            done["vtss"] = StageResult(vtss, errors)
    if posters_dir is not None and len(clips):
        with clock("poster"):
            done["poster"] = STAGES["posters"](clips, params, engine_of("poster"))
    return done, note, 3 + ("vtss" in done) + ("poster" in done)
