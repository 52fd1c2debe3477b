"""VTSS prediction: each clip of a clips table scored by the trained TSA or the released Koala model.

The official preprocessing (released ``inference.py`` and ``infer.yml``): 4 fragment clips per
video (32 frames at interval 2, 7x7 patches of 32 px at native resolution), ImageNet mean/std on
the 0-255 scale, the model's (1, 16, 7, 7) score map per clip, and the mean over all of it.

Raw output to the 1-5 label scale. The release publishes no constants: its demo rescales a *set*
of predictions to the mean/std of that set's human labels, and the authors say the raw output "is a
score between 0 and 1, and you can scale the value in any way you want" (KlingAIResearch/Koala-36M
issue #3). A per-set rescale would make a clip's score depend on the other clips of the call, so
the mapping here is per clip and documented instead: ``linear`` = 1 + 4 * clip(raw, 0, 1), which
puts the authors' 0-1 range on the 1-5 annotation scale. The raw value is kept beside it.

The trained TSA (the default, ``vtss.model_path``) is trained on the 1-5 scale, so its output is
used as is, clipped to 1-5 (``vtss_raw`` keeps the unclipped value). It sees each clip as it saw
its training clips (:mod:`koala.vtss.inputs`): frames decoded at the model's ``decode_short_side``,
its fragment size, and the sub-metrics computed on them by the project's scorer.

Work is mapped per source video: one decode pass (:func:`koala.io.clip_reader.read_clips`, which
seeks over long gaps) serves all of its clips, at native resolution for the released model
(fragments are native-resolution patches: each frame goes straight into its clip's mosaics, so
memory holds only mosaics) and at the model's decode size for the trained TSA; each clip is scored
as soon as the stream passes its last sampled frame. A bad video goes to the errors table; the rest goes on; a killed run resumes per video.
"""

from __future__ import annotations

import logging
import math
import multiprocessing as mp
import time
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import torch

from koala.config import EngineConfig, Params, ScoreConfig, VtssConfig, build, to_dict
from koala.engine import code_version, map_items
from koala.io.errors import VideoError
from koala.io.tables import CLIPS, ERRORS, empty_frame
from koala.io.clip_reader import ClipRequest, Reading, read_alone
from koala.stage import StageResult
from koala.vtss.fragments import FragmentCollector, normalise, plan_fragments
from koala.vtss.packaged import trained_model
from koala.vtss.released import CheckpointError, load_released

log = logging.getLogger(__name__)

# vtss.parquet: one row per clip. vtss on the 1-5 label scale; vtss_raw the model's mean output;
# vtss_raw_clips the mean of each fragment clip (their spread shows how much the sampling matters).
VTSS_TABLE = pa.schema(
    [
        ("clip_id", pa.string()),
        ("video_id", pa.string()),
        ("vtss", pa.float64()),
        ("vtss_raw", pa.float64()),
        ("vtss_raw_clips", pa.list_(pa.float64())),
        ("frames_sampled", pa.int64()),  # distinct source frames the fragments come from
        ("model", pa.string()),  # which model scored it, e.g. "released:infer.pth"
    ]
)

SCALES = ("linear", "none")


class NoTrainedModel(FileNotFoundError):
    """predict was asked for the pipeline's TSA model, which is not there."""


@dataclass
class PredictResult:
    table: pd.DataFrame  # VTSS_TABLE rows
    errors: pd.DataFrame
    metrics: dict


def to_label_scale(raw: np.ndarray | float, scale: str = "linear") -> np.ndarray:
    """The released model's raw output on the 1-5 label scale (see the module docstring).

    Raises:
        ValueError: an unknown ``scale``.
    """
    raw = np.asarray(raw, dtype=np.float64)
    if scale == "linear":
        return 1.0 + 4.0 * np.clip(raw, 0.0, 1.0)
    if scale == "none":
        return raw
    raise ValueError(f"vtss.scale must be one of {SCALES}, not {scale!r}")


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name not in ("cpu", "cuda") and not name.startswith("cuda:"):
        raise ValueError(f"vtss.device must be auto, cpu or cuda, not {name!r}")
    return torch.device(name)


def _frame_range(clip: dict, num_frames: int, path) -> tuple[int, int]:
    """A clip's [start, end) frames inside its video, or a VideoError naming the file."""
    start, end = int(clip["start"]), min(int(clip["end"]), num_frames)
    if clip["start"] < 0 or clip["end"] <= clip["start"]:
        raise VideoError(path, f"clip {clip['clip_id']} has an empty frame range {clip['start']}:{clip['end']}")
    if start >= num_frames:
        raise VideoError(path, f"clip {clip['clip_id']} starts at frame {start} but the video has {num_frames}")
    return start, end


@lru_cache(maxsize=2)
def _cached_model(path: str, stamp: tuple[int, int], device: str) -> torch.nn.Module:
    return load_released(path, device=device)


def released_model(path: str | Path, device: str | torch.device = "cpu") -> torch.nn.Module:
    """load_released(), once per process per file version (a worker scores many videos with it)."""
    st = Path(path).stat() if Path(path).is_file() else None
    return _cached_model(str(path), (st.st_size, st.st_mtime_ns) if st else (-1, -1), str(device))


def clip_rng(seed: int, clip_id: str) -> np.random.Generator:
    """A generator per clip: its fragments do not depend on which other clips share the call."""
    return np.random.default_rng([seed, zlib.crc32(clip_id.encode())])


PRECISIONS = ("auto", "float32", "bfloat16")


def resolve_precision(name: str, device: torch.device) -> torch.dtype:
    """The released model's arithmetic: ``auto`` is bfloat16 where the hardware computes it natively.

    On CPUs with AVX512-BF16 or AMX, bfloat16 autocast runs the Swin-T about 1.6x faster and moves
    the raw score by a few 1e-4 (tests/vtss/test_predict.py bounds it); elsewhere bfloat16 is
    emulated and slower, so ``auto`` keeps float32 there.

    Raises:
        ValueError: an unknown name.
    """
    if name not in PRECISIONS:
        raise ValueError(f"vtss.precision must be one of {', '.join(PRECISIONS)}, not {name!r}")
    if name == "auto":
        native = torch.cuda.is_bf16_supported() if device.type == "cuda" else bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        return torch.bfloat16 if native else torch.float32
    return getattr(torch, name)


@torch.no_grad()
def score_fragments(model: torch.nn.Module, fragments: torch.Tensor, *, batch: int = 4,
                    dtype: torch.dtype = torch.float32) -> np.ndarray:
    """Mean of the score map of each fragment clip: (clips, 3, T, H, W) -> (clips,) float64.

    ``dtype`` other than float32 runs the model under autocast (weights stay float32).
    """
    device = next(model.parameters()).device
    out = []
    with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
        for i in range(0, len(fragments), max(1, batch)):
            scores = model(fragments[i:i + batch].to(device))  # (b, 1, T', H', W')
            out.append(scores.float().flatten(1).mean(1).double().cpu())
    return torch.cat(out).numpy()


def predict_video(item: dict) -> list[dict]:
    """Engine item function: decode one video once and score each of its clips with the released model.

    Raises:
        VideoError: the video cannot be read, or a clip's frame range is empty or outside it.
    """
    return read_alone(item["path"], lambda info: released_reading(item, info))


def released_reading(item: dict, info) -> Reading:
    """The released model's share of a pass over the item's video (:func:`koala.io.clip_reader.read_into`).

    Raises:
        VideoError: a clip's frame range is empty or outside the video; (from ``take``) none of a
            clip's sampled frames decoded.
    """
    cfg = build(VtssConfig, item["cfg"])
    fr = cfg.fragments
    _set_threads(cfg)
    path = item["path"]
    device = resolve_device(cfg.device)
    model = released_model(item["checkpoint"], device)
    dtype = resolve_precision(cfg.precision, device)
    plans, collectors, offsets = {}, {}, {}
    for c in item["clips"]:
        start, end = _frame_range(c, info.num_frames, path)
        plan = plan_fragments(end - start, info.height, info.width, grid=fr.grid, patch=fr.patch, clip_len=fr.clip_len,
                              interval=fr.frame_interval, num_clips=fr.num_clips, rng=clip_rng(fr.seed, c["clip_id"]))
        plans[c["clip_id"]], collectors[c["clip_id"]], offsets[c["clip_id"]] = plan, FragmentCollector(plan), start
    height, width = next(iter(plans.values())).size
    size = {} if (height, width) == (info.height, info.width) else {"height": height, "width": width}
    # Each clip's frames go straight into its fragment mosaics as they are decoded (no frame is kept).
    requests = [ClipRequest(cid, p.needed + offsets[cid], **size,
                            sink=lambda i, frame, col=collectors[cid], off=offsets[cid]: col.add(i - off, frame))
                for cid, p in plans.items()]
    rows: list[dict] = []

    def take(got) -> None:
        cid = got.key
        col = collectors.pop(cid)
        if not col.filled.any():
            raise VideoError(path, f"clip {cid}: none of its sampled frames decoded")
        if not col.complete:  # frames counted by the probe but not decodable at the end: reuse the nearest
            log.warning("%s: clip %s: %d of %d sampled frames did not decode; using the nearest decoded ones",
                        path, cid, int((~col.filled).sum()), col.filled.size)
            _fill_missing(col)
        raw_clips = score_fragments(model, normalise(col.mosaics), batch=cfg.batch_clips, dtype=dtype)
        raw = float(raw_clips.mean())
        rows.append({"clip_id": cid, "video_id": item["video_id"], "vtss": float(to_label_scale(raw, cfg.scale)),
                     "vtss_raw": raw, "vtss_raw_clips": raw_clips.tolist(),
                     "frames_sampled": int(len(plans[cid].needed)), "model": item["model"]})

    return Reading(requests, take, lambda: _in_clip_order(rows, item["clips"]))


def _set_threads(cfg: VtssConfig) -> None:
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    elif mp.parent_process() is not None:  # an engine worker: the workers share the cores, one thread each
        torch.set_num_threads(1)


def _in_clip_order(rows: list[dict], clips: list[dict]) -> list[dict]:
    order = {c["clip_id"]: k for k, c in enumerate(clips)}
    return sorted(rows, key=lambda r: order[r["clip_id"]])


def _fill_missing(col: FragmentCollector) -> None:
    """Give each undecoded slot the mosaic of the nearest decoded one (same fragment clip when it has any)."""
    for ci in range(col.filled.shape[0]):
        if not col.filled[ci].any():  # a whole fragment clip past the decodable end: copy a decoded clip
            donor = int(np.flatnonzero(col.filled.any(1))[0])
            col.mosaics[ci], col.filled[ci] = col.mosaics[donor], col.filled[donor]
        have = np.flatnonzero(col.filled[ci])
        for ti in np.flatnonzero(~col.filled[ci]):
            col.mosaics[ci, ti] = col.mosaics[ci, have[np.abs(have - ti).argmin()]]
        col.filled[ci] = True


def resolve_checkpoint(cfg: VtssConfig, checkpoint: str | Path | None) -> tuple[Path, str]:
    """The checkpoint to score with and its model label.

    Raises:
        CheckpointError: ``checkpoint`` was given but is not a file.
        NoTrainedModel: no ``checkpoint`` and the pipeline has not trained its TSA model.

    Returns:
        (path, label): label ``released:<name>`` for a given checkpoint, ``tsa:<name>`` for the trained TSA.
    """
    if checkpoint is not None:
        path = Path(checkpoint)
        if not path.is_file():
            raise CheckpointError(f"{path}: no such checkpoint file (the released one is infer.pth from "
                                  "huggingface.co/Koala-36M/Training_Suitability_Assessment)")
        return path, f"released:{path.name}"
    model = trained_model(cfg)
    if model is None:
        raise NoTrainedModel(f"{cfg.model_path}: no trained TSA model yet; pass --checkpoint infer.pth to score with the "
                             "released Koala model, or train one first (`koala vtss train`, the pipeline's VTSS training stage)")
    return model, f"tsa:{model.name}"




def clip_items(clips: pd.DataFrame, cfg: VtssConfig, checkpoint: Path, model: str,
               score: ScoreConfig | None = None) -> list[dict]:
    """One engine item per source video: its clips' frame ranges, the config and the checkpoint's identity."""
    missing = [c for c in ("clip_id", "video_id", "start_frame", "end_frame", "video") if c not in clips.columns]
    if missing:
        raise ValueError(f"the clips table lacks columns {missing}; expected the split stage's schema ({', '.join(CLIPS.names)})")
    st = checkpoint.stat()
    conf = to_dict(cfg)
    items = []
    for (video_id, path), group in clips.groupby(["video_id", "video"], sort=False):
        items.append({
            "key": f"{video_id}",
            "video_id": str(video_id),
            "path": str(path),
            "clips": [{"clip_id": str(r.clip_id), "start": int(r.start_frame), "end": int(r.end_frame)}
                      for r in group.sort_values("start_frame").itertuples()],
            "cfg": conf,
            "checkpoint": str(checkpoint.resolve()),
            "checkpoint_stamp": [st.st_size, st.st_mtime_ns],  # a replaced checkpoint is new work
            "model": model,
        })
        if model.startswith("tsa:"):  # the TSA also computes each clip's sub-metrics, as in its training
            items[-1]["score"] = to_dict(score or ScoreConfig())
            items[-1]["code_version"] = code_version("koala.vtss", "koala.metrics", "koala.split.css")
    return items


def predict_clips(clips: pd.DataFrame, cfg: VtssConfig, engine: EngineConfig, *, checkpoint: str | Path | None = None,
                  score: ScoreConfig | None = None) -> PredictResult:
    """Score every clip of an in-memory clips table (the split stage's schema) with the released
    ``checkpoint`` (``infer.pth``) or, when None, the pipeline's trained TSA model.

    Raises:
        CheckpointError, NoTrainedModel: no usable model (before any video is touched).
        ValueError: the clips table lacks the split stage's columns.
    """
    ckpt, model = prepare_model(cfg, checkpoint)
    items = clip_items(clips, cfg, ckpt, model, score)
    t0 = time.perf_counter()
    res = map_items(predict_video_tsa if model.startswith("tsa:") else predict_video, items, stage="vtss", cfg=engine, desc="vtss")
    return predict_result(res, items, cfg, ckpt, model, seconds=time.perf_counter() - t0)


def prepare_model(cfg: VtssConfig, checkpoint: str | Path | None = None) -> tuple[Path, str]:
    """The checkpoint and model label to score with (:func:`resolve_checkpoint`), loaded once here so
    that a bad model file is one clear error before any work, not one per video.

    Raises:
        CheckpointError, NoTrainedModel: no usable model.
        ValueError: an unknown ``vtss.scale`` or ``vtss.precision``.
    """
    to_label_scale(0.0, cfg.scale)  # an unknown scale or precision fails before any work
    resolve_precision(cfg.precision, resolve_device(cfg.device))
    ckpt, model = resolve_checkpoint(cfg, checkpoint)
    if model.startswith("tsa:"):
        tsa_model(ckpt, resolve_device(cfg.device))
    else:
        released_model(ckpt, resolve_device(cfg.device))
    return ckpt, model


def predict_result(res, items: list[dict], cfg: VtssConfig, ckpt: Path, model: str, *, seconds: float) -> PredictResult:
    """The VTSS table and summary from the items' rows (a :class:`koala.engine.MapResult`)."""
    tsa = model.startswith("tsa:")
    table = res.table if len(res.table) else pd.DataFrame(columns=VTSS_TABLE.names)
    metrics = {
        "clips": int(len(table)),
        "videos": len(items),
        "errors": int(len(res.errors)),
        "model": model,
        "scale": (tsa_scale(ckpt) if tsa else cfg.scale),
        "vtss_mean": float(table["vtss"].mean()) if len(table) else math.nan,
        "vtss_raw_mean": float(table["vtss_raw"].mean()) if len(table) else math.nan,
        "seconds": seconds,  # includes videos reused from the cache
    }
    log.info("vtss: scored %d clips of %d videos with %s (%d errors, %d videos reused)",
             len(table), len(items), model, len(res.errors), res.n_reused)
    return PredictResult(table=table, errors=res.errors, metrics=metrics)


@lru_cache(maxsize=2)
def _cached_tsa(path: str, stamp: tuple[int, int], device: str):
    from koala.vtss.train import load_model

    return load_model(path, device=device)


def tsa_model(path: str | Path, device: str | torch.device = "cpu"):
    """load_model() of the trained TSA, once per process per file version: (model, scaler, meta).

    Raises:
        NotATsaModel: the file is not a koala TSA model.
    """
    st = Path(path).stat()
    return _cached_tsa(str(path), (st.st_size, st.st_mtime_ns), str(device))


def tsa_scale(path: str | Path) -> str:
    """How the trained TSA's raw output becomes its 1-5 VTSS: its saved isotonic calibration, else clipping."""
    _, _, meta = tsa_model(path)
    return "tsa: isotonic calibration (held-out sources), clip 1-5" if meta.get("calibration") is not None else "tsa: clip(raw, 1, 5)"


def predict_video_tsa(item: dict) -> list[dict]:
    """Engine item function for the trained TSA: one decode of the video, only the frames each clip's inputs need.

    Raises:
        VideoError: the video cannot be read, or a clip's frame range is empty or outside it.
    """
    return read_alone(item["path"], lambda info: tsa_reading(item, info))


def tsa_reading(item: dict, info) -> Reading:
    """The trained TSA's share of a pass over the item's video (:func:`koala.io.clip_reader.read_into`).

    Raises:
        VideoError: a clip's frame range is empty or outside the video; (from ``take``) none of a
            clip's sampled frames decoded.
    """
    from koala.motion import analysis_shape
    from koala.vtss.inputs import inputs_from, plan_inputs
    from koala.vtss.train import TsaData, predict_draws

    cfg = build(VtssConfig, item["cfg"])
    score_cfg = build(ScoreConfig, item["score"])
    _set_threads(cfg)
    path = item["path"]
    device = resolve_device(cfg.device)
    model, scaler, meta = tsa_model(item["checkpoint"], device)
    size = model.spec.size
    short = int(meta["decode_short_side"])
    h, w = analysis_shape(info.height, info.width, short_side=min(short, info.height, info.width))
    plans, offsets = {}, {}
    for c in item["clips"]:
        start, end = _frame_range(c, info.num_frames, path)
        plans[c["clip_id"]] = plan_inputs(end - start, h, w, info.fps, size, score_cfg, clip_rng(cfg.fragments.seed, c["clip_id"]),
                                          branches=model.spec.branches)  # only the frames the model's branches see
        offsets[c["clip_id"]] = start
    size_kw = {} if (h, w) == (info.height, info.width) else {"height": h, "width": w}
    requests = [ClipRequest(cid, p.needed + offsets[cid], **size_kw) for cid, p in plans.items()]
    rows: list[dict] = []

    def finish(cid: str, have: dict[int, np.ndarray]) -> None:
        plan = plans[cid]
        if not have:
            raise VideoError(path, f"clip {cid}: none of its sampled frames decoded")
        keys = np.array(sorted(have))
        frames = []
        for f in plan.needed + offsets[cid]:  # frames counted by the probe but not decodable: the nearest decoded one
            frames.append(have[int(f)] if int(f) in have else have[int(keys[np.abs(keys - f).argmin()])])
        if len(have) < len(plan.needed):
            log.warning("%s: clip %s: %d of %d sampled frames did not decode; using the nearest decoded ones",
                        path, cid, len(plan.needed) - len(have), len(plan.needed))
        inp = inputs_from(np.stack(frames), plan, info.fps, size, score_cfg)
        data = TsaData(inp.fragments[None], inp.frames[None], inp.metrics[None], np.full(1, np.nan))
        draws = predict_draws(model, data, scaler, device)[0]  # (K,)
        raw = float(draws.mean())
        calib = meta.get("calibration")  # the isotonic map fitted on held-out sources (koala.vtss.calibrate), when saved
        vtss = float(calib(raw)) if calib is not None else raw
        rows.append({"clip_id": cid, "video_id": item["video_id"], "vtss": float(np.clip(vtss, 1.0, 5.0)),
                     "vtss_raw": raw, "vtss_raw_clips": draws.astype(float).tolist(),
                     "frames_sampled": int(len(plan.needed)), "model": item["model"]})

    return Reading(requests, lambda clip: finish(clip.key, dict(zip(clip.index.tolist(), clip.frames))),
                   lambda: _in_clip_order(rows, item["clips"]))


STAGE_SCHEMA = VTSS_TABLE  # koala.stage.table_schema


def as_stage(clips: pd.DataFrame, params: Params, engine: EngineConfig) -> StageResult:
    """VTSS per clip (:func:`koala.vtss.predict.predict_clips`) with the released checkpoint that
    ``curate.vtss_checkpoint`` or ``vtss.released_checkpoint`` names, else the trained TSA.

    Raises:
        koala.vtss.predict.NoTrainedModel, koala.vtss.released.CheckpointError: no usable model.
    """
    if not len(clips):
        return StageResult(pd.DataFrame(columns=VTSS_TABLE.names), empty_frame(ERRORS))
    checkpoint = params.curate.vtss_checkpoint or params.vtss.released_checkpoint or None
    res = predict_clips(clips, params.vtss, engine, checkpoint=checkpoint, score=params.score)
    return StageResult(res.table, res.errors, res.metrics)
