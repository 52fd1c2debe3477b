"""The local engine: a process pool with a progress bar (or in-process for one worker)."""

from __future__ import annotations

import logging
import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Sequence

from tqdm.auto import tqdm

from koala.engine.core import ItemFn, error_path, is_done, run_item
from koala.io.atomic import write_json

log = logging.getLogger(__name__)


def run_local(fn: ItemFn, items: Sequence[dict], *, cache_dir: Path, stage: str, workers: int, desc: str) -> None:
    """Run items across ``workers`` spawned processes; results land in ``cache_dir``.

    Spawned (not forked) workers: the parent may hold decoder or BLAS threads, which a fork
    would copy in an undefined state. If a worker dies (a crash in native code, the OOM killer),
    the pool breaks; the items it left unfinished are then retried one process each, so only
    the item that kills its process is recorded as an error and the batch goes on.
    """
    with tqdm(total=len(items), desc=desc, unit="item") as bar:
        if workers <= 1 or len(items) == 1:
            for item in items:
                run_item(fn, item, str(cache_dir), stage)
                bar.update()
            return
        ctx = mp.get_context("spawn")
        try:
            with ProcessPoolExecutor(max_workers=min(workers, len(items)), mp_context=ctx) as pool:
                futures = [pool.submit(run_item, fn, item, str(cache_dir), stage) for item in items]
                for fut in as_completed(futures):
                    fut.result()
                    bar.update()
            return
        except BrokenProcessPool:
            left = [it for it in items if not is_done(cache_dir, it)]
            log.warning("%s: a worker process died; retrying the %d unfinished items one process each", stage, len(left))
        for item in left:
            with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as solo:
                try:
                    solo.submit(run_item, fn, item, str(cache_dir), stage).result()
                except BrokenProcessPool:
                    log.warning("%s: %s killed its worker process", stage, item["key"])
                    write_json(
                        error_path(cache_dir, item),
                        {"stage": stage, "key": item["key"], "path": str(item.get("path", "")),
                         "error_type": "WorkerDied", "message": "the worker process died on this item (crash or out of memory)"},
                    )
            bar.update()
