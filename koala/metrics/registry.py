"""The metric registry: what each sub-metric measures, on which scale, and the function that does it.

Every metric is a :class:`MetricSpec` plus a function from a :class:`~koala.metrics.clip.DecodedClip`
(one decode of the clip, shared by all metrics) to one float. A metric that cannot be computed
raises :class:`Unavailable` with the reason; the scorer stores NaN and logs the reason, never a
made-up value. Names are the column names of ``metrics.parquet`` (the release's names where it has
them: ``motion_score``, ``clarity_score``, ``aesthetic_score``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from koala.config import ScoreConfig
    from koala.metrics.clip import DecodedClip

MetricFn = Callable[["DecodedClip", "ScoreConfig"], float]


class Unavailable(Exception):
    """A metric cannot be computed for this clip or configuration (e.g. no model weights)."""


@dataclass(frozen=True)
class MetricSpec:
    """What a metric means; the notebook and README tables are built from these records."""

    name: str
    unit: str
    lo: float  # expected range (values outside are possible only where ``hi`` is inf)
    hi: float
    direction: str  # "higher_better" | "lower_better" | "neutral" (a property, not a quality)
    version: int
    description: str
    reference: str  # paper section, or the method it follows
    needs_weights: bool = False


DIRECTIONS = ("higher_better", "lower_better", "neutral")

# Fixed column order of metrics.parquet (the caption stage and the TSA label branch read these).
METRIC_NAMES = (
    "motion_score",
    "moving_area",
    "camera_motion",
    "camera_shake",
    "clarity_score",
    "aesthetic_score",
    "brightness",
    "contrast",
    "colorfulness",
    "saturation",
    "noise",
    "blockiness",
    "border_fraction",
    "text_area",
    "frozen_fraction",
    "flicker",
)

METRICS: dict[str, tuple[MetricSpec, MetricFn]] = {}


def metric(spec: MetricSpec) -> Callable[[MetricFn], MetricFn]:
    """Register ``fn`` under ``spec.name``; a duplicate or unknown name raises."""
    if spec.name not in METRIC_NAMES:
        raise ValueError(f"metric {spec.name!r} is not a metrics.parquet column; add it to METRIC_NAMES first")
    if spec.direction not in DIRECTIONS:
        raise ValueError(f"metric {spec.name!r}: direction must be one of {DIRECTIONS}")

    def register(fn: MetricFn) -> MetricFn:
        if spec.name in METRICS:
            raise ValueError(f"metric {spec.name!r} is registered twice")
        METRICS[spec.name] = (spec, fn)
        return fn

    return register


def load_all() -> dict[str, tuple[MetricSpec, MetricFn]]:
    """Import every metric module (registration happens at import) and return the registry in column order."""
    from koala.metrics import aesthetic, color, compression, layout, movement, sharpness, temporal, text  # noqa: F401

    missing = [n for n in METRIC_NAMES if n not in METRICS]
    if missing:
        raise RuntimeError(f"metrics without an implementation: {missing}")
    return {n: METRICS[n] for n in METRIC_NAMES}


def specs_frame():
    """The registry as a table (name, unit, range, direction, version, description, reference)."""
    import pandas as pd

    rows = [vars(spec) for spec, _ in load_all().values()]
    return pd.DataFrame(rows)
