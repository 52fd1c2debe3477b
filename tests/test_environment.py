"""environment.yml mirrors pyproject.toml, and the pins the guide asks for are there."""

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pyproject_deps():
    proj = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return set(proj["dependencies"]) | set(proj["optional-dependencies"]["dev"])


def test_environment_yml_lists_the_same_pins_as_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert set(pip) == _pyproject_deps()
    assert "python=3.11" in env["dependencies"]


def test_torch_pins_and_every_dependency_is_exact():
    deps = _pyproject_deps()
    assert {"torch==2.14.1", "torchvision==0.29.1"} <= deps
    assert all("==" in d for d in deps), [d for d in deps if "==" not in d]


def test_readme_starts_with_the_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text().splitlines()
    fence = [i for i, line in enumerate(readme) if line.startswith("```")]
    first_block = [line for line in readme[fence[0] + 1 : fence[1]] if line.strip()]
    assert first_block == ["make repro", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()
