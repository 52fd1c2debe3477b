"""Execute a stage notebook with papermill and render it to HTML in reports/."""

from __future__ import annotations

import logging
import os
from pathlib import Path

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
        (executed notebook path, HTML path).

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
    write_text(out_html, to_html(out_nb))
    return out_nb, out_html


def to_html(notebook: str | Path) -> str:
    """The executed notebook as a self-contained HTML page (nbconvert's lab template)."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook), as_version=4)
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    return body
