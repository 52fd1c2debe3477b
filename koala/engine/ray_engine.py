"""The Ray Data engine: the same items as Ray tasks, on a local or remote cluster.

Workers write each item's result into the cache folder themselves, so on a multi-node cluster
that folder must be on storage every node sees (NFS, a mounted bucket). Tasks ask for
``ray_num_cpus`` (default 0.5) so, on a small machine, Ray's own read tasks always find a CPU.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from pathlib import Path
from typing import Sequence

from tqdm.auto import tqdm

from koala.config import EngineConfig
from koala.engine.core import ItemFn, run_item

log = logging.getLogger(__name__)


def _ray_row(row: dict, *, fn: ItemFn, cache_dir: str, stage: str) -> dict:
    key, status = run_item(fn, json.loads(row["item"]), cache_dir, stage)
    return {"key": key, "status": status}


def run_ray(fn: ItemFn, items: Sequence[dict], *, cache_dir: Path, stage: str, cfg: EngineConfig, desc: str) -> None:
    """Run items as Ray Data tasks; connects to ``cfg.ray_address`` or ``RAY_ADDRESS`` if set."""
    import ray

    address = cfg.ray_address or os.environ.get("RAY_ADDRESS") or None
    started = False
    if not ray.is_initialized():
        if address:
            log.info("connecting to the Ray cluster at %s", address)
            ray.init(address=address, log_to_driver=False)
        else:
            log.info("starting a private Ray instance with %d CPUs", max(1, cfg.workers))
            ray.init(num_cpus=max(1, cfg.workers), include_dashboard=False, log_to_driver=False)
        started = True
    try:
        ds = ray.data.from_items([{"item": json.dumps(it)} for it in items], override_num_blocks=len(items))
        task = functools.partial(_ray_row, fn=fn, cache_dir=str(Path(cache_dir).resolve()), stage=stage)
        ds = ds.map(task, num_cpus=cfg.ray_num_cpus)
        with tqdm(total=len(items), desc=f"{desc} (ray)", unit="item") as bar:
            for _ in ds.iter_rows():
                bar.update()
    finally:
        if started:
            ray.shutdown()
