"""README.md's result tables are generated from reports/metrics: the committed README agrees with the committed metrics."""

from pathlib import Path

import pytest

from koala.report.paper import read_metrics
from koala.report.readme import BLOCKS, MarkerError, marked_blocks, render_blocks, replace_blocks, update_readme

ROOT = Path(__file__).resolve().parents[2]


def test_readme_tables_agree_with_the_committed_metrics():
    """Run `koala report` (or `dvc repro report`) after the metrics change, and commit both."""
    readme = (ROOT / "README.md").read_text()
    have = marked_blocks(readme)
    assert set(have) == set(BLOCKS), f"README markers {sorted(have)} != generated tables {sorted(BLOCKS)}"
    want = render_blocks(read_metrics(ROOT / "reports" / "metrics"))
    stale = [name for name in BLOCKS if have[name] != want[name]]
    assert not stale, f"README result tables out of step with reports/metrics: {stale}; run `koala report`"


def test_replace_blocks_rewrites_only_between_the_markers():
    text = "intro\n<!-- koala:results:split -->\nold | table\n<!-- /koala:results:split -->\noutro 0.5\n"
    out = replace_blocks(text, {"split": "| new |"})
    assert out == "intro\n<!-- koala:results:split -->\n| new |\n<!-- /koala:results:split -->\noutro 0.5\n"
    assert replace_blocks(out, {"split": "| new |"}) == out  # idempotent


@pytest.mark.parametrize("text, words", [
    ("<!-- koala:results:split -->\nno end\n", "do not pair up"),
    ("<!-- koala:results:nope -->\n<!-- /koala:results:nope -->\n", "cannot generate"),
])
def test_bad_markers_are_a_clear_error(text, words):
    with pytest.raises(MarkerError, match=words):
        replace_blocks(text, {"split": ""})


def test_update_readme_follows_the_metrics(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# x\n" + "".join(f"<!-- koala:results:{n} -->\n<!-- /koala:results:{n} -->\n" for n in BLOCKS))
    metrics = read_metrics(ROOT / "reports" / "metrics")
    assert update_readme(readme, metrics=metrics) is True
    assert update_readme(readme, metrics=metrics) is False  # nothing left to change
    metrics["split"]["methods"]["css"]["f1"] = 0.123456
    assert update_readme(readme, metrics=metrics) is True and "| 0.123 |" in readme.read_text()


def test_tables_without_metrics_say_so_instead_of_inventing_numbers():
    blocks = render_blocks({})
    assert "not computed yet" in blocks["headline"]
    assert len(blocks["split"].splitlines()) == 2  # the header alone: no method rows without split.json
    assert "| + WCGB (full TSA) | – | – | – | – | – | – | – | 0.897 |" in blocks["vtss"]  # the paper's number, ours dashes
