"""Citations point at the paper or at documents that live in this repository (issue 20)."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CITED = re.compile(r"docs/([A-Za-z0-9_.-]+\.md)")


def _tracked() -> list[Path]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return [ROOT / f for f in out if f.endswith((".py", ".ipynb", ".yaml", ".md", ".toml")) and (ROOT / f).is_file()]


def test_no_citation_of_a_document_outside_the_repo():
    for path in _tracked():
        if path.parent.name == "docs" or path == Path(__file__).resolve():
            continue
        text = path.read_text(errors="replace")
        assert not re.search(r"\bdigest §", text), f"{path}: cites 'digest §' (use docs/koala36m-paper.md § or the paper)"
        for name in CITED.findall(text):
            assert (ROOT / "docs" / name).is_file(), f"{path}: cites docs/{name}, which is not in the repository"
