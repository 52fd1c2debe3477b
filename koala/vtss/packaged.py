"""The default VTSS model the repository ships, and which trained model a prediction uses.

The vtss stage trains ``vtss.train.final`` on the real-footage proxy set and writes it to
``vtss.model_path`` (``data/vtss/tsa.pt``). A copy of it ships in the package
(``koala/vtss/models/default.pt``, written by ``koala vtss ship``), so `koala vtss predict` and
`koala curate` score clips right after install, before any pipeline run. The environment variable
``KOALA_VTSS_PACKAGED_MODEL`` names another file instead, or none when empty (the test suite sets it
empty, so its "no model" cases stay so).
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from koala.config import VtssConfig

log = logging.getLogger(__name__)

PACKAGED_MODEL = Path(__file__).resolve().parent / "models" / "default.pt"


def trained_model(cfg: VtssConfig) -> Path | None:
    """The trained TSA to score with: ``cfg.model_path`` when the pipeline has trained one, else the packaged
    default model (logged), else None."""
    model = Path(cfg.model_path)
    if model.is_file():
        return model
    packaged = os.environ.get("KOALA_VTSS_PACKAGED_MODEL", str(PACKAGED_MODEL))
    if packaged and Path(packaged).is_file():
        log.info("vtss: no trained model at %s; using the packaged default model %s", model, packaged)
        return Path(packaged)
    return None


def ship(cfg: VtssConfig, dest: str | Path = PACKAGED_MODEL) -> Path:
    """Copy the trained model at ``cfg.model_path`` into the package as its default model.

    Raises:
        FileNotFoundError: the pipeline has not trained a model yet.
    """
    src = Path(cfg.model_path)
    if not src.is_file():
        raise FileNotFoundError(f"{src}: no trained VTSS model to ship; run the vtss stage (dvc repro vtss) first")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    return dest
