"""The curation report: every clip with its poster, caption, scores and reason; opens offline in a real browser."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from koala.cli import main
from koala.io.tables import read_table


class Cards(HTMLParser):
    """Collects the clip cards (figure data-clip-id) and every img src of a page."""

    def __init__(self):
        super().__init__()
        self.cards: dict[str, str] = {}
        self.imgs: list[str] = []
        self.body: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "figure" and "data-clip-id" in a:
            self.cards[a["data-clip-id"]] = a.get("class", "")
        if tag == "img":
            self.imgs.append(a.get("src", ""))
        if tag == "body":
            self.body = a


def parse(text: str) -> Cards:
    p = Cards()
    p.feed(text)
    return p


def test_report_lists_every_clip_with_poster_scores_and_the_errors(curated):
    out = curated["out"]
    text = (out / "report.html").read_text()
    page = parse(text)
    table = read_table(out / "clips.parquet")
    assert set(page.cards) == set(table["clip_id"])
    assert all("kept" in c.split() for c in page.cards.values())
    posters = [s for s in page.imgs if not s.startswith("data:")]
    assert len(posters) == len(table) and all((out / s).is_file() for s in posters)  # relative paths: opens offline
    assert not any(s.startswith(("http:", "https:", "/")) for s in page.imgs)
    plots = [s for s in page.imgs if s.startswith("data:image/png;base64,")]
    assert len(plots) >= 10  # VTSS and every sub-metric
    for caption in table["caption"]:
        assert caption.split(".")[0] in text
    for path, _ in curated["bad"].values():
        assert str(Path(path).absolute()) in text
    assert re.search(r"<th>split</th>.*<th>score</th>.*<th>caption</th>.*<th>vtss</th>", text, re.S)


def test_rejected_clips_show_their_reason(curated, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(curated["out"], out)
    params = tmp_path / "params.yaml"
    params.write_text(curated["params"].read_text().replace("rule: manual", "rule: fixed"))
    assert main(["curate", str(curated["list"]), "--out", str(out), "--params", str(params)]) == 0
    text = (out / "report.html").read_text()
    page = parse(text)
    assert page.cards and all("rejected" in c.split() for c in page.cards.values())
    assert text.count("rejected: vtss NaN (no VTSS model") == len(page.cards)
    assert "<td>2.5 (fixed)" in text


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    pytest.skip("no headless chromium here (Debian: apt-get install chromium)")


@pytest.mark.timeout(120)
def test_the_page_loads_in_headless_chromium_with_every_clip_and_poster(curated, tmp_path, home_env):
    """Chromium renders the page from the output folder (file://, no network) and runs its script."""
    page_path = (curated["out"] / "report.html").resolve()
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
           f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom", page_path.as_uri()]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=90, env=home_env).stdout
    page = parse(dom)
    clips = set(read_table(curated["out"] / "clips.parquet")["clip_id"])
    assert set(page.cards) == clips
    assert page.body.get("data-posters") == str(len(clips))
    assert page.body.get("data-posters-loaded") == str(len(clips)), "a poster did not load in the browser"
