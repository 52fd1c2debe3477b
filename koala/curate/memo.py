"""What a finished `koala curate` chunk or run depends on, and the memo files that record it.

A chunk's table is redone when its videos (path, size, modification time), the stage sections of
the params, the models or the code changed (:func:`chunk_fingerprint`); the run's outputs when any
chunk, the filter or curate settings or the sources table changed (:func:`run_fingerprint`). A
memo (:func:`memo_write`) stores the fingerprint and each output file's size and mtime, so a
deleted or edited output is noticed too (:func:`memo_ok`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

from koala.config import Params, to_dict
from koala.curate.decide import vtss_checkpoint
from koala.engine import code_version, item_fingerprint
from koala.io.atomic import write_json
from koala.vtss.packaged import trained_model

CODE = ("koala.curate", "koala.split", "koala.metrics", "koala.caption", "koala.vtss", "koala.filter", "koala.motion",
        "koala.io", "koala.engine")
OUTPUTS = ("koala.csv", "clips.parquet", "errors.parquet", "summary.json")
CHUNK_FILES = ("table.parquet", "errors.parquet", "videos.parquet")


def stat(path: str | Path) -> list[int] | None:
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def chunk_fingerprint(paths: list[str], ids: list[str], params: Params) -> str:
    """What a chunk's table depends on: its files (size, mtime), the stage sections, the models and the code."""
    import koala.split

    sections = {k: to_dict(getattr(params, k)) for k in ("split", "score", "caption", "vtss")}
    sections["curate"] = {k: getattr(params.curate, k) for k in ("vtss_checkpoint", "report", "poster_height")}
    models = [str(trained_model(params.vtss) or params.vtss.model_path), vtss_checkpoint(params) or "",
              params.split.learned.model_file]
    models += sorted(str(p) for p in (Path(koala.split.__file__).parent / "models").glob("*"))
    return item_fingerprint({"videos": [[p, i, stat(p)] for p, i in zip(paths, ids)], "params": sections,
                             "models": [[m, stat(m) if m else None] for m in models], "code": code_version(*CODE)})


def memo_ok(folder: Path, names: Iterable[str], fingerprint: str, memo: str = "done.json") -> bool:
    """True when ``folder/memo`` records ``fingerprint`` and every named file is as it was left."""
    path = folder / memo
    if not path.is_file():
        return False
    saved = json.loads(path.read_text())
    return saved.get("fingerprint") == fingerprint and all(stat(folder / n) == saved.get("files", {}).get(n) for n in names)


def memo_write(folder: Path, names: Iterable[str], fingerprint: str, memo: str = "done.json", **extra) -> None:
    write_json(folder / memo, {"fingerprint": fingerprint, "files": {n: stat(folder / n) for n in names}, **extra})


def run_fingerprint(plan, params: Params) -> str:
    cur = {k: v for k, v in to_dict(params.curate).items() if k not in ("inputs", "out_dir", "ray")}
    sources = params.filter.sources_table  # koala.csv's URLs depend on its content, not only on its name
    return item_fingerprint({"chunks": [fp for _, _, fp in plan], "filter": to_dict(params.filter), "curate": cur,
                             "sources": stat(sources) if sources else None})
