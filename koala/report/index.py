"""reports/index.html: every reproduced paper table beside the paper's numbers, and the stage reports.

The page opens with one headline table per reproduced paper item (ours, the paper's, the
difference, why they differ; :mod:`koala.report.paper`), each linking the stage report that
regenerates it in full; then the stage reports in pipeline order (without and with code), with
their raw metrics collapsed. Everything is read from dvc.yaml, ``reports/metrics/*.json`` and the
paper's numbers in ``paper.yaml``.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import yaml

from koala.io.atomic import write_text
from koala.report.paper import Headline, headlines, load_paper, read_metrics


def stage_reports(dvc_yaml: str | Path = "dvc.yaml") -> list[dict]:
    """The stages of dvc.yaml in order, with the HTML reports and metrics files each declares.

    ``html`` lists the reports without code, ``code_html`` their with-code copies (``*.code.html``).
    """
    with open(dvc_yaml) as fh:
        stages = (yaml.safe_load(fh) or {}).get("stages", {})
    out = []
    for name, stage in stages.items():
        outs = [next(iter(o)) if isinstance(o, dict) else o for o in stage.get("outs", [])]
        metrics = [next(iter(m)) if isinstance(m, dict) else m for m in stage.get("metrics", [])]
        pages = [str(o) for o in outs if str(o).endswith(".html") and not str(o).endswith("index.html")]
        htmls = [o for o in pages if not o.endswith(".code.html")]
        code = [o for o in pages if o.endswith(".code.html")]
        if htmls or metrics:
            out.append({"stage": name, "desc": stage.get("desc", ""), "html": htmls, "code_html": code, "metrics": metrics})
    return out


def _rel(path: str, base: Path) -> Path:
    p = Path(path)
    return p.relative_to(base) if p.is_relative_to(base) else p


def _link(path: str, base: Path, label: str | None = None) -> str:
    rel = _rel(path, base)
    text = html.escape(label or rel.name)
    if Path(path).exists():
        return f'<a href="{html.escape(str(rel))}">{text}</a>'
    return f'<span class="missing">{text} (not rendered yet: run dvc repro)</span>'


def _code(text: str) -> str:
    """Escaped text with `backticked` names as <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def _headline_html(h: Headline, reports: dict[str, dict], base: Path) -> str:
    st = reports.get(h.stage, {})
    links = " ".join(_link(p, base, f"stage report {Path(p).name}") for p in st.get("html", []))
    links += "".join(f" ({_link(p, base, 'with code')})" for p in st.get("code_html", []))
    if h.missing:
        body = f'<p class="missing">not computed yet: {html.escape(", ".join(h.missing))} is missing (run dvc repro)</p>'
    else:
        rows = "".join("<tr>" + "".join(f"<td>{_code(c)}</td>" for c in r.cells()) + "</tr>" for r in h.rows)
        body = (f"<table><tr><th>quantity</th><th>ours</th><th>paper</th><th>difference (ours - paper)</th></tr>{rows}</table>")
    note = f"<p>{html.escape(h.note)}</p>" if h.note else ""
    return (f'<section id="{h.key}"><h2>{html.escape(h.title)}</h2>{body}'
            f'<p class="why"><b>Why they differ.</b> {html.escape(h.why)}</p>{note}<p>{links}</p></section>')


def build_index(*, dvc_yaml: str | Path = "dvc.yaml", out: str | Path = "reports/index.html", title: str = "koala",
                metrics_dir: str | Path = "reports/metrics") -> Path:
    """Write the index page; reports and metrics not made yet are named as missing."""
    out = Path(out)
    base = out.parent
    reports = stage_reports(dvc_yaml)
    by_stage = {st["stage"]: st for st in reports}
    metrics = read_metrics(metrics_dir)
    paper = load_paper()
    items = headlines(metrics, paper)
    toc = " &middot; ".join(f'<a href="#{h.key}">{html.escape(h.title.split(" (")[0])}</a>' for h in items)
    sections = "".join(_headline_html(h, by_stage, base) for h in items)
    rows = []
    for st in reports:
        links = [_link(h, base) for h in st["html"]] + [_link(h, base, f"{Path(h).name} (with code)") for h in st["code_html"]]
        metrics_html = "".join(_metrics_block(m) for m in st["metrics"])
        rows.append(
            f"<tr><td><b>{html.escape(st['stage'])}</b><br><small>{html.escape(st['desc'])}</small></td>"
            f"<td>{'<br>'.join(links) or '&ndash;'}</td><td>{metrics_html or '&ndash;'}</td></tr>"
        )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 72em; margin: 2em auto; padding: 0 1em; color: #222; }}
table {{ border-collapse: collapse; width: 100%; margin: .5em 0; }}
td, th {{ border: 1px solid #ccc; padding: .35em .5em; vertical-align: top; text-align: left; }}
td:nth-child(n+2) {{ white-space: nowrap; font-variant-numeric: tabular-nums; }}
.missing {{ color: #a33; }} .why {{ color: #333; }} pre {{ margin: 0; font-size: .85em; white-space: pre-wrap; }}
section {{ margin-bottom: 1.5em; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>The Koala-36M pipeline (arXiv 2410.08260) reproduced on a small real corpus. Each section below is one
paper table or figure: our number beside the paper's, the difference, and why they differ; the stage
report linked under it regenerates the whole table with its figures. Our numbers are read from
<code>reports/metrics/*.json</code>, the paper's from <code>koala/report/paper.yaml</code>; a dash is a
number that was not computed (or that the paper does not publish).</p>
<p>{toc}</p>
{sections}
<h2>Stage reports</h2>
<table><tr><th>stage</th><th>report</th><th>metrics</th></tr>
{''.join(rows)}
</table></body></html>
"""
    return write_text(out, page)


def _metrics_block(path: str) -> str:
    p = Path(path)
    if not p.exists():
        return f'<span class="missing">{html.escape(p.name)} missing</span>'
    data = json.loads(p.read_text())
    return (f"<details><summary>{html.escape(p.name)}</summary>"
            f"<pre>{html.escape(json.dumps(data, indent=1, sort_keys=True))}</pre></details>")
