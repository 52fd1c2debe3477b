"""Training suitability (VTSS): FAST-VQA fragments, the released Koala scorer, prediction."""

from koala.vtss.released import CheckpointError, ReleasedVTSS, load_released

__all__ = ["CheckpointError", "ReleasedVTSS", "load_released"]
