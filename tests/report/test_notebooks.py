"""Stage reports: the page without code by default, the one with code beside it, configuration collapsed."""

import nbformat

from koala.config import Params
from koala.report.notebooks import code_html, config_details, to_html


def _executed(path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("secret_code_line = 41 + 1\nsecret_code_line")
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text="INFO koala.split: a_log_line\n"),
                    nbformat.v4.new_output("execute_result", {"text/plain": "42"}, execution_count=1)]
    nb.cells = [nbformat.v4.new_markdown_cell("# Split, §2.1"), cell]
    nbformat.write(nb, str(path))
    return path


def test_report_without_code_keeps_text_and_outputs(tmp_path):
    page = to_html(_executed(tmp_path / "02_split.ipynb"))
    assert "Split, §2.1" in page and "42" in page
    assert "secret_code_line" not in page and "a_log_line" not in page
    assert 'href="02_split.code.html"' in page


def test_report_with_code_shows_the_code(tmp_path):
    page = to_html(_executed(tmp_path / "02_split.ipynb"), code=True)
    assert "secret_code_line" in page and "a_log_line" in page and 'href="02_split.html"' in page


def test_code_copy_lives_beside_the_report():
    assert str(code_html("reports/02_split.html")) == "reports/02_split.code.html"


def test_configuration_is_collapsed():
    shown = config_details(Params().split, "split")
    html = shown._repr_html_()
    assert html.startswith("<details><summary>") and "params.yaml section `split`" in html
    assert "max_clip_sec" in html and "max_clip_sec" in repr(shown)
