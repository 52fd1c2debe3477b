"""The detector registry: one entry per ``--method`` name, filled by a decorator.

A detector streams ``features()`` over a video chunk by chunk (per-frame scalars only, so memory
stays flat in video length) and turns them into transitions with a cheap ``detect()``; the
split stage and the evaluation treat every method alike through this seam.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from koala.config import SplitConfig
from koala.io.video import VideoInfo

# Modules that register detectors when imported (the registry loads them on first use).
_MODULES = ("koala.split.css_detector", "koala.split.learned", "koala.split.baselines", "koala.split.transnet")

# `auto` is always the project's best detector on the benchmark (see the notebook 02_split).
AUTO = "learned"


@dataclass
class Detection:
    """What a detector found in one video.

    ``spans`` are transitions as inclusive frame spans in the ground truth's convention (a hard
    cut between frames k-1 and k is ``(k - 1, k)``). ``clips`` is set by detectors with their own
    clip rule (the paper's CSS); otherwise clips are cut from the spans (koala.split.clips).
    """

    spans: list[tuple[int, int]]
    num_frames: int
    clips: list[tuple[int, int]] | None = None
    scores: dict[str, np.ndarray] = field(default_factory=dict)  # per-pair curves, for figures


class Detector:
    """Base class: subclasses set ``name`` and implement ``features`` and ``detect``."""

    name = ""
    decode: str = ""  # what it decodes, for the speed table

    def __init__(self, cfg: SplitConfig):
        self.cfg = cfg

    def features(self, path: str | os.PathLike, info: VideoInfo) -> dict[str, np.ndarray]:
        """Per-frame or per-pair arrays of one video, computed from one streamed decode."""
        raise NotImplementedError

    def detect(self, feats: dict[str, np.ndarray], *, num_frames: int, fps: float) -> Detection:
        """Transitions from the features (cheap: no decoding)."""
        raise NotImplementedError

    def run(self, path: str | os.PathLike, info: VideoInfo) -> Detection:
        return self.detect(self.features(path, info), num_frames=info.num_frames, fps=info.fps)


DETECTORS: dict[str, type[Detector]] = {}


def register(name: str) -> Callable[[type[Detector]], type[Detector]]:
    """Class decorator adding a detector under ``name``; a duplicate name raises."""

    def deco(cls: type[Detector]) -> type[Detector]:
        if name in DETECTORS:
            raise ValueError(f"detector {name!r} is registered twice ({DETECTORS[name].__module__} and {cls.__module__})")
        cls.name = name
        DETECTORS[name] = cls
        return cls

    return deco


def _load() -> None:
    for mod in _MODULES:
        importlib.import_module(mod)


def method_names() -> list[str]:
    """Every ``--method`` value: ``auto`` first, then the registered detectors."""
    _load()
    return ["auto", *DETECTORS]


def resolve(method: str) -> str:
    """The registry key a method name stands for (``auto`` is the best detector)."""
    return AUTO if method == "auto" else method


def unavailable(method: str) -> str | None:
    """Why ``method`` cannot run on this machine (a package it needs is not installed), or None."""
    if resolve(method) == "transnetv2":
        from koala.split.transnet import missing

        return missing()
    return None


def get_detector(method: str, cfg: SplitConfig) -> Detector:
    """A detector instance for ``method``.

    Raises:
        ValueError: unknown method, naming the valid ones.
    """
    _load()
    key = resolve(method)
    if key not in DETECTORS:
        raise ValueError(f"unknown split method {method!r}; choose one of: {', '.join(method_names())}")
    return DETECTORS[key](cfg)


def overlapped(batches, fn, depth: int = 2):
    """``fn(batch)`` for each batch, in order, on one worker thread while the next batch decodes.

    Decoding runs in the calling thread and OpenCV/numpy release the GIL, so on two cores the
    features cost little more than the decode itself (docs/DESIGN.md § Splitting).
    """
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        pending: deque = deque()
        for batch in batches:
            pending.append(pool.submit(fn, batch))
            if len(pending) > depth:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
