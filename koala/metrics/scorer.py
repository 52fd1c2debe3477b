"""Score one decoded clip with every registered metric; NaN plus a reason where one cannot be computed."""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass, field

from koala.metrics.clip import DecodedClip
from koala.metrics.registry import METRIC_NAMES, Unavailable, load_all

log = logging.getLogger(__name__)

_WARNED: set[str] = set()  # reasons already logged at WARNING in this process (one line per reason, not per clip)


@dataclass
class ClipScores:
    values: dict[str, float]  # metric -> value (NaN when unavailable)
    reasons: dict[str, str] = field(default_factory=dict)  # metric -> why it is NaN
    ms: dict[str, float] = field(default_factory=dict)  # metric (and shared work: flow, global_motion) -> ms


def _warn_once(name: str, reason: str) -> None:
    key = f"{name}: {re.sub(r'[0-9.]+', '#', reason)}"  # one warning per kind of reason, whatever its counts
    if key not in _WARNED:
        _WARNED.add(key)
        log.warning("%s is NaN: %s", name, reason)
    else:
        log.debug("%s is NaN: %s", name, reason)


def score(clip: DecodedClip, names: tuple[str, ...] = METRIC_NAMES) -> ClipScores:
    """Every metric in ``names`` on one decoded clip.

    A metric that raises :class:`Unavailable` (missing weights, too few frames) is NaN with its
    reason. Any other exception is a bug or bad data and propagates: the engine records the item
    as failed instead of writing half-made numbers.
    """
    registry = load_all()
    out = ClipScores(values={})
    for name in names:
        _, fn = registry[name]
        before = dict(clip.timings)
        t = time.perf_counter()
        try:
            value = float(fn(clip, clip.cfg))
            if not math.isfinite(value):
                raise Unavailable(f"not finite ({value})")
        except Unavailable as exc:
            value = math.nan
            out.reasons[name] = str(exc)
            _warn_once(name, str(exc))
        elapsed = (time.perf_counter() - t) * 1000
        shared = sum(clip.timings.get(k, 0.0) - before.get(k, 0.0) for k in clip.timings)
        out.values[name] = value
        out.ms[name] = elapsed - shared  # shared work (flow) is charged to its own line
    out.ms.update(clip.timings)
    return out
