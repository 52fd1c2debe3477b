"""Training suitability (VTSS): FAST-VQA fragments, the released Koala scorer, the TSA network, proxy labels."""

from koala.vtss.released import CheckpointError, ReleasedVTSS, load_released
from koala.vtss.train import load_model
from koala.vtss.tsa import TSA, build_tsa

__all__ = ["CheckpointError", "ReleasedVTSS", "TSA", "build_tsa", "load_model", "load_released"]
