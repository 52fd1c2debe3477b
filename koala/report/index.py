"""reports/index.html: one page linking every stage report, with each stage's metrics."""

from __future__ import annotations

import html
import json
from pathlib import Path

import yaml

from koala.io.atomic import write_text


def stage_reports(dvc_yaml: str | Path = "dvc.yaml") -> list[dict]:
    """The stages of dvc.yaml in order, with the HTML report and metrics files each declares."""
    with open(dvc_yaml) as fh:
        stages = (yaml.safe_load(fh) or {}).get("stages", {})
    out = []
    for name, stage in stages.items():
        outs = [next(iter(o)) if isinstance(o, dict) else o for o in stage.get("outs", [])]
        metrics = [next(iter(m)) if isinstance(m, dict) else m for m in stage.get("metrics", [])]
        htmls = [o for o in outs if str(o).endswith(".html") and not str(o).endswith("index.html")]
        if htmls or metrics:
            out.append({"stage": name, "desc": stage.get("desc", ""), "html": htmls, "metrics": metrics})
    return out


def build_index(*, dvc_yaml: str | Path = "dvc.yaml", out: str | Path = "reports/index.html", title: str = "koala") -> Path:
    """Write the index page; reports that are not rendered yet are listed as missing."""
    out = Path(out)
    rows = []
    for st in stage_reports(dvc_yaml):
        links = []
        for h in st["html"]:
            rel = Path(h).relative_to(out.parent) if Path(h).is_relative_to(out.parent) else Path(h)
            if Path(h).exists():
                links.append(f'<a href="{html.escape(str(rel))}">{html.escape(rel.name)}</a>')
            else:
                links.append(f'<span class="missing">{html.escape(rel.name)} (not rendered yet: run dvc repro)</span>')
        metrics_html = "".join(_metrics_block(m) for m in st["metrics"])
        rows.append(
            f"<tr><td><b>{html.escape(st['stage'])}</b><br><small>{html.escape(st['desc'])}</small></td>"
            f"<td>{'<br>'.join(links) or '&ndash;'}</td><td>{metrics_html or '&ndash;'}</td></tr>"
        )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 70em; margin: 2em auto; padding: 0 1em; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }} td, th {{ border: 1px solid #ccc; padding: .5em; vertical-align: top; text-align: left; }}
.missing {{ color: #a33; }} pre {{ margin: 0; font-size: .85em; white-space: pre-wrap; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Stage reports of the Koala-36M reproduction (arXiv 2410.08260), in pipeline order. Each report is an
executed notebook; its figures and tables sit next to the paper's published numbers.</p>
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
    return f"<pre>{html.escape(json.dumps(data, indent=1, sort_keys=True))}</pre>"
