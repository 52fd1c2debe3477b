"""Contract over the registry: every metric is documented, in range, deterministic, NaN with a reason."""

import math

import numpy as np
import pytest

from koala.metrics.registry import DIRECTIONS, METRIC_NAMES, MetricSpec, load_all, metric, specs_frame
from koala.metrics.scorer import score

from .conftest import make_clip, pan

REGISTRY = load_all()


def test_sixteen_named_columns_all_implemented():
    assert list(REGISTRY) == list(METRIC_NAMES)
    assert len(METRIC_NAMES) == 16 and {"motion_score", "clarity_score", "aesthetic_score"} <= set(METRIC_NAMES)
    table = specs_frame()
    assert list(table["name"]) == list(METRIC_NAMES)
    for spec, fn in REGISTRY.values():
        assert spec.direction in DIRECTIONS and spec.lo < spec.hi and spec.unit and spec.version >= 1
        assert spec.description and spec.reference and callable(fn)
    assert [s.name for s, _ in REGISTRY.values() if s.needs_weights] == ["aesthetic_score"]


def test_duplicate_or_unknown_names_raise():
    spec = REGISTRY["brightness"][0]
    with pytest.raises(ValueError, match="twice"):
        metric(spec)(lambda clip, cfg: 0.0)
    with pytest.raises(ValueError, match="not a metrics.parquet column"):
        metric(MetricSpec(name="sparkle", unit="", lo=0, hi=1, direction="neutral", version=1, description="", reference=""))


CASES = {
    "still": lambda: pan(10, 180, 320),
    "pan": lambda: pan(10, 180, 320, dx=3.0),
    "letterboxed": lambda: np.concatenate([np.zeros((10, 20, 320, 3), np.uint8), pan(10, 140, 320, dx=1.0), np.zeros((10, 20, 320, 3), np.uint8)], axis=1),
    "dark": lambda: (pan(10, 180, 320, dx=1.0) // 16),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_metric_is_in_range_and_deterministic(case):
    frames = CASES[case]()
    first = score(make_clip(frames))
    again = score(make_clip(frames))
    for name, (spec, _) in REGISTRY.items():
        v = first.values[name]
        if spec.needs_weights:
            assert math.isnan(v) and "weights" in first.reasons[name]  # no weights here: NaN with the reason
            continue
        assert spec.lo <= v <= spec.hi, f"{name}={v} outside [{spec.lo}, {spec.hi}] on {case}"
        assert v == again.values[name], f"{name} is not deterministic"
    assert set(first.ms) >= set(METRIC_NAMES) | {"flow", "global_motion"}


def test_unavailable_is_nan_with_reason_and_logged_as_warning(caplog):
    from koala.metrics import scorer

    scorer._WARNED.clear()
    res = score(make_clip(pan(1, 90, 160)))
    assert math.isnan(res.values["motion_score"]) and "at least 2" in res.reasons["motion_score"]
    assert math.isfinite(res.values["brightness"])
    assert any(r.levelname == "WARNING" and "motion_score" in r.getMessage() for r in caplog.records)
