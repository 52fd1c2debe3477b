"""What `koala curate` runs over: the sample clips, a folder glob, a list file, or video paths.

Each input spec names videos one of four ways, so a researcher points the command at footage
without building a videos table first:

- ``samples``: the five real Koala sample clips (the corpus stage's folder, else the mirror
  named by ``corpus.samples.mirror_env``);
- a folder (every video file in it, recursively) or a glob (``footage/**/*.mp4``);
- a list file (``.txt`` or ``.list``): one local path per line, ``#`` comments, paths relative
  to the list's folder;
- anything else: a video path, kept as given even if it does not exist, so a missing file
  ends up in the errors table with its reason instead of vanishing.

Paths keep their order of appearance (a folder or glob is sorted), duplicates are dropped, and
the list is streamed in chunks (:func:`chunks`), so a list file of millions of paths is never
held whole.
"""

from __future__ import annotations

import glob
import itertools
import os
from pathlib import Path
from typing import Iterable, Iterator

from koala.config import Params

VIDEO_SUFFIXES = frozenset({".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".flv", ".wmv", ".ogv"})
LIST_SUFFIXES = frozenset({".txt", ".list"})
SAMPLES = "samples"


class InputError(ValueError):
    """An input spec names nothing usable (an empty folder, a glob without matches)."""


def samples_folder(params: Params) -> Path:
    """The sample clips' folder: the corpus stage's copy, else the mirror folder.

    Raises:
        InputError: neither exists (the message says how to get them).
    """
    ours = Path(params.corpus.samples.out_dir)
    if ours.is_dir() and any(ours.glob("*.mp4")):
        return ours
    mirror = os.environ.get(params.corpus.samples.mirror_env, "")
    if mirror and Path(mirror).is_dir():
        return Path(mirror)
    raise InputError(f"no sample clips: {ours} is empty and ${params.corpus.samples.mirror_env} names no folder; "
                     "run `koala corpus samples` first or give your own videos")


def _folder(path: Path) -> list[str]:
    return sorted(str(p) for p in path.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)


def _list_file(path: Path) -> Iterator[str]:
    base = path.parent
    with open(path) as fh:
        for line in fh:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            p = Path(line).expanduser()
            yield str(p if p.is_absolute() else base / p)


def expand(spec: str, params: Params) -> Iterator[str]:
    """The video paths one input spec names (see the module docstring).

    Raises:
        InputError: a folder with no videos, or a glob that matches nothing.
    """
    if spec == SAMPLES:
        yield from _folder(samples_folder(params))
        return
    path = Path(spec).expanduser()
    if path.is_dir():
        found = _folder(path)
        if not found:
            raise InputError(f"{path}: no video files in this folder (looked for {', '.join(sorted(VIDEO_SUFFIXES))})")
        yield from found
    elif glob.has_magic(spec):
        found = sorted(p for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
        if not found:
            raise InputError(f"{spec}: the pattern matches no files")
        yield from found
    elif path.suffix.lower() in LIST_SUFFIXES and path.is_file():
        yield from _list_file(path)
    else:
        yield str(path)


def iter_inputs(specs: Iterable[str], params: Params) -> Iterator[str]:
    """Every video path the specs name, in order, each once."""
    seen: set[str] = set()
    for spec in specs:
        for p in expand(str(spec), params):
            key = os.path.abspath(p)
            if key not in seen:
                seen.add(key)
                yield key


def chunks(paths: Iterable[str], size: int) -> Iterator[list[str]]:
    """Consecutive lists of at most ``size`` paths (the unit a curate run holds in memory)."""
    it = iter(paths)
    while batch := list(itertools.islice(it, max(1, size))):
        yield batch


def check_sources(path: str | Path) -> None:
    """Read the sources table once, so a bad one stops the run before any work (InputError naming it)."""
    from koala.filter.sources import sources_table

    try:
        sources_table(path)
    except (FileNotFoundError, ValueError) as exc:
        raise InputError(str(exc)) from None
