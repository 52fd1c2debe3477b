"""Execute a stage notebook with papermill and render it to HTML in reports/.

Each stage gets two pages: ``<stem>.html`` reads like a paper section (text, tables and figures;
no code cells), and ``<stem>.code.html`` beside it is the same run with its code.
"""

from __future__ import annotations

import html
import logging
import os
from pathlib import Path

import yaml

from koala.io.atomic import write_text

log = logging.getLogger(__name__)


def run_notebook(
    notebook: str | Path,
    *,
    params_file: str = "params.yaml",
    out_dir: str | Path = "reports",
    parameters: dict | None = None,
    cwd: str | Path = ".",
) -> tuple[Path, Path]:
    """Run ``notebook`` with papermill, then write ``out_dir/<stem>.ipynb`` and ``.html``.

    Args:
        notebook: a path, or a stage name such as ``00_corpus`` (looked up in notebooks/).
        params_file: passed to the notebook's ``parameters`` cell.
        out_dir: where the executed copy and its HTML go.
        parameters: further ``parameters``-cell overrides (e.g. ``{"smoke": True}``).
        cwd: the working directory of the kernel (the repository root).

    Returns:
        (executed notebook path, HTML path). The page with code cells is written beside the HTML
        as ``<stem>.code.html``.

    Raises:
        papermill.PapermillExecutionError: a cell failed; the partial notebook is still
            written so the traceback can be read.
    """
    import papermill as pm

    src = Path(notebook)
    if not src.suffix:
        src = Path("notebooks") / f"{src}.ipynb"
    if not src.exists():
        raise FileNotFoundError(f"{src}: no such notebook (stage notebooks live in notebooks/)")
    out_dir = Path(out_dir)
    out_nb, out_html = out_dir / f"{src.stem}.ipynb", out_dir / f"{src.stem}.html"
    params = {"params_file": params_file, **(parameters or {})}
    log.info("running %s with %s", src, params)
    out_dir.mkdir(parents=True, exist_ok=True)
    running, failed = out_dir / f"{src.stem}.running.ipynb", out_dir / f"{src.stem}.failed.ipynb"
    try:
        pm.execute_notebook(str(src), str(running), parameters=params, kernel_name="python3", cwd=str(cwd), progress_bar=True)
    except Exception:
        if running.exists():  # keep the partial run, with its traceback, for reading
            os.replace(running, failed)
            log.error("%s failed; the partial run is in %s", src, failed)
        raise
    os.replace(running, out_nb)
    failed.unlink(missing_ok=True)
    write_text(out_html, to_html(out_nb, code=False))
    write_text(code_html(out_html), to_html(out_nb, code=True))
    return out_nb, out_html


def code_html(html_path: str | Path) -> Path:
    """Where the with-code copy of a stage report lives: ``reports/02_split.html`` -> ``reports/02_split.code.html``."""
    p = Path(html_path)
    return p.with_name(f"{p.stem}.code.html")


def to_html(notebook: str | Path, *, code: bool = False) -> str:
    """The executed notebook as a self-contained HTML page (nbconvert's lab template).

    Args:
        notebook: an executed .ipynb.
        code: keep the code cells, prompts and log lines (the ``.code.html`` copy); without, the
            page shows only text and outputs, as ``jupyter nbconvert --no-input`` does, less stderr.
    """
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook), as_version=4)
    if not code:  # the log lines (stderr) belong with the code: the paper-like page shows results
        for cell in nb.cells:
            if cell.get("outputs"):
                cell.outputs = [o for o in cell.outputs if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    exporter = HTMLExporter(template_name="lab", exclude_input=not code, exclude_input_prompt=not code,
                            exclude_output_prompt=not code)
    body, _ = exporter.from_notebook_node(nb)
    other = code_html(Path(notebook).with_suffix(".html")).name if not code else Path(notebook).with_suffix(".html").name
    label = "the same report with its code" if not code else "the same report without code"
    link = (f'<p style="margin:.5em 1em;font:14px system-ui,sans-serif"><a href="{html.escape(other)}">{label}</a>'
            f' &middot; <a href="index.html">all reports</a></p>')
    return _after_body_tag(body, link) if "<body" in body else link + body


def _after_body_tag(page: str, snippet: str) -> str:
    i = page.index("<body")
    j = page.index(">", i) + 1
    return page[:j] + snippet + page[j:]


class ConfigDetails:
    """A configuration shown collapsed in the rendered report (``<details>``), as YAML when opened."""

    def __init__(self, cfg, title: str):
        from koala.config import to_dict

        self.title = title
        self.text = yaml.safe_dump(to_dict(cfg) if not isinstance(cfg, dict) else cfg, sort_keys=False)

    def _repr_html_(self) -> str:
        return (f"<details><summary>{html.escape(self.title)}</summary>"
                f"<pre>{html.escape(self.text)}</pre></details>")

    def __repr__(self) -> str:
        return f"{self.title}\n{self.text}"


def config_details(cfg, section: str = "") -> ConfigDetails:
    """Show ``cfg`` (a config dataclass or dict) collapsed: the report opens with results, not a configuration dump.

    Args:
        cfg: what the stage ran with.
        section: its params.yaml section, named in the summary line.
    """
    where = f"params.yaml section `{section}`" if section else "params.yaml"
    return ConfigDetails(cfg, f"Configuration used ({where}; click to show)")
