"""Benchmark results as metrics files, so the README's measured numbers are generated, never typed.

Every script in ``benchmarks/`` ends with :func:`save_result`, which writes
``reports/metrics/benchmarks/<name>.json``: the command that ran, when, at which commit, on how
many cores under what load, a ``summary`` of numbers, ``tables`` (title, columns, rows of cells
the script formatted) and ``lines`` (sentences the script wrote from its numbers). The README
block ``<!-- koala:results:bench-<name> -->`` renders that file (:func:`bench_block`), so a rerun
of the script followed by ``koala report`` is the only way its numbers change.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from koala.io.atomic import write_json

BENCH_DIR = Path("reports/metrics/benchmarks")


def add_out_dir(ap) -> None:
    """The ``--out-dir`` option every benchmark script takes (where its result file goes)."""
    ap.add_argument("--out-dir", default=None,
                    help="folder for the result JSON (default: $KOALA_BENCH_DIR or reports/metrics/benchmarks)")


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> dict:
    """One result table: cells are shown as given (format numbers before)."""
    return {"title": title, "columns": [str(c) for c in columns], "rows": [[cell(c) for c in r] for r in rows]}


def frame_table(title: str, df: pd.DataFrame, *, digits: int = 3) -> dict:
    """:func:`table` from a DataFrame, floats rounded to ``digits``."""
    return table(title, list(df.columns), ([num_cell(v, digits) for v in r] for r in df.itertuples(index=False)))


def num_cell(v: Any, digits: int = 3) -> str:
    """A number as a table cell: floats to ``digits`` decimals, NaN/None as a dash."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def cell(v: Any) -> str:
    return num_cell(v) if not isinstance(v, str) else v


def _commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode:
        return None
    return out.stdout.strip() + ("+" if dirty.stdout.strip() else "")


def save_result(name: str, *, summary: dict | None = None, tables: Sequence[dict] = (), lines: Sequence[str] = (),
                argv: Sequence[str] | None = None, out_dir: str | Path | None = None) -> Path:
    """Write one benchmark's result file; returns its path.

    ``out_dir`` defaults to ``$KOALA_BENCH_DIR`` or ``reports/metrics/benchmarks``; a run that should
    not replace the committed numbers (a smoke run, another video) passes another folder.
    """
    folder = Path(out_dir or os.environ.get("KOALA_BENCH_DIR") or BENCH_DIR)
    argv = list(sys.argv if argv is None else argv)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    payload = {
        "benchmark": name,
        "command": " ".join(["python", *argv]),
        "measured": _dt.date.today().isoformat(),
        "commit": _commit(),
        "cpus": os.cpu_count(),
        "load_average": None if load is None else round(load, 1),
        "summary": _plain(summary or {}),
        "tables": list(tables),
        "lines": [str(s) for s in lines],
    }
    path = folder / f"{name}.json"
    write_json(path, payload)
    print(f"wrote {path}")
    return path


def _plain(obj: Any) -> Any:
    """JSON-safe: numpy scalars to Python, NaN to None."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        obj = obj.item()
    if isinstance(obj, float) and math.isnan(obj):
        return None
    return obj


def read_results(folder: str | Path) -> dict[str, dict]:
    """Every benchmark result file in ``folder`` by name."""
    return {p.stem: json.loads(p.read_text()) for p in sorted(Path(folder).glob("*.json"))}


def _md(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    esc = lambda c: str(c).replace("|", "\\|")  # noqa: E731
    out = ["| " + " | ".join(esc(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def provenance(res: dict) -> str:
    load = res.get("load_average")
    where = f"{res.get('cpus')} cores" + (f", load average {load}" if load is not None else "")
    return (f"_Generated from `reports/metrics/benchmarks/{res['benchmark']}.json`: `{res.get('command')}`, "
            f"measured {res.get('measured')} at commit {res.get('commit') or 'unknown'} ({where})._")


def bench_block(name: str, results: dict[str, dict]) -> str:
    """The README block of benchmark ``name``: its tables, its lines, where the numbers come from."""
    res = results.get(name)
    if res is None:
        return f"_Not measured yet: run `python benchmarks/{name}.py`, then `koala report`._"
    parts = []
    for t in res.get("tables", []):
        if t.get("title"):
            parts.append(f"**{t['title']}**\n")
        parts.append(_md(t["columns"], t["rows"]) + "\n")
    parts += [f"- {s}" for s in res.get("lines", [])]
    if res.get("lines"):
        parts.append("")
    parts.append(provenance(res))
    return "\n".join(parts)
