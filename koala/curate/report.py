"""The curation report: one HTML page per run that a person opens to judge what was kept.

``OUT/report.html`` shows a gallery of kept and a gallery of rejected clips (a poster frame each,
with its caption, VTSS, sub-metrics and the reason it was rejected), the distribution of every
metric with the VTSS threshold drawn, the time per stage and the errors. It opens offline: the
plots are embedded, the posters are JPEGs under ``OUT/posters/`` linked by relative paths.
Posters are made through the engine (one item per source video, one decode at poster size),
so they are cached and resumed like every other stage. A script on the page counts the posters
that loaded (``data-posters-loaded`` on ``<body>``), which the browser test reads.
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from koala.config import CurateConfig, EngineConfig, Params
from koala.engine import code_version, map_items
from koala.io.tables import read_table
from koala.stage import StageResult

log = logging.getLogger(__name__)

# Shown on every card; the other sub-metrics sit in a fold-out table.
CARD_METRICS = ("clarity_score", "aesthetic_score", "motion_score")


def poster_video(item: dict) -> list[dict]:
    """Engine item: the middle frame of each clip of one video, saved as a JPEG at poster height.

    One pass over the video (:func:`koala.io.clip_reader.read_clips`), seeking between posters
    that lie far apart.
    """
    from koala.io.clip_reader import read_alone

    return read_alone(item["path"], lambda info: poster_reading(item, info))


def poster_reading(item: dict, info=None):
    """The posters' share of a pass over the item's video (:class:`koala.io.clip_reader.Reading`)."""
    from PIL import Image

    from koala.io.clip_reader import ClipRequest, Reading

    by_id = {c["clip_id"]: c for c in item["clips"]}
    requests = [ClipRequest(c["clip_id"], np.array([int(c["mid"])]), height=item["height"]) for c in item["clips"]]
    rows = []

    def take(got) -> None:
        c = by_id[got.key]
        if not len(got.index):  # frame counted but not decodable: no poster
            return
        Path(c["out"]).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(got.frames[0]).save(c["out"], quality=85)
        rows.append({"clip_id": c["clip_id"], "poster": c["rel"]})

    def result() -> list[dict]:
        done = {r["clip_id"] for r in rows}
        return rows + [{"clip_id": c["clip_id"], "poster": ""} for c in sorted(item["clips"], key=lambda c: c["clip_id"])
                       if c["clip_id"] not in done]

    return Reading(requests, take, result)


def make_posters(clips: pd.DataFrame, *, out_dir: Path, cfg: CurateConfig, engine: EngineConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One poster per clip under ``OUT/posters``; returns (clip_id, poster relative path) and errors."""
    res = map_items(poster_video, poster_items(clips, out_dir=out_dir, cfg=cfg), stage="poster", cfg=engine, desc="posters")
    return poster_table(res.table), res.errors


def poster_items(clips: pd.DataFrame, *, out_dir: Path, cfg: CurateConfig) -> list[dict]:
    """One work item per source video: its clips' middle frames and where their JPEGs go."""
    items = []
    folder = (out_dir / "posters").resolve()
    for (vid, path), group in clips.groupby(["video_id", "video"], sort=False):
        cs = []
        for r in group.itertuples():
            name = f"{r.clip_id}.jpg".replace("/", "_")
            cs.append({"clip_id": str(r.clip_id), "mid": (int(r.start_frame) + int(r.end_frame) - 1) // 2,
                       "out": str(folder / name), "rel": f"posters/{name}"})
        items.append({"key": str(vid), "path": str(path), "clips": cs, "height": int(cfg.poster_height),
                      "outputs": [c["out"] for c in cs], "code": code_version("koala.curate.report")})
    return items


def poster_table(table: pd.DataFrame) -> pd.DataFrame:
    return table if len(table) else pd.DataFrame({"clip_id": pd.Series(dtype=str), "poster": pd.Series(dtype=str)})


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def distributions(clips_path: Path, columns: list[str], *, thresholds: dict[str, float]) -> list[tuple[str, str]]:
    """(metric, embedded PNG) per numeric column: its histogram, kept and rejected stacked, its threshold drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kept = pq.read_table(clips_path, columns=["kept"]).column("kept").to_numpy(zero_copy_only=False).astype(bool)
    out = []
    for col in columns:
        v = pq.read_table(clips_path, columns=[col]).column(col).to_numpy(zero_copy_only=False).astype(float)
        finite = np.isfinite(v)
        fig, ax = plt.subplots(figsize=(3.6, 2.3))
        if finite.any():
            bins = np.histogram_bin_edges(v[finite], bins=min(30, max(5, int(finite.sum()))))
            ax.hist([v[finite & kept], v[finite & ~kept]], bins=bins, stacked=True, color=["#2a9d8f", "#e76f51"], label=["kept", "rejected"])
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, f"all {len(v)} values NaN", ha="center", va="center", transform=ax.transAxes)
        if col in thresholds:
            t = thresholds[col]
            ax.axvline(t, color="k", ls="--", lw=1)
            ax.text(t, ax.get_ylim()[1] * 0.95, f" threshold {t:.3g}", fontsize=7, va="top")
        ax.set_title(f"{col} ({int(finite.sum())} of {len(v)} finite)", fontsize=8)
        ax.tick_params(labelsize=7)
        out.append((col, _png(fig)))
    return out


def pick(table: pd.DataFrame, n: int) -> pd.DataFrame:
    """At most ``n`` rows spread evenly over the VTSS order (all rows when there are few)."""
    if len(table) <= n:
        return table
    order = table.sort_values(["vtss", "clip_id"], na_position="last")
    return order.iloc[np.unique(np.linspace(0, len(order) - 1, n).round().astype(int))]


def _fmt(x) -> str:
    if isinstance(x, (float, np.floating)):
        return "NaN" if not math.isfinite(x) else f"{x:.4g}"
    return html.escape(str(x))


def _card(r: dict, metric_cols: list[str]) -> str:
    state = "kept" if r["kept"] else "rejected"
    poster = f'<img class="poster" src="{html.escape(r.get("poster") or "")}" alt="poster of {html.escape(r["clip_id"])}">' if r.get("poster") else '<div class="noposter">no poster</div>'
    main = " · ".join(f"{m.replace('_score', '')} {_fmt(r.get(m, math.nan))}" for m in CARD_METRICS if m in r)
    rest = "".join(f"<tr><td>{html.escape(m)}</td><td>{_fmt(r.get(m, math.nan))}</td></tr>" for m in metric_cols)
    reason = f'<p class="reason">rejected: {html.escape(r["reason"])}</p>' if not r["kept"] else ""
    span = f'{r["start_sec"]:.2f}-{r["end_sec"]:.2f} s'
    return (f'<figure class="clip {state}" id="clip-{html.escape(r["clip_id"])}" data-clip-id="{html.escape(r["clip_id"])}">{poster}'
            f'<figcaption><b>{html.escape(r["clip_id"])}</b> <span class="span">{span}</span><br>'
            f'<span class="vtss">VTSS {_fmt(r.get("vtss", math.nan))}</span> · {main}{reason}'
            f'<p class="caption">{html.escape(str(r.get("caption") or ""))}</p>'
            f'<details><summary>sub-metrics</summary><table>{rest}</table></details></figcaption></figure>')


CSS = """body{font-family:sans-serif;margin:1.5em;max-width:1400px}h1{font-size:1.4em}
.gallery{display:flex;flex-wrap:wrap;gap:10px}.clip{width:300px;margin:0;border:1px solid #ccc;padding:6px;font-size:12px}
.clip.kept{border-left:5px solid #2a9d8f}.clip.rejected{border-left:5px solid #e76f51}.poster{max-width:100%;display:block}
.reason{color:#b23a16;margin:4px 0}.caption{color:#333;max-height:8em;overflow:auto}.plots img{margin:4px}
table.t{border-collapse:collapse}table.t td,table.t th{border:1px solid #ddd;padding:2px 8px;font-size:13px}"""

SCRIPT = """window.addEventListener('load',function(){var imgs=document.querySelectorAll('img.poster');var ok=0;
imgs.forEach(function(i){if(i.complete&&i.naturalWidth>0)ok++;});document.body.setAttribute('data-posters-loaded',ok);
document.body.setAttribute('data-posters',imgs.length);});"""


def write_report(out_dir: Path, *, summary: dict, rule, params: Params) -> Path:
    """Write ``OUT/report.html`` from the run's clips.parquet, errors.parquet and summary."""
    clips_path = out_dir / "clips.parquet"
    schema = pq.read_schema(clips_path)
    numeric = [n for n in schema.names if n not in ("start_frame", "end_frame", "clip_index", "frames_scored", "threshold")
               and (str(schema.field(n).type).startswith(("double", "float")))]
    metric_cols = [n for n in numeric if n not in ("start_sec", "end_sec", "fps", "vtss", "vtss_raw")]
    cols = [c for c in ["clip_id", "video_id", "start_sec", "end_sec", "kept", "reason", "vtss", "caption", "poster"] + metric_cols
            if c in schema.names]
    n = params.curate.gallery_clips
    kept_parts, rej_parts = [], []
    for batch in pq.ParquetFile(clips_path).iter_batches(batch_size=65536, columns=cols):  # flat memory: keep a few per batch
        b = batch.to_pandas()
        kept_parts.append(pick(b[b["kept"].astype(bool)], n))
        rej_parts.append(pick(b[~b["kept"].astype(bool)], n))
    kept = pick(pd.concat(kept_parts, ignore_index=True), n) if kept_parts else pd.DataFrame(columns=cols)
    rejected = pick(pd.concat(rej_parts, ignore_index=True), n) if rej_parts else pd.DataFrame(columns=cols)
    value = rule.value if rule is not None else None
    lines = {"vtss": value} if value is not None and math.isfinite(value) else {}
    if summary["threshold"].get("method") == "manual":  # the baseline's per-metric thresholds
        from koala.filter.threshold import manual_rules

        lines.update({r.metric: r.value for r in manual_rules(params.filter)})
    plots = distributions(clips_path, [c for c in ["vtss"] + metric_cols if c in schema.names], thresholds=lines) if summary["clips"] else []
    errors = read_table(out_dir / "errors.parquet")
    sec = summary.get("seconds", {})
    thr = summary["threshold"]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>koala curate report</title>",
        f"<style>{CSS}</style><script>{SCRIPT}</script></head><body>",
        f"<h1>koala curate: {summary['videos']} videos, {summary['clips']} clips, {summary['kept']} kept</h1>",
        "<table class='t'>",
        f"<tr><th>videos</th><td>{summary['videos']} ({summary['videos_ok']} readable, {summary['source_hours']:.4f} h)</td></tr>",
        f"<tr><th>clips</th><td>{summary['clips']} ({summary['clip_hours']:.4f} h)</td></tr>",
        f"<tr><th>kept</th><td>{summary['kept']} ({_fmt((summary['kept_share'] or 0) * 100)} %; the paper keeps 75 %: 36M of 48M, §4.3.2)</td></tr>",
        f"<tr><th>too short</th><td>{summary.get('too_short', 0)} clips shorter than {summary.get('min_clip_sec', float('nan'))} s (not kept; filter.min_clip_sec)</td></tr>",
        f"<tr><th>VTSS model</th><td>{html.escape(summary['vtss_model'])}</td></tr>",
        f"<tr><th>threshold</th><td>{_fmt(thr.get('value'))} ({html.escape(str(thr.get('method')))}) {html.escape(str(thr.get('reason') or ''))}"
        " — the paper cuts at 2.5, the valley of its bimodal VTSS histogram (Fig. 7)</td></tr>",
        f"<tr><th>errors</th><td>{summary['errors']}</td></tr></table>",
        "<h2>Time per stage (this run, seconds)</h2><table class='t'><tr>" + "".join(f"<th>{html.escape(s)}</th>" for s in sec) + "</tr><tr>"
        + "".join(f"<td>{v:.2f}</td>" for v in sec.values()) + "</tr></table>",
        "<h2>Distributions</h2><div class='plots'>" + "".join(f"<img alt='{html.escape(c)}' src='{src}'>" for c, src in plots) + "</div>",
        f"<h2>Kept clips ({len(kept)} of {summary['kept']} shown)</h2><div class='gallery' id='kept'>",
        "".join(_card(r, metric_cols) for r in kept.to_dict("records")),
        f"</div><h2>Rejected clips ({len(rejected)} of {summary['clips'] - summary['kept']} shown)</h2><div class='gallery' id='rejected'>",
        "".join(_card(r, metric_cols) for r in rejected.to_dict("records")),
        "</div><h2>Errors</h2><table class='t'><tr><th>stage</th><th>input</th><th>reason</th></tr>",
        "".join(f"<tr><td>{html.escape(str(e.stage))}</td><td>{html.escape(str(e.path or e.key))}</td><td>{html.escape(str(e.message))}</td></tr>"
                for e in errors.itertuples()),
        "</table>",
        f"<h2>Configuration</h2><pre>{html.escape(json.dumps({'curate': _asdict(params.curate), 'split_method': params.split.method, 'caption_backend': params.caption.backend}, indent=1))}</pre>",
        "</body></html>",
    ]
    from koala.io.atomic import write_text

    path = out_dir / "report.html"
    write_text(path, "\n".join(parts))
    return path


def _asdict(cfg) -> dict:
    from koala.config import to_dict

    return to_dict(cfg)


STAGE_SCHEMA = None  # posters are files; the table (clip_id, poster) is not written on its own


def as_stage(clips: pd.DataFrame, params: Params, engine: EngineConfig) -> StageResult:
    """A poster JPEG per clip under ``curate.out_dir/posters`` (:func:`koala.curate.report.make_posters`)."""
    table, errors = make_posters(clips, out_dir=Path(params.curate.out_dir), cfg=params.curate, engine=engine)
    return StageResult(table, errors)
