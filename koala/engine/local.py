"""The local engine: a process pool with a progress bar (or in-process for one worker)."""

from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Sequence

from tqdm.auto import tqdm

from koala.engine.core import ItemFn, run_item


def run_local(fn: ItemFn, items: Sequence[dict], *, cache_dir: Path, stage: str, workers: int, desc: str) -> None:
    """Run items across ``workers`` spawned processes; results land in ``cache_dir``.

    Spawned (not forked) workers: the parent may hold decoder or BLAS threads, which a fork
    would copy in an undefined state.
    """
    with tqdm(total=len(items), desc=desc, unit="item") as bar:
        if workers <= 1 or len(items) == 1:
            for item in items:
                run_item(fn, item, str(cache_dir), stage)
                bar.update()
            return
        ctx = mp.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(workers, len(items)), mp_context=ctx) as pool:
            futures = [pool.submit(run_item, fn, item, str(cache_dir), stage) for item in items]
            for fut in as_completed(futures):
                fut.result()
                bar.update()
