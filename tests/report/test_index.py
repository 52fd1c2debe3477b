"""reports/index.html links every stage report that dvc.yaml declares."""

import html
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
    assert parser.hrefs == ["00_a.html"]
    assert "01_b.html (not rendered yet" in page and '"clips": 7' in html.unescape(page)


def test_project_dvc_yaml_lists_every_notebook_report():
    stems = {p.stem for p in (ROOT / "notebooks").glob("*.ipynb")}
    listed = {Path(h).stem for s in stage_reports(ROOT / "dvc.yaml") for h in s["html"]}
    assert stems == listed


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium not installed")
@pytest.mark.timeout(120)
def test_index_opens_in_a_headless_browser(tmp_path, monkeypatch):
    _setup(tmp_path, monkeypatch)
    out = build_index()
    res = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
         "--dump-dom", out.resolve().as_uri()],
        capture_output=True, text=True, timeout=90,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'href="00_a.html"' in res.stdout and "<table>" in res.stdout
