"""reports/index.html links every stage report that dvc.yaml declares."""

import html
import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from koala.report.index import build_index, stage_reports

ROOT = Path(__file__).resolve().parents[2]
DVC = """
stages:
  a:
    desc: first
    cmd: koala notebook 00_a
    outs: [reports/00_a.html, data/x]
    metrics: [{reports/metrics/a.json: {cache: false}}]
  b:
    cmd: koala notebook 01_b
    outs: [{reports/01_b.html: {cache: false}}]
  index:
    cmd: koala report
    outs: [reports/index.html]
"""


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs.append(dict(attrs)["href"])


def _setup(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("dvc.yaml").write_text(DVC)
    Path("reports/metrics").mkdir(parents=True)
    Path("reports/00_a.html").write_text("<html>a</html>")
    Path("reports/metrics/a.json").write_text('{"clips": 7}')


def test_index_links_rendered_reports_and_flags_missing_ones(tmp_path, monkeypatch):
    _setup(tmp_path, monkeypatch)
    assert [s["stage"] for s in stage_reports()] == ["a", "b"]
    page = build_index().read_text()
    parser = _Links()
    parser.feed(page)
    assert [h for h in parser.hrefs if not h.startswith("#")] == ["00_a.html"]
    assert "01_b.html (not rendered yet" in page and '"clips": 7' in html.unescape(page)
    # No stage of this dvc.yaml made the metrics a paper table needs: each says so instead of showing numbers.
    assert page.count("not computed yet") == 9 and "reports/metrics/split.json is missing" in page


def test_project_dvc_yaml_lists_every_notebook_report():
    stems = {p.stem for p in (ROOT / "notebooks").glob("*.ipynb")}
    listed = {Path(h).stem for s in stage_reports(ROOT / "dvc.yaml") for h in s["html"]}
    assert stems == listed


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium not installed")
@pytest.mark.timeout(120)
def test_index_opens_in_a_headless_browser(tmp_path, monkeypatch, home_env):
    _setup(tmp_path, monkeypatch)
    out = build_index()
    res = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
         "--dump-dom", out.resolve().as_uri()],
        capture_output=True, text=True, timeout=90, env=home_env,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'href="00_a.html"' in res.stdout and "<table>" in res.stdout


def test_index_puts_every_reproduced_table_beside_the_papers_numbers(tmp_path, monkeypatch):
    """With the committed metrics: one section per paper item, ours beside the paper's, links to the stage reports."""
    _setup(tmp_path, monkeypatch)
    shutil.copy(ROOT / "dvc.yaml", "dvc.yaml")
    for f in (ROOT / "reports" / "metrics").glob("*.json"):
        shutil.copy(f, Path("reports/metrics") / f.name)
    Path("reports/02_split.html").write_text("<html>split</html>")
    page = build_index().read_text()
    for item in ("table1", "table2", "table3", "table4", "table5", "table6", "table7", "table8", "fig7"):
        assert f'<section id="{item}">' in page
    split = json.loads((ROOT / "reports/metrics/split.json").read_text())
    css = split["methods"]["css"]["paper"]
    assert f"{css['accuracy']:.3f} / {css['recall']:.3f} / {css['precision']:.3f}" in page  # ours
    assert "0.774 / 0.940 / 0.755" in page  # the paper's CSS row (Table 3)
    assert "Why they differ." in page and 'href="02_split.html"' in page
    assert "not computed yet" not in page
