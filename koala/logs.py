"""One logging format for the CLI and the notebooks."""

from __future__ import annotations

import logging


def setup(level: int = logging.INFO) -> None:
    """Log ``time level logger: message`` to stderr; quiet the chattiest libraries."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    for noisy in ("numba", "matplotlib", "PIL", "filelock", "urllib3", "papermill", "traitlets", "ray"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("traitlets").setLevel(logging.ERROR)  # nbconvert's missing-alt-text notices
