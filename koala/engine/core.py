"""Map a function over items with per-item atomic results, so a killed run resumes.

An item is a JSON-able dict with a unique ``key``, optionally the ``path`` it reads (named in
the errors table) and ``outputs`` (files the function writes). Its result (one or more table
rows) is saved as ``<cache>/<key>-<fingerprint>.parquet``; a failure as ``...error.json``. The
fingerprint hashes the item, so a changed parameter is new work, not a stale hit. An item is
done when its result exists and every declared output is still on disk (DVC deletes a
stage's outs before rerunning it).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import logging
import re
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd

from koala.config import EngineConfig
from koala.io.atomic import write_json
from koala.io.tables import ERRORS, SEVERITY_ERROR, SEVERITY_WARNING, empty_frame, read_table, write_table

log = logging.getLogger(__name__)


@dataclass
class ItemOutput:
    """An item function's rows plus warnings: the item was done, but only in part or with a caveat.

    Each warning becomes a row of the errors table with severity ``warning`` (the batch's rows
    still hold the item's results), e.g. a video cut off mid-stream, used up to where it ends.
    """

    rows: Any  # a DataFrame, a dict or a list of dicts
    warnings: list[tuple[str, str]]  # (kind, message naming the file and what is wrong)


ItemFn = Callable[[dict], "pd.DataFrame | dict | list[dict] | ItemOutput"]


@dataclass
class MapResult:
    """Rows of every item that succeeded (in item order); one errors row per failure and per warning."""

    table: pd.DataFrame
    errors: pd.DataFrame
    n_reused: int  # items whose results were already on disk
    n_run: int  # items computed by this call


def item_fingerprint(item: dict) -> str:
    """A short stable hash of an item's JSON form."""
    blob = json.dumps(item, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


@functools.lru_cache(maxsize=None)
def code_version(*modules: str) -> str:
    """A short hash of the source of the named modules or packages (e.g. ``"koala.metrics"``).

    Stages put it in every item, so a result cached by older code is recomputed instead of
    reused: DVC reruns a stage when its code changes, and the per-item cache must agree.
    """
    h = hashlib.sha256()
    for name in sorted(modules):
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise ValueError(f"code_version: no module named {name!r}")
        origin = Path(spec.origin)
        files = sorted(origin.parent.rglob("*.py")) if origin.name == "__init__.py" else [origin]
        for f in files:
            h.update(str(f.relative_to(origin.parent)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


def _safe(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", key)


def result_path(cache_dir: Path, item: dict) -> Path:
    return cache_dir / f"{_safe(item['key'])}-{item_fingerprint(item)}.parquet"


def error_path(cache_dir: Path, item: dict) -> Path:
    return cache_dir / f"{_safe(item['key'])}-{item_fingerprint(item)}.error.json"


def warnings_path(cache_dir: Path, item: dict) -> Path:
    return cache_dir / f"{_safe(item['key'])}-{item_fingerprint(item)}.warnings.json"


def outputs_path(cache_dir: Path, item: dict) -> Path:
    return cache_dir / f"{_safe(item['key'])}-{item_fingerprint(item)}.outputs.json"


def _stat(path: str) -> list[int] | None:
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


# Failures of the machine, not of the item (a worker killed by the OOM killer, a crash in native
# code): recorded for the run they happened in, retried by the next one.
RETRIED_ERRORS = ("WorkerDied",)


def is_done(cache_dir: Path, item: dict) -> bool:
    """True when the item failed before (on its own account), or its rows are saved and its outputs are untouched.

    Declared outputs are compared with the size and modification time recorded when the item
    finished, so a file since deleted, or overwritten by another configuration's run, is redone.
    A worker that died on the item (:data:`RETRIED_ERRORS`) does not count as done: the next run
    tries it again.
    """
    err = error_path(cache_dir, item)
    if err.exists():
        try:
            kind = json.loads(err.read_text()).get("error_type")
        except (OSError, ValueError):
            kind = None
        return kind not in RETRIED_ERRORS
    if not result_path(cache_dir, item).exists():
        return False
    outputs = item.get("outputs", ())
    if not outputs:
        return True
    record = outputs_path(cache_dir, item)
    if not record.exists():
        return False
    saved = json.loads(record.read_text())
    return all((st := _stat(p)) is not None and st == saved.get(p) for p in outputs)


def run_item(fn: ItemFn, item: dict, cache_dir: str, stage: str) -> tuple[str, str]:
    """Run ``fn`` on one item and save its rows or its error atomically.

    Returns:
        (key, "ok" | "error"). Never raises for a failing item: a batch goes on.
    """
    cache = Path(cache_dir)
    try:
        out = fn(item)
        warned = out.warnings if isinstance(out, ItemOutput) else []
        rows = _as_frame(out.rows if isinstance(out, ItemOutput) else out)
        # Inside the try: rows that cannot be saved (e.g. a column Parquet cannot hold) are
        # this item's failure, not the batch's.
        if item.get("outputs"):
            write_json(outputs_path(cache, item), {p: _stat(p) for p in item["outputs"]})
        if warned:  # before the rows: an item with rows is done, so its warnings must already be saved
            for kind, message in warned:
                log.warning("%s: %s: %s", stage, item["key"], message)
            write_json(warnings_path(cache, item), [
                {"stage": stage, "key": item["key"], "path": str(item.get("path", "")), "error_type": kind,
                 "message": message, "severity": SEVERITY_WARNING} for kind, message in warned])
        else:
            warnings_path(cache, item).unlink(missing_ok=True)
        write_table(rows, result_path(cache, item))
        error_path(cache, item).unlink(missing_ok=True)  # a retried item (its worker died last time) now has rows
    except Exception as exc:  # a batch records any failure of one item and goes on
        reason = str(exc) or type(exc).__name__
        log.warning("%s: %s failed on %s: %s", stage, item["key"], item.get("path", ""), reason)
        log.debug("%s", traceback.format_exc())
        write_json(
            error_path(cache, item),
            {
                "stage": stage,
                "key": item["key"],
                "path": str(item.get("path", "")),
                "error_type": type(exc).__name__,
                "message": reason,
                "severity": SEVERITY_ERROR,
            },
        )
        return item["key"], "error"
    return item["key"], "ok"


def _as_frame(out: Any) -> pd.DataFrame:
    if isinstance(out, pd.DataFrame):
        return out
    if isinstance(out, dict):
        return pd.DataFrame([out])
    if isinstance(out, list):
        return pd.DataFrame(out)
    raise TypeError(f"an item function must return a DataFrame, a dict or a list of dicts, not {type(out).__name__}")


def map_items(
    fn: ItemFn,
    items: Sequence[dict],
    *,
    stage: str,
    cfg: EngineConfig,
    cache_dir: str | Path | None = None,
    desc: str | None = None,
) -> MapResult:
    """Apply ``fn`` to every item not already done, on the configured engine.

    Args:
        fn: a module-level function (it is pickled to worker processes or Ray tasks).
        items: dicts with a unique ``key``; see the module docstring.
        stage: names the cache folder and the errors rows.
        cfg: the engine section of params.yaml.
        cache_dir: where per-item results live (default ``cfg.cache_dir/stage``).
        desc: progress-bar label.

    Returns:
        A :class:`MapResult`; rows are concatenated in item order, whatever order they ran in.
    """
    keys = [it["key"] for it in items]
    if len(set(keys)) != len(keys):
        dup = sorted({k for k in keys if keys.count(k) > 1})
        raise ValueError(f"item keys must be unique; repeated: {dup[:5]}")
    cache = Path(cache_dir) if cache_dir is not None else Path(cfg.cache_dir) / stage
    cache.mkdir(parents=True, exist_ok=True)
    pending = [it for it in items if not is_done(cache, it)]
    n_reused = len(items) - len(pending)
    if n_reused:
        log.info("%s: %d of %d items already done, resuming", stage, n_reused, len(items))
    if pending:
        if cfg.kind == "local":
            from koala.engine.local import run_local

            run_local(fn, pending, cache_dir=cache, stage=stage, workers=cfg.workers, desc=desc or stage)
        elif cfg.kind == "ray":
            from koala.engine.ray_engine import run_ray

            run_ray(fn, pending, cache_dir=cache, stage=stage, cfg=cfg, desc=desc or stage)
        else:
            raise ValueError(f"engine.kind must be 'local' or 'ray', not {cfg.kind!r}")
    return collect(items, cache, n_reused=n_reused, n_run=len(pending), stage=stage)


def collect(
    items: Sequence[dict], cache: Path, *, n_reused: int = 0, n_run: int = 0, stage: str | None = None
) -> MapResult:
    """Gather the saved rows and errors of ``items`` from the cache, in item order.

    ``stage`` names the errors rows of items with no saved result (default: the cache folder's
    name, which is the stage unless ``map_items`` was given its own ``cache_dir``).
    """
    frames, errors = [], []
    for it in items:
        res, err = result_path(cache, it), error_path(cache, it)
        if err.exists():
            errors.append({"severity": SEVERITY_ERROR, **json.loads(err.read_text())})
        elif res.exists():
            frames.append(read_table(res))
            warned = warnings_path(cache, it)
            if warned.exists():
                errors.extend(json.loads(warned.read_text()))
        else:
            errors.append(
                {"stage": stage or cache.name, "key": it["key"], "path": str(it.get("path", "")),
                 "error_type": "Missing", "message": "no result was saved (worker died?)", "severity": SEVERITY_ERROR}
            )
    frames = [f for f in frames if len(f)]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    err_df = pd.DataFrame(errors, columns=ERRORS.names) if errors else empty_frame(ERRORS)
    return MapResult(table=table, errors=err_df, n_reused=n_reused, n_run=n_run)


def write_errors(errors: pd.DataFrame, path: str | Path) -> Path:
    """Write an errors table (possibly empty) atomically."""
    return write_table(errors, path, ERRORS)
