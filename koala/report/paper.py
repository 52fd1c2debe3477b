"""Headline tables: each reproduced paper item, ours beside the paper's number, the difference, and why.

Our numbers come from the stages' ``reports/metrics/*.json``, the paper's from ``paper.yaml``
beside this file (with its table references); nothing here is typed by hand. A number a stage
did not compute (a missing file or key, a NaN) shows as a dash, never as a guess.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PAPER_YAML = Path(__file__).with_name("paper.yaml")
DASH = "–"


def load_paper(path: str | Path = PAPER_YAML) -> dict:
    """The paper's numbers (``paper.yaml``)."""
    return yaml.safe_load(Path(path).read_text())


def read_metrics(folder: str | Path = "reports/metrics") -> dict[str, dict]:
    """Every stage's metrics JSON by stage name (the file stem), and the benchmark scripts' results
    under ``"benchmarks"``; a stage not run yet is absent."""
    out = {}
    for p in sorted(Path(folder).glob("*.json")):
        out[p.stem] = json.loads(p.read_text())
    bench = Path(folder) / "benchmarks"  # the benchmark scripts' results (koala.report.benchmarks)
    if bench.is_dir():
        out["benchmarks"] = {p.stem: json.loads(p.read_text()) for p in sorted(bench.glob("*.json"))}
    return out


def dig(obj: Any, *keys) -> Any:
    """``obj[k1][k2]...``, or None where a key (or list index) is missing."""
    for k in keys:
        try:
            obj = obj[k]
        except (KeyError, IndexError, TypeError):
            return None
    return obj


def num(x: Any) -> float | None:
    """A finite float, or None (missing, null or NaN)."""
    if isinstance(x, bool) or x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def fmt(x: Any, digits: int = 3) -> str:
    """A number to ``digits`` decimals, a tuple as ``a / b``, a string as is; missing as a dash."""
    if isinstance(x, tuple):
        return " / ".join(fmt(v, digits) for v in x)
    if isinstance(x, str):
        return x
    v = num(x)
    if v is None:
        return DASH
    return f"{v:,.0f}" if digits == 0 else f"{v:.{digits}f}"


def diff(ours: Any, paper: Any, digits: int = 3) -> str:
    """ours - paper, signed, element-wise for tuples; a dash when either side is missing or they differ in kind."""
    if isinstance(ours, tuple) and isinstance(paper, tuple) and len(ours) == len(paper):
        return " / ".join(diff(o, p, digits) for o, p in zip(ours, paper))
    o, p = num(ours), num(paper)
    return DASH if o is None or p is None else f"{o - p:+.{digits}f}"


@dataclass
class Row:
    quantity: str
    ours: Any
    paper: Any
    comparable: bool = True  # the same measure on both sides (else the difference is a dash)
    digits: int = 3
    main: bool = False  # the row that stands for the item in one-line summaries (else the first)

    def cells(self) -> tuple[str, str, str, str]:
        d = diff(self.ours, self.paper, self.digits) if self.comparable else DASH
        return self.quantity, fmt(self.ours, self.digits), fmt(self.paper, self.digits), d


@dataclass
class Headline:
    key: str  # paper.yaml key: table1, ..., fig7
    title: str  # the paper item, e.g. "Table 3 (App. A): ..."
    stage: str  # the stage whose report regenerates it
    rows: list[Row]
    why: str
    note: str = ""  # a measured fact from the metrics (e.g. why the threshold fell back)
    missing: list[str] = field(default_factory=list)  # metrics files it needs that are absent

    @property
    def main_row(self) -> Row | None:
        return next((r for r in self.rows if r.main), self.rows[0] if self.rows else None)


def headlines(metrics: dict[str, dict], paper: dict | None = None) -> list[Headline]:
    """One :class:`Headline` per reproduced paper item, in the paper's order."""
    paper = paper or load_paper()
    out = []
    for key, stage, build in _ITEMS:
        m = metrics.get(stage)
        item = paper[key]
        rows, note = build(m or {}, item) if m else ([], "")
        out.append(Headline(key=key, title=item["ref"], stage=stage, rows=rows, why=" ".join(paper["why"][key].split()),
                            note=note, missing=[] if m else [f"reports/metrics/{stage}.json"]))
    return out


# --- one builder per paper item: (stage metrics, paper.yaml item) -> (rows, note) ----------------


def _table1(m: dict, p: dict) -> tuple[list[Row], str]:
    kept = next((r for r in m.get("table1", []) if "kept" in str(r.get("dataset", ""))), {})
    clips = num(m.get("clips"))
    manual = num(m.get("manual_kept"))
    return [
        Row("Average caption length of the kept clips (words)", kept.get("atl_words"), p["koala36m"]["atl_words"], digits=1),
        Row("Share of the pool kept by the VTSS threshold", m.get("kept_share"), p["koala36m"]["videos"] / p["pool_clips"]),
        Row("Share of the pool kept by manual thresholds", manual / clips if manual is not None and clips else None,
            p["manual_clips"] / p["pool_clips"]),
        Row("Clips in the pool (ours: the sample corpus)", clips, p["pool_clips"], comparable=False, digits=0),
    ], ""


def _table2(m: dict, p: dict) -> tuple[list[Row], str]:
    adaln, text = dig(m, "variants", "adaln", "spearman"), dig(m, "variants", "text", "spearman")
    gain = num(adaln) - num(text) if num(adaln) is not None and num(text) is not None else None
    dd = p["dynamic_degree"]
    return [
        Row("Asked vs measured motion, Spearman: metric conditions through AdaLN (the paper's way)", adaln, None),
        Row("... the same numbers written into the caption (Open-Sora's way)", text, None),
        Row("Gain from metric conditioning (ours: Spearman AdaLN - text; paper: VBench Dynamic Degree, "
            "Koala-36M with - without conditions)", gain, dd["koala36m_condition"] - dd["koala36m"], comparable=False),
    ], ""


def _table3(m: dict, p: dict) -> tuple[list[Row], str]:
    rows = []
    for method, ref in p["rows"].items():
        ours = dig(m, "methods", method, "paper")
        ours = (ours.get("accuracy"), ours.get("recall"), ours.get("precision")) if ours else None
        rows.append(Row(f"`{method}` = {ref['name']}: accuracy / recall / precision", ours,
                        (ref["accuracy"], ref["recall"], ref["precision"])))
    learned = dig(m, "methods", "learned", "paper")
    if learned:
        rows.append(Row("`learned` (ours, `auto`): accuracy / recall / precision",
                        (learned.get("accuracy"), learned.get("recall"), learned.get("precision")), None))
    return rows, ""


def _table4(m: dict, p: dict) -> tuple[list[Row], str]:
    col = p["sizes"].index("512")  # the paper's column nearest the benchmark's size
    ms = {k: num(dig(m, "methods", k, "ms_per_frame")) for k in ("css", "content", "learned")}
    ratio = lambda a, b: a / b if a is not None and b else None  # noqa: E731
    paper_css, paper_hsl = p["rows"]["css"][col], p["rows"]["content"][col]
    return [
        Row("CSS, ms per frame (ours: benchmark videos; paper: 512 px)", ms["css"], paper_css, comparable=False, digits=2),
        Row("CSS time / ContentDetector (HSL) time (paper: 512 px)", ratio(ms["css"], ms["content"]), paper_css / paper_hsl, digits=2, main=True),
        Row("`learned` (ours) time / ContentDetector time", ratio(ms["learned"], ms["content"]), None, digits=2),
    ], ""


def _table5(m: dict, p: dict) -> tuple[list[Row], str]:
    rows = []
    for variant, ref in p["rows"].items():
        r = dig(m, "results", variant) or {}
        rows.append(Row(f"{ref['name']}: PLCC / SRCC (ours: proxy labels, held-out source)",
                        (r.get("plcc"), r.get("srcc")), (ref["plcc"], ref["srcc"]), main=variant == "full"))
    return rows, ""


def _table6(m: dict, p: dict) -> tuple[list[Row], str]:
    rows = [Row(f"{ref['name']}: PLCC", dig(m, "results", variant, "plcc"), ref["plcc"], main=variant == "full")
            for variant, ref in p["rows"].items()]
    only = dig(m, "results", "label_only", "plcc")
    if only is not None:
        rows.append(Row("Sub-metrics only (ours, not in the paper): PLCC", only, None))
    return rows, ""


def _table7(m: dict, p: dict) -> tuple[list[Row], str]:
    t = m.get("table7", {})
    return [Row(f"({a}, {b}): Pearson / Spearman", (t.get(f"pearson_{a}_{b}"), t.get(f"spearman_{a}_{b}")),
                (ref["pearson"], ref["spearman"]), main=(a, b) == ("clarity", "motion"))
            for (a, b), ref in ((k.split("_"), v) for k, v in p["rows"].items())], ""


def _table8(m: dict, p: dict) -> tuple[list[Row], str]:
    ours = {r.get("shifted"): r for r in m.get("table8", [])}
    return [Row(f"Thresholds shifted: {ref['shifted']}: share of clips mis-filtered",
                dig(ours, ref["shifted"], "either_share"), ref["misfiltered"] / p["pool"], digits=4) for ref in p["rows"]], ""


def _fig7(m: dict, p: dict) -> tuple[list[Row], str]:
    th = m.get("threshold", {})
    how = f" ({th['method']})" if th.get("method") else ""
    note = f"Our threshold rule: {th['reason']}." if th.get("reason") else ""
    return [
        Row(f"VTSS threshold{how}", th.get("value"), p["threshold"], digits=2),
        Row("Share of clips kept", m.get("kept_share"), p["kept_share"]),
    ], note


_ITEMS = [
    ("table1", "filter", _table1),
    ("table2", "condition", _table2),
    ("table3", "split", _table3),
    ("table4", "split", _table4),
    ("table5", "vtss", _table5),
    ("table6", "vtss", _table6),
    ("table7", "score", _table7),
    ("table8", "filter", _table8),
    ("fig7", "filter", _fig7),
]
