"""Small real item functions for :func:`koala.engine.map_items`.

Worker processes (spawned, or Ray tasks) import an item function by its module path, so it must
live in an importable module: these do, which makes them the engine's reference jobs in tests
and the per-video work of a probe batch.
"""

from __future__ import annotations

import time

from koala.io.video import probe


def probe_row(item: dict) -> dict:
    """Probe ``item['path']``: one row with the item's key and the :class:`VideoInfo` fields.

    Raises:
        VideoError: the file is not a usable video (the engine records it in the errors table).
    """
    return {"key": item["key"], **probe(item["path"]).as_row()}


def slow_square(item: dict) -> dict:
    """Square ``item['x']`` after sleeping ``item['sleep']`` seconds (default 0).

    When ``item['log']`` names a file, the key is appended to it as one line before returning,
    so a test can count how often each item was actually computed.
    """
    time.sleep(float(item.get("sleep", 0)))
    if item.get("log"):
        with open(item["log"], "a") as fh:
            fh.write(f"{item['key']}\n")
    x = item["x"]
    return {"key": item["key"], "value": x * x}


def crash_or_square(item: dict) -> dict:
    """Like :func:`slow_square`, but kills its own process when ``item['crash']`` is true.

    Stands in for a native-code crash or the OOM killer, which no ``except`` can catch.
    """
    if item.get("crash"):
        import os

        os._exit(3)
    return slow_square(item)
