"""Wall and CPU seconds per stage of a `koala curate` run (the summary's ``seconds`` and ``cpu_seconds``)."""

from __future__ import annotations

import contextlib
import time

STAGES = ("split", "per_clip", "score", "caption", "vtss", "poster", "filter", "export", "write", "report")


def cpu_seconds() -> float:
    """CPU time of this process (all threads) plus its finished children (the engine's worker pools)."""
    import resource

    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + ch.ru_utime + ch.ru_stime


class StageClock:
    """Wall and CPU seconds spent per stage in this run, summed over chunks.

    CPU time counts this process and the worker pools the stage has shut down; Ray workers live
    in other processes, so on the Ray engine only wall time is meaningful.
    """

    def __init__(self) -> None:
        self.seconds = {s: 0.0 for s in STAGES}
        self.cpu = {s: 0.0 for s in STAGES}

    @contextlib.contextmanager
    def __call__(self, stage: str):
        t0, c0 = time.perf_counter(), cpu_seconds()
        self.enter(stage)
        try:
            yield
        finally:
            self.seconds[stage] += time.perf_counter() - t0
            self.cpu[stage] += cpu_seconds() - c0
            self.exit(stage)

    def enter(self, stage: str) -> None:
        """Hook for measuring tools (the throughput benchmark samples memory per stage)."""

    def exit(self, stage: str) -> None:
        """Hook for measuring tools."""
