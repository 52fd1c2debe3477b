"""The VTSS training stage: proxy set, Table 5/6 ablations on held-out sources, the five real clips, the model.

Everything the notebook shows comes from :func:`run_training`'s JSON (``vtss.metrics_json``) and
tables under ``vtss.proxy.out_dir``; nothing is typed in by hand. The paper's published numbers sit
beside ours in the same rows (:data:`PAPER_TABLE5`, :data:`PAPER_TABLE6`, docs/koala36m-paper.md §3).
"""

from __future__ import annotations

import logging
import math
import multiprocessing as mp
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from koala.config import Params, build, to_dict
from koala.io.tables import read_table
from koala.io.atomic import write_json
from koala.vtss.features import FEATURE_NAMES
from koala.vtss.inputs import clip_inputs, decode_clip
from koala.vtss.predict import clip_rng, resolve_device
from koala.vtss.calibrate import (DAMAGED_SEVERITY, KEEP_THRESHOLD, Calibration, cross_fitted, damaged_below, fit_calibration,
                                  keep_reject, separation)
from koala.vtss.pretrain import base_variant, kind_targets, pretrain_video
from koala.vtss.proxy import assign_folds, build_proxy, load_tensors, proxy_shots, sample_sources
from koala.vtss.released import read_state_dict
from koala.vtss.train import (MetricScaler, TsaData, attach_calibration, evaluate, load_model, predict_data, resolve_size,
                              save_model, train_tsa)
from koala.vtss.trees import KINDS_VARIANT, TREE_VARIANTS, TREES_CLIP, fit_trees
from koala.vtss.tsa import VARIANTS

log = logging.getLogger(__name__)

# Paper App. C, Table 5 (docs/koala36m-paper.md §3): PLCC, SRCC, KRCC, RMSE on the 200K human-labelled set.
PAPER_TABLE5 = {
    "dynamic": ("Dynamic branch only", 0.8684, 0.8580, 0.7027, 0.4644),
    "static": ("+ Static branch", 0.8730, 0.8637, 0.7111, 0.4555),
    "label": ("+ Feature (label) branch", 0.8953, 0.8864, 0.7397, 0.4203),
    "full": ("+ WCGB (full TSA)", 0.8974, 0.8868, 0.7406, 0.4099),
    # ours (issue 17): the same rows with the video branches pretrained on the degradation pretext task first
    "dynamic_ssl": ("Dynamic branch only, pretrained on the degradations (ours)", math.nan, math.nan, math.nan, math.nan),
    "full_ssl": ("+ WCGB (full TSA), video branches pretrained on the degradations (ours)", math.nan, math.nan, math.nan, math.nan),
}
# Paper App. C, Table 6: only PLCC was found (docs/koala36m-paper.md §3). Our rows: the same architecture trained here.
PAPER_TABLE6 = {
    "dynamic": ("FAST-VQA (ours: dynamic branch = FAST-VQA's fragments Swin)", 0.8684),
    "dover": ("DOVER (ours: fragments + whole-frame views, scores averaged)", 0.8554),
    "full": ("TSA", 0.8974),
    "label_only": ("Sub-metrics only (ours: MLP on the 16 sub-metrics and 2 temporal features; not in the paper)", math.nan),
    "label_trees": ("Sub-metrics only (ours: extremely randomised trees on the 16 sub-metrics and 2 temporal features; not in the paper)", math.nan),
    "label_kinds": ("Sub-metrics only (ours: the same trees fitted to each damage kind's severity, label of their sum; not in the paper)",
                    math.nan),
    "dynamic_ssl": ("FAST-VQA, pretrained on the degradations (ours)", math.nan),
    "full_ssl": ("TSA, video branches pretrained on the degradations (ours)", math.nan),
}


# Relative cost of a training per variant (measured on the tiny preset), to start the longest first.
COST = {"full": 1.0, "label": 0.95, "static": 0.9, "dover": 0.9, "dynamic": 0.6, "label_only": 0.05, "label_trees": 0.02, "label_kinds": 0.03,
        "full_ssl": 1.3, "dynamic_ssl": 0.8}


def _data(proxy: pd.DataFrame, fragments: np.ndarray, frames: np.ndarray) -> TsaData:
    return TsaData(fragments=fragments, frames=frames, metrics=proxy[list(FEATURE_NAMES)].to_numpy(np.float64),
                   labels=proxy["label_proxy"].to_numpy(np.float64))


def real_clip_inputs(params: Params, size, sources: pd.DataFrame) -> TsaData:
    """The five real sample clips, whole, through the same input path as the proxy clips."""
    cfg = params.vtss
    frags, stills, metrics = [], [], []
    for src in sources.itertuples():
        frames = decode_clip(src.path, 0, int(src.num_frames), cfg.proxy.decode_short_side)
        inp = clip_inputs(frames, float(src.fps), size, params.score, clip_rng(cfg.fragments.seed, src.video_id))
        frags.append(inp.fragments)
        stills.append(inp.frames)
        metrics.append(inp.metrics)
    return TsaData(np.stack(frags), np.stack(stills), np.stack(metrics), sources["label"].to_numpy(np.float64))


def run_training(params: Params, *, epochs: int | None = None) -> dict:
    """Build the proxy set, run every variant on every fold, save the final model, score the real clips.

    Args:
        params: all parameters (vtss section; engine and score for the proxy set).
        epochs: overrides the size's epochs (tests, smoke runs).

    Returns:
        The summary also written to ``vtss.metrics_json``.

    Raises:
        SourcesUnavailable: the sample clips are not on disk.
        ValueError: bad folds or variants.
    """
    cfg = params.vtss
    t0 = time.perf_counter()
    if cfg.train.threads > 0:
        torch.set_num_threads(cfg.train.threads)
    device = resolve_device(cfg.device)
    size_name, size = resolve_size(cfg, device)
    for v in cfg.train.variants:
        base, ssl = base_variant(v)
        if v not in TREE_VARIANTS and (base not in VARIANTS or (ssl and set(VARIANTS[base][0]) <= {"label"})):
            raise ValueError(f"vtss.train.variants: unknown variant {v!r}; valid: {', '.join([*VARIANTS, *TREE_VARIANTS])}, "
                             "or a variant with a video branch followed by _ssl")
    if cfg.train.final not in cfg.train.variants:
        raise ValueError(f"vtss.train.final={cfg.train.final!r} must be one of vtss.train.variants {list(cfg.train.variants)}")
    sources = sample_sources(params)
    proxy = build_proxy(params, size_name, size, sources=proxy_shots(params))
    folds = assign_folds(proxy, cfg.proxy)
    out_dir = Path(cfg.proxy.out_dir) / size_name
    kfold = len(folds) > 1
    jobs = [{"params": to_dict(params), "size_name": size_name, "fold": fold, "test_sources": test_sources,
             "variant": variant, "epochs": epochs, "device": str(device),
             "save_to": cfg.model_path if (not kfold and variant == cfg.train.final) else None}
            for fold, test_sources in folds for variant in cfg.train.variants]
    if kfold:  # the default model learns from every source; the folds only evaluate (and calibrate) it
        jobs.append({"params": to_dict(params), "size_name": size_name, "fold": "all", "test_sources": [],
                     "variant": cfg.train.final, "epochs": epochs, "device": str(device), "save_to": cfg.model_path})
    jobs.sort(key=lambda j: -COST.get(j["variant"], 1))  # longest first: the two workers finish together
    workers = max(1, min(cfg.train.workers, len(jobs))) if device.type == "cpu" else 1
    t_train = time.perf_counter()
    if workers == 1:
        done = [train_job(j) for j in jobs]
    else:  # one thread per process: on 2 shared cores two single-threaded trainings beat one with 2 threads
        ctx = mp.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            done = list(pool.map(train_job, jobs))
    train_wall = time.perf_counter() - t_train
    rows = [d["row"] for d in done if d["row"]["fold"] != "all"]
    preds = [pd.DataFrame(d["predictions"]) for d in done if d["row"]["fold"] != "all"]
    results = pd.DataFrame(rows)
    predictions = calibrated(pd.concat(preds, ignore_index=True))
    predictions.to_parquet(out_dir / "predictions.parquet", index=False)
    results.to_csv(out_dir / "results.csv", index=False)
    fin = predictions[predictions["variant"] == cfg.train.final]
    calibration = fit_calibration(fin["pred"], fin["label_proxy"])
    attach_calibration(cfg.model_path, calibration, {"calibration": "isotonic on the held-out predictions of every fold "
                                                     f"({len(fin)} clips of {fin['source'].nunique()} sources)"})
    final_model, final_scaler, _ = load_model(cfg.model_path, device)
    real = real_clip_inputs(params, size, sources)
    real_pred = predict_data(final_model, real, final_scaler, device)
    real_tab = pd.DataFrame({"video_id": sources["video_id"], "label": real.labels, "vtss_raw": real_pred,
                             "vtss": np.clip(calibration(real_pred), 1.0, 5.0)})
    real_tab.to_csv(out_dir / "real_clips.csv", index=False)
    summary = {
        "proxy": True,
        "size": size_name,
        "device": str(device),
        "proxy_clips": int(len(proxy)),
        "proxy_windows": int(proxy.groupby(["source", "window"]).ngroups),
        "sources": sorted(proxy["source"].unique().tolist()),
        "folds": [{"fold": f, "test_sources": s} for f, s in folds],
        "final_trained_on": "every source" if kfold else f"every source but {folds[0][1]}",
        "results": pooled(results),
        "keep_reject": keep_reject_by_variant(predictions, below=damaged_below(cfg.proxy.severity_labels)),
        "calibration": calibration.to_dict() | {"fitted_on_clips": int(len(fin)), "variant": cfg.train.final},
        "train_seconds": {r["variant"]: r["train_seconds"] for r in rows if r["fold"] == folds[0][0]},  # wall, per process
        "train_wall_seconds": train_wall,  # every fold and variant (and the final model), the workers together
        "table5": table5(results, predictions, below=damaged_below(cfg.proxy.severity_labels)).to_dict(orient="records"),
        "table6": table6(results, predictions, below=damaged_below(cfg.proxy.severity_labels)).to_dict(orient="records"),
        "real_clips": {"n": int(len(real_tab)), "srcc": _spearman(real_tab["vtss_raw"], real_tab["label"]),
                       "clips": real_tab.to_dict(orient="records"),
                       "note": "the real clips are proxy sources (their clean windows were seen in training, "
                               "their real labels never were); n = 5, so the Spearman is very uncertain"},
        "model_path": cfg.model_path,
        "seconds": time.perf_counter() - t0,
    }
    write_json(cfg.metrics_json, summary)
    return summary


def calibrated(predictions: pd.DataFrame) -> pd.DataFrame:
    """``pred_cal``: each held-out prediction calibrated by an isotonic map fitted on the other folds only (per variant)."""
    out = predictions.copy()
    out["pred_cal"] = np.nan
    for v, g in out.groupby("variant", sort=False):
        out.loc[g.index, "pred_cal"] = cross_fitted(g["pred"], g["label_proxy"], g["fold"])
    return out


def keep_reject_by_variant(predictions: pd.DataFrame, *, below: int | None = None) -> dict:
    """Per variant: clean held-out clips kept and damaged ones rejected at 2.5, calibrated (cross-fitted) and raw (clipped to 1-5),
    with what escapes: the share rejected per damage kind and severity, the clean clips rejected, and how well the raw
    scores separate clean from damaged at all (:func:`koala.vtss.calibrate.separation`).

    Damaged is total severity >= 2 (``calibrated``, ``raw``, ``separation``); with ``below`` (the first severity whose
    proxy label is under 2.5, :func:`koala.vtss.calibrate.damaged_below`) the same shares for damage that severe are
    reported beside them (``calibrated_label_below``, ``raw_label_below``, ``separation_label_below``)."""
    out = {}
    for v, g in predictions.groupby("variant", sort=False):
        sev = g["severity"].to_numpy()
        kinds = g["degradations"].str.replace(r"\d", "", regex=True)
        damaged = g[(sev >= DAMAGED_SEVERITY) & ~kinds.str.contains("+", regex=False).to_numpy()]
        out[v] = {"calibrated": keep_reject(g["pred_cal"], sev), "raw": keep_reject(np.clip(g["pred"], 1, 5), sev),
                  # which single flaws slip through, and how the shares move between folds (calibrated)
                  "rejected_by_kind": {k: float(np.mean(d["pred_cal"] < KEEP_THRESHOLD))
                                       for k, d in damaged.groupby(kinds[damaged.index], sort=True)},
                  "rejected_by_kind_severity": rejected_by_kind_severity(g),
                  "clean_rejected": [{"source": r.source, "vtss": float(r.pred_cal), "vtss_raw": float(r.pred)}
                                     for r in g[(sev == 0) & (g["pred_cal"] < KEEP_THRESHOLD)].sort_values("pred_cal").itertuples()],
                  "separation": separation(g["pred"], sev),
                  **({} if below is None else
                     {"calibrated_label_below": keep_reject(g["pred_cal"], sev, damaged=below),
                      "raw_label_below": keep_reject(np.clip(g["pred"], 1, 5), sev, damaged=below),
                      "separation_label_below": separation(g["pred"], sev, damaged=below)}),
                  "by_fold": {f: {k: kr[k] for k in ("clean_kept", "damaged_rejected", "clean_n", "damaged_n")}
                              for f, d in g.groupby("fold", sort=False)
                              for kr in [keep_reject(d["pred_cal"], d["severity"].to_numpy())]}}
    return out


def rejected_by_kind_severity(predictions: pd.DataFrame, *, threshold: float = KEEP_THRESHOLD) -> dict:
    """Share of held-out proxy clips scored under ``threshold`` (``pred_cal``) per damage kind and total severity.

    A single degradation is its own kind (``blur``, ...); a mix of two is ``pair``; severity 1 (not counted as
    damaged) is listed too. Returns {kind: {severity: {"rejected": share, "n": clips}}}, severities as strings (JSON keys).
    """
    kinds = predictions["degradations"].str.replace(r"\d", "", regex=True)
    kinds = kinds.where(~kinds.str.contains("+", regex=False), "pair")
    out: dict = {}
    for (k, s), d in predictions[predictions["severity"] > 0].groupby([kinds, "severity"], sort=True):
        out.setdefault(str(k), {})[str(int(s))] = {"rejected": float(np.mean(d["pred_cal"] < threshold)), "n": int(len(d))}
    return out


def train_job(job: dict) -> dict:
    """Train and evaluate one (fold, variant) in this process; save it as the final model when asked.

    A module-level function of plain data, so it runs in a worker process (the parent passes no tensors).
    """
    params = build(Params, job["params"])
    cfg = params.vtss
    torch.set_num_threads(cfg.train.threads if cfg.train.threads > 0 else (1 if mp.parent_process() else torch.get_num_threads()))
    device = torch.device(job["device"])
    size = getattr(cfg, job["size_name"])
    proxy = read_table(Path(cfg.proxy.out_dir) / job["size_name"] / "proxy.parquet")
    base, _ = base_variant(job["variant"])
    branches = ("label",) if job["variant"] in TREE_VARIANTS else VARIANTS[base][0]
    if "dynamic" in branches or "static" in branches:
        data = _data(proxy, *load_tensors(proxy))
    else:  # a sub-metrics model: the pixels are never read, so never loaded (K fragment clips kept: same draws)
        data = _data(proxy, np.zeros((len(proxy), size.num_clips, 0, 0, 0, 3), np.uint8),
                     np.zeros((len(proxy), 0, 0, 0, 3), np.uint8))
    released = None
    if cfg.released_checkpoint and job["size_name"] == "paper":
        released = read_state_dict(cfg.released_checkpoint)
        log.info("vtss: dynamic branch initialised from the released %s", cfg.released_checkpoint)
    test = proxy["source"].isin(job["test_sources"]).to_numpy()
    tr, te = np.flatnonzero(~test), np.flatnonzero(test)
    fold, variant = job["fold"], job["variant"]
    base, ssl = base_variant(variant)
    t = time.perf_counter()
    init_state, pretrain_seconds = None, 0.0
    if variant in TREE_VARIANTS:
        return _trees_job(job, proxy, data, tr, te, size)
    if ssl:  # the pretext task on this fold's training sources only: the held-out ones are never seen
        init_state, hist = pretrain_video(data.subset(tr), kind_targets(proxy["degradations"].iloc[tr]), variant=base,
                                          size=size, epochs=cfg.train.pretrain_epochs, device=device, seed=cfg.train.seed)
        pretrain_seconds = float(sum(h["seconds"] for h in hist))
    res = train_tsa(data.subset(tr), variant=base, size=size, cfg=cfg, device=device,
                    run_dir=Path(cfg.train.out_dir) / job["size_name"] / fold / variant,
                    train_ids=proxy["proxy_id"].iloc[tr].tolist(), released_state=released, init_state=init_state,
                    init_name=f"pretext{cfg.train.pretrain_epochs}" if ssl else "", epochs=job["epochs"])
    p = predict_data(res.model, data.subset(te), res.scaler, device) if len(te) else np.zeros(0)
    m = evaluate(p, data.labels[te])
    log.info("vtss %s %s: proxy PLCC %.3f SRCC %.3f on %d held-out clips (%.0f s)", fold, variant, m["plcc"], m["srcc"],
             m["n"], time.perf_counter() - t)
    if job["save_to"]:
        save_model(job["save_to"], res.model, res.scaler, size_name=job["size_name"], variant=variant,
                   decode_short_side=cfg.proxy.decode_short_side,
                   info={"trained_on": "proxy labels (koala.vtss.proxy)", "fold": fold, "test_sources": job["test_sources"],
                         "train_clips": int(len(tr)), "proxy_plcc": m["plcc"]})
    row = {"fold": fold, "variant": variant, **m, "train_clips": int(len(tr)), "seconds": time.perf_counter() - t,
           "epochs": int(len(res.history)), "final_loss": float(res.history["loss"].iloc[-1]) if len(res.history) else math.nan,
           "train_seconds": (float(res.history["seconds"].sum()) if len(res.history) else 0.0) + pretrain_seconds}  # all epochs, resumed ones too
    preds = {"fold": fold, "variant": variant, "proxy_id": proxy["proxy_id"].iloc[te].tolist(),
             "source": proxy["source"].iloc[te].tolist(), "degradations": proxy["degradations"].iloc[te].tolist(),
             "severity": proxy["severity"].iloc[te].tolist(), "label_proxy": data.labels[te].tolist(), "pred": p.tolist()}
    return {"row": row, "predictions": preds}


def _trees_job(job: dict, proxy: pd.DataFrame, data: TsaData, tr: np.ndarray, te: np.ndarray, size) -> dict:
    """train_job for the tree variants: the ensemble on the training clips' label-branch inputs, fitted to the labels
    (``label_trees``) or to each damage kind's severity (``label_kinds``, read through ``vtss.proxy.severity_labels``)."""
    cfg = build(Params, job["params"]).vtss
    variant = job["variant"]
    t = time.perf_counter()
    scaler = replace(MetricScaler.fit(data.metrics[tr]), clip=TREES_CLIP)
    if variant == KINDS_VARIANT:
        targets, table = kind_targets(proxy["degradations"].iloc[tr]), tuple(cfg.proxy.severity_labels)
    else:
        targets, table = data.labels[tr], None
    model = fit_trees(*scaler.transform(data.metrics[tr]), targets, size=size, seed=cfg.train.seed, severity_labels=table)
    p = predict_data(model, data.subset(te), scaler, torch.device("cpu")) if len(te) else np.zeros(0)
    seconds = time.perf_counter() - t
    m = evaluate(p, data.labels[te])
    log.info("vtss %s %s: proxy PLCC %.3f SRCC %.3f on %d held-out clips (%.0f s)", job["fold"], variant, m["plcc"],
             m["srcc"], m["n"], seconds)
    if job["save_to"]:
        save_model(job["save_to"], model, scaler, size_name=job["size_name"], variant=variant,
                   decode_short_side=cfg.proxy.decode_short_side,
                   info={"trained_on": "proxy labels (koala.vtss.proxy)", "fold": job["fold"],
                         "test_sources": job["test_sources"], "train_clips": int(len(tr)), "proxy_plcc": m["plcc"]})
    row = {"fold": job["fold"], "variant": variant, **m, "train_clips": int(len(tr)), "seconds": seconds,
           "epochs": 0, "final_loss": math.nan, "train_seconds": seconds}
    preds = {"fold": job["fold"], "variant": variant, "proxy_id": proxy["proxy_id"].iloc[te].tolist(),
             "source": proxy["source"].iloc[te].tolist(), "degradations": proxy["degradations"].iloc[te].tolist(),
             "severity": proxy["severity"].iloc[te].tolist(), "label_proxy": data.labels[te].tolist(), "pred": p.tolist()}
    return {"row": row, "predictions": preds}


def _spearman(a, b) -> float:
    from scipy import stats

    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 3 or np.std(a) == 0 or np.std(b) == 0:
        return math.nan
    return float(stats.spearmanr(a, b)[0])


def pooled(results: pd.DataFrame) -> dict:
    """Mean metric per variant over folds (one fold: its numbers), and the spread over folds (``*_sd``; NaN for one)."""
    cols = ["plcc", "srcc", "krcc", "rmse"]
    return {v: {c: float(g[c].mean()) for c in cols} | {f"{c}_sd": float(g[c].std()) if len(g) > 1 else math.nan for c in cols}
            | {"n": int(g["n"].sum()), "folds": int(len(g))} for v, g in results.groupby("variant", sort=False)}


def _keep_cols(predictions: pd.DataFrame | None, variant: str, below: int | None = None) -> dict:
    """Clean kept / damaged (severity >= 2) rejected at 2.5 after the cross-fitted calibration, and with ``below`` the
    share of clips whose proxy label is under 2.5 rejected (``damaged_rejected_below``); NaN without predictions."""
    out = {"clean_kept": math.nan, "damaged_rejected": math.nan} | ({} if below is None else {"damaged_rejected_below": math.nan})
    if predictions is None or "pred_cal" not in predictions or variant not in set(predictions["variant"]):
        return out
    g = predictions[predictions["variant"] == variant]
    kr = keep_reject(g["pred_cal"], g["severity"])
    out |= {"clean_kept": kr["clean_kept"], "damaged_rejected": kr["damaged_rejected"]}
    if below is not None:
        out["damaged_rejected_below"] = keep_reject(g["pred_cal"], g["severity"], damaged=below)["damaged_rejected"]
    return out


def table5(results: pd.DataFrame, predictions: pd.DataFrame | None = None, *, below: int | None = None) -> pd.DataFrame:
    """Table 5 rows present in ``results``: ours (proxy, held-out sources) beside the paper's, with the
    keep/reject shares at 2.5 when the held-out ``predictions`` (with ``pred_cal``) are given."""
    mean = pooled(results)
    rows = []
    for v, (name, *paper) in PAPER_TABLE5.items():
        if v not in mean:
            continue
        r = {"configuration": name, "variant": v}
        for c, pv in zip(["plcc", "srcc", "krcc", "rmse"], paper):
            r[f"{c}_proxy"] = mean[v][c]
            r[f"{c}_paper"] = pv
        r["plcc_proxy_sd"] = mean[v]["plcc_sd"]  # over folds: how much the held-out sources alone move it
        r["srcc_proxy_sd"] = mean[v]["srcc_sd"]
        r["folds"] = mean[v]["folds"]
        r.update(_keep_cols(predictions, v, below))
        rows.append(r)
    return pd.DataFrame(rows)


def table6(results: pd.DataFrame, predictions: pd.DataFrame | None = None, *, below: int | None = None) -> pd.DataFrame:
    """Table 6 rows present in ``results``: PLCC (the only column the paper's table has) and ours on all four,
    with the spread over folds and the keep/reject shares at 2.5."""
    mean = pooled(results)
    rows = []
    for v, (name, paper) in PAPER_TABLE6.items():
        if v in mean:
            rows.append({"model": name, "variant": v, "plcc_paper": paper,
                         **{f"{c}_proxy": mean[v][c] for c in ["plcc", "srcc", "krcc", "rmse"]},
                         "plcc_proxy_sd": mean[v]["plcc_sd"], "folds": mean[v]["folds"], **_keep_cols(predictions, v, below)})
    return pd.DataFrame(rows)


def smoke(params: Params) -> Params:
    """The smallest VTSS setting that runs every code path (notebook smoke runs, CI): tiny, 1 severity, 1 epoch."""
    v = params.vtss
    tiny = replace(v.tiny, epochs=1, batch_size=8, num_clips=1, swin_embed_dim=12, static_size=64,
                   convnext_dims=(8, 16, 32, 64), static_logits=16, feature_dim=16, image_hidden=(16,),
                   label_hidden=(16,), head_hidden=(16,))
    work = Path(params.engine.cache_dir) / "vtss_smoke"  # never over the real run's proxy set and model
    proxy = replace(v.proxy, sources="samples", windows_per_source=1, singles_per_window=0, levels=1, pairs_per_window=1,
                    window_sec=1.5, degradations=("blur", "noise", "still"), folds=1, out_dir=str(work / "proxy"))
    train = replace(v.train, size="tiny", variants=("dynamic", "full"), final="full", out_dir=str(work / "runs"))
    return replace(params, vtss=replace(v, tiny=tiny, proxy=proxy, train=train, model_path=str(work / "tsa.pt")))


def run_stage(params: Params, *, epochs: int | None = None, clips_path: str | Path | None = None):
    """The whole stage: :func:`run_training`, then every clip of the clips table scored with the new model.

    Returns:
        (summary, PredictResult); the summary (with a ``predict`` part) is written to ``vtss.metrics_json``.
    """
    from koala.stage import read_clips, run_saved

    cfg = params.vtss
    summary = run_training(params, epochs=epochs)
    trained = replace(params, vtss=replace(cfg, released_checkpoint=""), curate=replace(params.curate, vtss_checkpoint=""))
    res = run_saved("vtss", read_clips(clips_path or cfg.clips_table), trained, out=cfg.out_table, errors=cfg.errors_table)
    summary["predict"] = res.summary
    write_json(cfg.metrics_json, summary)
    return summary, res


def clips_for_predict(params: Params, *, smoke: bool = False) -> Path:
    """The clips to score: the split stage's table; without it (a smoke run), clips cut at the corpus's truth.

    A smoke run keeps two clips per video and at most eight, written beside the cache.
    """
    from koala.io.tables import CLIPS, write_table
    from koala.metrics.stage import fallback_clips

    path = Path(params.vtss.clips_table)
    if not path.is_file():
        path = fallback_clips(params, Path(params.engine.cache_dir) / "vtss_fallback_clips.parquet")
    if smoke:
        clips = read_table(path).groupby("video_id").head(2).head(8)
        path = Path(params.engine.cache_dir) / "vtss_smoke_clips.parquet"
        write_table(clips, path, CLIPS)
    return path
