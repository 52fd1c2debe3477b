"""params.yaml and the config dataclasses: same fields, strict loading, overrides."""

import dataclasses
from pathlib import Path

import pytest
import yaml

from koala.config import (ConfigError, Params, apply_override, build, clear_override, load_params, override_path,
                          smoke_params, to_dict)

ROOT = Path(__file__).resolve().parents[1]


def _keys(d, prefix=""):
    out = set()
    for k, v in d.items():
        out.add(prefix + k)
        if isinstance(v, dict):
            out |= _keys(v, prefix + k + ".")
    return out


def test_params_yaml_lists_exactly_the_dataclass_fields():
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert _keys(raw) == _keys(to_dict(Params()))


def test_params_yaml_loads_and_ci_override_fits():
    params = load_params(ROOT / "params.yaml")
    assert params.engine.kind in ("local", "ray")
    ci = yaml.safe_load((ROOT / "ci" / "params-ci.yaml").read_text())
    build(Params, ci)  # raises on a stale key
    from koala.config import deep_merge

    both = build(Params, deep_merge(yaml.safe_load((ROOT / "params.yaml").read_text()), ci))
    assert both.vtss.train.final in both.vtss.train.variants  # the VTSS stage saves the final variant: CI must train it


def test_unknown_key_names_the_dotted_path_and_a_suggestion():
    with pytest.raises(ConfigError, match=r"corpus\.bench\.n_video'.*did you mean 'corpus\.bench\.n_videos'"):
        build(Params, {"corpus": {"bench": {"n_video": 3}}})


@pytest.mark.parametrize(
    "section, value",
    [({"corpus": {"bench": {"n_videos": "three"}}}, "n_videos"), ({"corpus": {"bench": {"seed": 1.5}}}, "seed"),
     ({"engine": {"workers": True}}, "workers"), ({"corpus": "x"}, "corpus")],
)
def test_wrong_types_are_rejected(section, value):
    with pytest.raises(ConfigError, match=value):
        build(Params, section)


def test_ints_are_accepted_for_floats_and_configs_are_frozen():
    params = build(Params, {"corpus": {"bench": {"fps": 30}}})
    assert params.corpus.bench.fps == 30.0 and isinstance(params.corpus.bench.fps, float)
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.corpus.bench.fps = 1.0


def test_apply_override_merges_validates_and_refuses_bad_keys(tmp_path):
    p = tmp_path / "params.yaml"
    p.write_text((ROOT / "params.yaml").read_text())
    good = tmp_path / "good.yaml"
    good.write_text("corpus:\n  bench:\n    n_videos: 1\n")
    committed = p.read_text()
    params = apply_override(p, good)
    assert params.corpus.bench.n_videos == 1 and load_params(p).corpus.bench.n_videos == 1
    assert load_params(p).corpus.bench.fps == load_params(ROOT / "params.yaml").corpus.bench.fps
    assert p.read_text() == committed  # comments and all: the override lives in its own file
    assert override_path(p) == tmp_path / "params.override.yaml" and "n_videos: 1" in override_path(p).read_text()
    assert load_params(p, override=False).corpus.bench.n_videos == load_params(ROOT / "params.yaml", override=False).corpus.bench.n_videos
    clear_override(p)
    assert load_params(p) == load_params(p, override=False)
    bad = tmp_path / "bad.yaml"
    bad.write_text("corpus:\n  bench:\n    n_vidoes: 1\n")
    before = override_path(p).read_text()
    with pytest.raises(ConfigError):
        apply_override(p, bad)
    assert p.read_text() == committed and override_path(p).read_text() == before
    with pytest.raises(ConfigError, match="no such params file"):
        apply_override(p, tmp_path / "nope.yaml")


def test_the_committed_override_file_is_empty():
    """params.override.yaml ships empty (dvc.yaml tracks it): params.yaml alone is in effect."""
    assert yaml.safe_load(override_path(ROOT / "params.yaml").read_text()) == {}


def test_missing_params_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="no such params file"):
        load_params(tmp_path / "params.yaml")


def test_smoke_params_shrink_the_benchmark():
    small = smoke_params(Params())
    assert small.corpus.bench.n_videos < Params().corpus.bench.n_videos


def test_with_values_sets_dotted_keys_and_skips_none():
    from koala.config import Params, with_values

    p = Params()
    q = with_values(p, {"curate.export_clips": True, "engine.kind": None, "caption.measured.move_min_sec": 2.5})
    assert q.curate.export_clips is True and q.engine.kind == p.engine.kind
    assert q.caption.measured.move_min_sec == 2.5 and p.caption.measured.move_min_sec != 2.5  # the input is unchanged
    with pytest.raises(AttributeError):
        with_values(p, {"curate.no_such_key.x": 1})
