"""The Ray Data engine: the same items as Ray tasks, on a local or remote cluster.

Workers write each item's result into the cache folder themselves, so on a multi-node cluster
that folder must be on storage every node sees (NFS, a mounted bucket). Tasks ask for
``ray_num_cpus`` (default 0.5) so, on a small machine, Ray's own read tasks always find a CPU.
Model stages can run as an actor pool (``ray_actors`` > 0) whose workers keep their model loaded
and ask for ``ray_num_gpus`` each when the cluster has GPUs.
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


class _ItemActor:
    """A long-lived Ray worker for model stages: its process keeps the item function's cached model loaded."""

    def __init__(self, *, fn: ItemFn, cache_dir: str, stage: str):
        self.fn, self.cache_dir, self.stage = fn, cache_dir, stage

    def __call__(self, batch: dict) -> dict:
        rows = [_ray_row({"item": it}, fn=self.fn, cache_dir=self.cache_dir, stage=self.stage) for it in batch["item"]]
        return {"key": [r["key"] for r in rows], "status": [r["status"] for r in rows]}


def _gpus_to_ask(cfg: EngineConfig) -> float:
    """GPUs per actor: the configured share when the cluster has GPUs, else none (a CPU cluster never waits)."""
    import ray

    if cfg.ray_num_gpus <= 0:
        return 0.0
    have = float(ray.cluster_resources().get("GPU", 0.0))
    if have <= 0:
        log.info("the Ray cluster has no GPUs: model actors run on CPU")
        return 0.0
    return min(cfg.ray_num_gpus, have)


def connect(cfg: EngineConfig) -> bool:
    """Join ``cfg.ray_address`` (or ``RAY_ADDRESS``), else start a private instance of ``cfg.workers`` CPUs,
    unless Ray is already up; True when this call started or joined it (the caller shuts it down)."""
    import ray

    if ray.is_initialized():
        return False
    address = cfg.ray_address or os.environ.get("RAY_ADDRESS") or None
    if address:
        log.info("connecting to the Ray cluster at %s", address)
        ray.init(address=address, log_to_driver=False)
    else:
        log.info("starting a private Ray instance with %d CPUs", max(1, cfg.workers))
        ray.init(num_cpus=max(1, cfg.workers), include_dashboard=False, log_to_driver=False)
    return True


def run_ray(fn: ItemFn, items: Sequence[dict], *, cache_dir: Path, stage: str, cfg: EngineConfig, desc: str) -> None:
    """Run items as Ray Data tasks; connects to ``cfg.ray_address`` or ``RAY_ADDRESS`` if set."""
    import ray

    started = connect(cfg)
    try:
        ds = ray.data.from_items([{"item": json.dumps(it)} for it in items], override_num_blocks=len(items))
        task = functools.partial(_ray_row, fn=fn, cache_dir=str(Path(cache_dir).resolve()), stage=stage)
        if cfg.ray_actors > 0:
            gpus = _gpus_to_ask(cfg)
            log.info("%s: an actor pool of %d (%.2f CPU, %.2f GPU each)", stage, cfg.ray_actors, cfg.ray_num_cpus, gpus)
            ds = ds.map_batches(
                _ItemActor,
                fn_constructor_kwargs={"fn": fn, "cache_dir": str(Path(cache_dir).resolve()), "stage": stage},
                batch_size=1,
                concurrency=min(cfg.ray_actors, max(1, len(items))),
                num_cpus=cfg.ray_num_cpus,
                num_gpus=gpus,
            )
        else:
            ds = ds.map(task, num_cpus=cfg.ray_num_cpus)
        with tqdm(total=len(items), desc=f"{desc} (ray)", unit="item") as bar:
            for _ in ds.iter_rows():
                bar.update()
    finally:
        if started:
            ray.shutdown()
