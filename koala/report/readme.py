"""README result tables, generated from ``reports/metrics/*.json`` between markers.

A block ``<!-- koala:results:NAME -->`` ... ``<!-- /koala:results:NAME -->`` in README.md is
rewritten by ``koala report`` (and the DVC report stage) from the metrics, so no result number in
those tables is typed by hand; a test checks the committed README against the committed metrics.
Text outside the markers is left exactly as it is.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

from koala.io.atomic import write_text
from koala.report.benchmarks import bench_block
from koala.report.paper import DASH, diff, dig, fmt, headlines, load_paper, num

START, END = "<!-- koala:results:{} -->", "<!-- /koala:results:{} -->"


class MarkerError(ValueError):
    """README.md's result markers are unbalanced or name a table that does not exist."""


def _md(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table (pipes in cells escaped)."""
    esc = lambda c: str(c).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(esc(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _pct(x) -> str:
    v = num(x)
    return DASH if v is None else f"{100 * v:.1f} %"


def headline_table(metrics: dict[str, dict], paper: dict) -> str:
    """One line per reproduced paper item: its main headline row (reports/index.html has them all)."""
    rows = []
    for h in headlines(metrics, paper):
        if not h.rows:
            rows.append([h.title.split(" (")[0], "not computed yet", DASH, DASH, DASH])
            continue
        q, ours, pap, d = h.main_row.cells()
        rows.append([h.title.split(" (")[0], q, ours, pap, d])
    return _md(["paper item", "quantity", "ours", "paper", "difference"], rows)


def split_table(metrics: dict[str, dict], paper: dict) -> str:
    """Every split method on the benchmark's truth, best boundary F1 first, with Table 3's clip-level numbers."""
    split = metrics.get("split", {})
    methods = split.get("methods", {})
    css = paper["table3"]["rows"]["css"]
    auto = split.get("detector")
    names = {"content": '`content` ("HSL")', "content_edges": '`content_edges` ("HSL + edge")', "css": "`css` (the paper's)"}
    order = sorted(methods, key=lambda m: -(num(methods[m].get("f1")) or -1.0))
    rows = []
    for m in order:
        r = methods[m]
        label = names.get(m, f"`{m}`") + (" (`auto`)" if m == auto else "")
        f1 = fmt(r.get("f1"))
        p = r.get("paper", {})
        rows.append([label, f"**{f1}**" if m == auto else f1, fmt((r.get("precision"), r.get("recall"))), fmt(r.get("recall_gradual")),
                     _pct(r.get("dirty_share")) + (f" ({r.get('dirty_clips')} of {r.get('clips')})" if m == auto else ""),
                     str(r.get("negative_detections", DASH)),
                     fmt((p.get("accuracy"), p.get("recall"), p.get("precision")))])
    for m, why in split.get("missing_methods", {}).items():
        rows.append([f"`{m}`", f"not run: {why}", "", "", "", "", ""])
    paper_css = fmt((css["accuracy"], css["recall"], css["precision"]))
    return _md(["method", "boundary F1", "P / R", "recall, gradual", "clips holding a transition", "negatives fired on",
                f"Table 3 style acc / R / P (paper's CSS row: {paper_css})"], rows)


def split_heldout_table(metrics: dict[str, dict], paper: dict) -> str:
    """Every split method on the held-out real edit (sources never trained or tuned on), best F1 first."""
    held = metrics.get("split", {}).get("heldout", {})
    methods = held.get("methods", {})
    auto = metrics.get("split", {}).get("detector")
    names = {"content": '`content` ("HSL")', "content_edges": '`content_edges` ("HSL + edge")', "css": "`css` (the paper's)"}
    ok = {m: r for m, r in methods.items() if "missing" not in r}
    rows = []
    for m in sorted(ok, key=lambda m: -(num(ok[m].get("f1")) or -1.0)):
        r = ok[m]
        f1 = fmt(r.get("f1"))
        rows.append([names.get(m, f"`{m}`") + (" (`auto`)" if m == auto else ""), f"**{f1}**" if m == auto else f1,
                     fmt((r.get("precision"), r.get("recall"))), fmt(r.get("recall_gradual")), fmt(r.get("yield")),
                     _pct(r.get("impure_share"))])
    for m, r in methods.items():
        if "missing" in r:
            rows.append([f"`{m}`", f"not run: {r['missing']}", "", "", "", ""])
    if "missing" in held:
        rows.append(["(none)", f"not run: {held['missing']}", "", "", "", ""])
    n, g = held.get("transitions"), sum(v for k, v in held.get("transitions_by_type", {}).items() if k != "cut")
    return _md(["method", f"boundary F1 ({n if n is not None else DASH} transitions, {g} gradual)", "P / R", "recall, gradual", "yield",
                "impure clips"], rows)


def vtss_table(metrics: dict[str, dict], paper: dict) -> str:
    """Tables 5 and 6 on proxy labels, leave-source-out, beside the paper's PLCC; keep/reject at 2.5 after calibration."""
    vt = metrics.get("vtss", {})
    res, kr = vt.get("results", {}), vt.get("keep_reject", {})
    t5, t6 = paper["table5"]["rows"], paper["table6"]["rows"]
    spec = [("dynamic", "dynamic branch only (= FAST-VQA)", t5["dynamic"]["plcc"]),
            ("static", "+ static branch", t5["static"]["plcc"]),
            ("label", "+ label branch", t5["label"]["plcc"]),
            ("full", "+ WCGB (full TSA)", t5["full"]["plcc"]),
            ("dover", "DOVER-style two views", t6["dover"]["plcc"]),
            ("label_only", "sub-metrics only (not in the paper)", None)]
    spec += [(v, f"`{v}` (ours)", None) for v in res if v not in {s[0] for s in spec}]

    def pm(v: str, key: str) -> str:
        m, sd = dig(res, v, key), dig(res, v, f"{key}_sd")
        return fmt(m) if num(sd) is None else f"{fmt(m)} +- {fmt(sd)}"

    rows = [[name + (" **(default)**" if v == dig(vt, "calibration", "variant") else ""), pm(v, "plcc"), pm(v, "srcc"),
             _pct(dig(kr, v, "calibrated", "clean_kept")), _pct(dig(kr, v, "calibrated", "damaged_rejected")),
             _pct(dig(kr, v, "calibrated_label_below", "damaged_rejected")),
             str(dig(res, v, "folds") or DASH), str(dig(res, v, "n") or DASH), fmt(p)]
            for v, name, p in spec if v in res or p is not None]
    n_src = len(vt.get("sources") or [])
    return _md(["Table 5/6 row", f"proxy PLCC, held-out sources ({n_src or DASH} sources)", "SRCC",
                "clean kept at 2.5", "damaged rejected (severity >= 2)", "damaged rejected (proxy label < 2.5)", "folds",
                "test clips", "paper PLCC"], rows)


def condition_table(metrics: dict[str, dict], paper: dict) -> str:
    """The two conditioning variants: how well each follows the asked motion, and what else it changes."""
    cond = metrics.get("condition", {})
    rows = []
    for v, name in (("adaln", "`adaln` (paper)"), ("text", "`text` (numbers in the caption)")):
        r = dig(cond, "variants", v) or {}
        rows.append([name, f"{fmt(r.get('spearman'))} ({fmt(r.get('spearman_min'))})", fmt(r.get("spearman_pooled")),
                     fmt(r.get("drift")), fmt(r.get("motion_response")), fmt(r.get("drift_per_response"), 2)])
    t = cond.get("targets", {})

    def met(*keys: str) -> str:
        if any(k not in t for k in keys):
            return DASH
        return "**met**" if all(t[k] for k in keys) else "**not met**"

    rows.append(["issue 7 target", f">= 0.8 and above text: {met('adaln_spearman_at_least_0.8', 'adaln_spearman_above_text')}",
                 "", f"below text: {met('adaln_drift_below_text')}", "", f"below text: {met('adaln_drift_per_response_below_text')}"])
    dd = paper["table2"]["dynamic_degree"]
    rows.append(["paper (Table 2, VBench Dynamic Degree)", DASH, "", DASH, "", f"Koala-36M {fmt(dd['koala36m'])}, with conditions "
                 f"{fmt(dd['koala36m_condition'])} ({diff(dd['koala36m_condition'], dd['koala36m'])})"])
    return _md(["", "Spearman asked vs measured motion, mean over sweeps (min)", "pooled", "drift of the other metrics",
                "motion response", "drift per response"], rows)


def corpus_table(metrics: dict[str, dict], paper: dict) -> str:
    """What the corpus stage fetched and built (``corpus.json``)."""
    c = metrics.get("corpus", {})
    if not c:
        return _md(["corpus", "count"], [["not built yet", DASH]])

    def counts(key: str, names: dict | None = None) -> str:
        d = c.get(key) or {}
        return ", ".join(f"{(names or {}).get(k, k)} {v}" for k, v in sorted(d.items(), key=lambda kv: -kv[1])) or DASH

    rng = lambda key, unit="": DASH if not c.get(key) else f"{c[key][0]}{unit} to {c[key][1]}{unit}"  # noqa: E731
    longs = c.get("long_videos") or {}
    rows = [
        ["sample clips (seconds)", f"{c.get('samples', DASH)} ({fmt(c.get('sample_seconds'), 1)})"],
        ["real sources (packages they ship in)", f"{c.get('real_sources', DASH)} ({c.get('real_packages', DASH)})"],
        ["seconds of real video", fmt(c.get("real_seconds"), 1)],
        ["frame sizes; frame rates", f"{rng('real_size_range')}; {rng('real_fps_range', ' fps')}"],
        ["codecs", ", ".join(c.get("real_codecs") or []) or DASH],
        ["hand-checked shots; real cuts", f"{c.get('real_shots', DASH)}; {c.get('real_cuts', DASH)}"],
        ["shots by camera label", counts("real_by_camera")],
        ["shots by people count", counts("real_by_people", {"0": "none", "1": "one", "2": "two"})],
        ["shots by overlay text", counts("real_by_overlay_text", {"False": "none", "True": "overlay text"})],
        ["shots by letterbox", counts("real_by_letterbox", {"False": "none", "True": "bars"})],
        ["long edited videos (minutes)", ", ".join(f"`{k}` ({fmt(v, 1)})" for k, v in sorted(longs.items(), key=lambda kv: kv[1])) or DASH],
        ["their transitions", f"{c.get('long_transitions', DASH)}: {counts('long_transitions_by_type')}"],
        ["errors (real; long)", f"{c.get('real_errors', DASH)}; {c.get('long_errors', DASH)}"],
    ]
    return _md(["corpus", "count"], rows)


# The benchmark scripts whose results the README shows (block ``bench-<name>``; koala.report.benchmarks).
BENCHMARKS = ("decode", "long_video", "score_speed", "caption_speed", "split_speed", "vtss_predict_speed",
              "curate_throughput", "camera_accuracy", "facts_real", "audit_precision", "clarity_compare")

BLOCKS: dict[str, Callable[[dict, dict], str]] = {
    "headline": headline_table,
    "corpus": corpus_table,
    "split": split_table,
    "split_heldout": split_heldout_table,
    "vtss": vtss_table,
    "condition": condition_table,
    **{f"bench-{n}": (lambda metrics, paper, _n=n: bench_block(_n, metrics.get("benchmarks", {}))) for n in BENCHMARKS},
}


def render_blocks(metrics: dict[str, dict], paper: dict | None = None) -> dict[str, str]:
    """The Markdown of every generated README table."""
    paper = paper or load_paper()
    return {name: fn(metrics, paper) for name, fn in BLOCKS.items()}


def replace_blocks(text: str, blocks: dict[str, str]) -> str:
    """``text`` with each marked block's body replaced; markers of unknown tables or unpaired ones raise.

    Raises:
        MarkerError: a start marker without its end (or the reverse), or a name not in ``blocks``.
    """
    found = re.findall(r"<!-- (/?)koala:results:([\w-]+) -->", text)
    starts = [n for slash, n in found if not slash]
    ends = [n for slash, n in found if slash]
    if sorted(starts) != sorted(ends) or len(set(starts)) != len(starts):
        raise MarkerError(f"README result markers do not pair up: starts {starts}, ends {ends}")
    unknown = sorted(set(starts) - set(blocks))
    if unknown:
        raise MarkerError(f"README names result tables koala cannot generate: {unknown} (known: {sorted(blocks)})")
    for name in starts:
        pattern = re.compile(re.escape(START.format(name)) + r".*?" + re.escape(END.format(name)), re.S)
        text = pattern.sub(lambda _m: f"{START.format(name)}\n{blocks[name]}\n{END.format(name)}", text, count=1)
    return text


def marked_blocks(text: str) -> dict[str, str]:
    """The current body of each marked block (what :func:`replace_blocks` would overwrite)."""
    return {m.group(1): m.group(2).strip("\n") for m in
            re.finditer(r"<!-- koala:results:([\w-]+) -->(.*?)<!-- /koala:results:\1 -->", text, re.S)}


def update_readme(readme: str | Path = "README.md", *, metrics: dict[str, dict], paper: dict | None = None) -> bool:
    """Rewrite the marked tables of ``readme`` from ``metrics``; True when the file changed."""
    path = Path(readme)
    old = path.read_text()
    new = replace_blocks(old, render_blocks(metrics, paper))
    if new != old:
        write_text(path, new)
    return new != old
