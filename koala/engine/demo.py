"""Reference item functions for exercising :func:`koala.engine.map_items`.

Worker processes (spawned, or Ray tasks) import an item function by its module path, so the
slow and crashing jobs the engine's resume and crash tests need must live in an importable
module, not in a test file.
"""

from __future__ import annotations

import time


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


def crash_times(item: dict) -> dict:
    """Kills its process the first ``item['crashes']`` times it runs an item (counted in ``item['marker']``), then squares.

    Stands in for a transient failure of the machine: a worker killed by the OOM killer.
    """
    import os
    from pathlib import Path

    marker = Path(item["marker"])
    done = int(marker.read_text() or 0) if marker.exists() else 0
    if done < item.get("crashes", 0):
        marker.write_text(str(done + 1))
        os._exit(3)
    return slow_square(item)
