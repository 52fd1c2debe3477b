"""Typed configuration built from params.yaml.

Each params.yaml section is a frozen, keyword-only dataclass; defaults live only here.
:func:`load_params` rejects unknown keys (naming the dotted path and the closest valid key) and
values of the wrong type, so a typo in ``dvc exp run -S`` fails loudly instead of being ignored.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """params.yaml (or an override) does not fit the config dataclasses."""


@dataclass(frozen=True, kw_only=True)
class SamplesConfig:
    """Where the five real Koala sample clips come from (§ Data of DESIGN.md)."""

    base_url: str = (  # the official repository's sample folder (released code)
        "https://raw.githubusercontent.com/KlingAIResearch/Koala-36M/main/"
        "training_suitability_assessment/sample/video/"
    )
    mirror_env: str = "KOALA_SAMPLES_MIRROR"  # env var naming a local folder with the files (ours)
    out_dir: str = "data/samples"
    table: str = "data/samples.parquet"  # VIDEOS rows of the clips
    labels_table: str = "data/sample_labels.parquet"  # their released VTSS labels


@dataclass(frozen=True, kw_only=True)
class TransitionMix:
    """Relative frequency of each transition type in the benchmark (ours)."""

    cut: float = 0.35
    dissolve: float = 0.15
    fade_black: float = 0.125
    fade_white: float = 0.125
    wipe: float = 0.125
    slide: float = 0.125


@dataclass(frozen=True, kw_only=True)
class BenchConfig:
    """The development transition benchmark: real clips chained with synthetic transitions."""

    seed: int = 0
    n_videos: int = 6
    shots_per_video: int = 8
    shot_sec_min: float = 1.2  # ours: long enough to fit a 1.2 s transition on each side
    shot_sec_max: float = 4.0
    transition_sec_min: float = 0.3  # issue #2: gradual transitions last 0.3-1.2 s
    transition_sec_max: float = 1.2
    mix: TransitionMix = field(default_factory=TransitionMix)
    width: int = 640
    height: int = 360
    fps: float = 25.0
    crf: int = 18  # x264 quality; 18 is visually lossless
    flip_prob: float = 0.5  # ours: mirror a shot horizontally for variety
    zoom_max: float = 1.3  # ours: random centre zoom in [1, zoom_max] per shot
    n_flash: int = 2  # negatives: single shots with a short bright flash
    flash_frames: int = 2
    n_pan: int = 2  # negatives: a fast synthetic pan over one still frame
    pan_px_per_frame: float = 24.0
    negative_sec: float = 4.0
    out_dir: str = "data/bench"


@dataclass(frozen=True, kw_only=True)
class CorpusConfig:
    samples: SamplesConfig = field(default_factory=SamplesConfig)
    bench: BenchConfig = field(default_factory=BenchConfig)
    videos_table: str = "data/videos.parquet"
    errors_dir: str = "data/errors"  # one errors table per part: corpus_samples, corpus_bench


@dataclass(frozen=True, kw_only=True)
class EngineConfig:
    """How per-item work is mapped (local processes or Ray Data)."""

    kind: str = "local"  # local | ray
    workers: int = 2  # local processes; 1 runs in-process
    ray_address: str = ""  # empty: RAY_ADDRESS, else a private local Ray instance
    ray_num_cpus: float = 0.5  # per task; below 1 so Ray's own read tasks are never starved
    cache_dir: str = "data/cache"  # per-item results, so a killed run resumes


@dataclass(frozen=True, kw_only=True)
class ReportConfig:
    out_dir: str = "reports"
    title: str = "koala: Koala-36M reproduced"


@dataclass(frozen=True, kw_only=True)
class Params:
    corpus: CorpusConfig = field(default_factory=CorpusConfig)
    engine: EngineConfig = field(default_factory=EngineConfig)
    report: ReportConfig = field(default_factory=ReportConfig)


def build(cls: type, data: dict | None, where: str = "") -> Any:
    """Build dataclass ``cls`` from a mapping, strictly.

    Raises:
        ConfigError: unknown key (with the closest valid one), or a value of the wrong type.
    """
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ConfigError(f"{where or 'params'}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        dotted = f"{where}.{key}" if where else str(key)
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f"; did you mean '{(where + '.') if where else ''}{close[0]}'?" if close else ""
            raise ConfigError(f"unknown parameter '{dotted}'{hint} (valid: {', '.join(names)})")
        kwargs[key] = _coerce(hints[key], value, dotted)
    return cls(**kwargs)


def _coerce(hint: Any, value: Any, where: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return build(hint, value, where)
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(hint):
            try:
                return _coerce(arg, value, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where}: {value!r} does not fit {hint}")
    if hint is type(None):
        if value is None:
            return None
        raise ConfigError(f"{where}: expected null, got {value!r}")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        (item,) = typing.get_args(hint)[:1]
        return tuple(_coerce(item, v, where) for v in value)
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is bool or hint is str:
        if isinstance(value, hint):
            return value
    else:
        return value
    raise ConfigError(f"{where}: expected {hint.__name__}, got {value!r} ({type(value).__name__})")


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read params.yaml into :class:`Params` (missing sections take their defaults)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such params file; run from the repository root or pass its path")
    with open(path) as fh:
        return build(Params, yaml.safe_load(fh) or {})


def to_dict(obj: Any) -> Any:
    """A config dataclass as plain nested dicts (for display and YAML)."""
    return dataclasses.asdict(obj)


def deep_merge(base: dict, override: dict) -> dict:
    """``override`` laid over ``base``, recursively; neither input is changed."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def apply_override(params_path: str | Path, override_path: str | Path) -> Params:
    """Lay an override file (e.g. the CI configuration) over params.yaml, in place, validated."""
    with open(params_path) as fh:
        base = yaml.safe_load(fh) or {}
    with open(override_path) as fh:
        override = yaml.safe_load(fh) or {}
    merged = deep_merge(base, override)
    params = build(Params, merged)
    from koala.io.atomic import write_text

    write_text(params_path, yaml.safe_dump(merged, sort_keys=False))
    return params


def smoke_params(params: Params) -> Params:
    """The smallest configuration that still runs every code path (notebook smoke runs)."""
    bench = dataclasses.replace(params.corpus.bench, n_videos=1, shots_per_video=3, n_flash=1, n_pan=1, negative_sec=2.0)
    return dataclasses.replace(params, corpus=dataclasses.replace(params.corpus, bench=bench))
