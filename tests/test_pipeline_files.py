"""Notebooks and dvc.yaml: committed clean, one stage per notebook, declared deps exist."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from koala.config import Params, to_dict

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def _entries(items):
    return [next(iter(x)) if isinstance(x, dict) else x for x in items]


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs_and_has_parameters(nb):
    cells = json.loads(nb.read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), f"{nb.name} has outputs"
    params = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1 and "params_file" in "".join(params[0]["source"])


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_has_a_stage_that_renders_it(nb):
    stages = [s for s in STAGES.values() if nb.stem in s["cmd"]]
    assert len(stages) == 1, f"{nb.name}: expected one dvc stage, found {len(stages)}"
    (stage,) = stages
    assert f"notebooks/{nb.name}" in _entries(stage["deps"])
    assert f"reports/{nb.stem}.html" in _entries(stage["outs"])


def test_stage_deps_exist_and_params_name_real_sections():
    known = set()

    def walk(d, prefix=""):
        for k, v in d.items():
            known.add(prefix + k)
            if isinstance(v, dict):
                walk(v, prefix + k + ".")

    walk(to_dict(Params()))
    produced = {o for s in STAGES.values() for o in _entries(s.get("outs", [])) + _entries(s.get("metrics", []))}
    for name, stage in STAGES.items():
        for dep in stage.get("deps", []):
            assert (ROOT / dep).exists() or dep in produced, f"{name}: dep {dep} neither exists nor is produced"
        for p in stage.get("params", []):
            if isinstance(p, dict):  # another params file, tracked whole (the override file)
                assert all((ROOT / f).is_file() for f in p), f"{name}: params file {p} is missing"
                continue
            assert p in known, f"{name}: params key {p} is not in the config"


def test_sample_fetch_does_not_depend_on_benchmark_params():
    """So `dvc exp run -S corpus.bench.*` reruns the benchmark, not the sample fetch."""
    assert not any(str(p).startswith("corpus.bench") for p in STAGES["corpus"]["params"])
    assert "corpus.bench" in STAGES["bench"]["params"]


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_smoke_mode(nb, tmp_path):
    shared = ROOT.parent / "shared" / "data" / "koala_tsa_samples"
    if not shared.is_dir():
        pytest.skip("sample clips not available")
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    env = {**os.environ, "KOALA_SAMPLES_MIRROR": str(shared)}
    for stem in ["00_corpus"] + ([nb.stem] if nb.stem != "00_corpus" else []):
        subprocess.run([sys.executable, "-m", "koala.cli", "notebook", stem, "--smoke"], cwd=tmp_path, env=env, check=True)
    assert (tmp_path / "reports" / f"{nb.stem}.html").stat().st_size > 10_000


@pytest.mark.timeout(300)
def test_corpus_notebook_without_mirror_or_network_fails_with_advice(tmp_path):
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    (tmp_path / "params.yaml").write_text("corpus:\n  samples:\n    base_url: http://127.0.0.1:9/\n")
    env = {k: v for k, v in os.environ.items() if k != "KOALA_SAMPLES_MIRROR"}
    res = subprocess.run([sys.executable, "-m", "koala.cli", "notebook", "00_corpus"], cwd=tmp_path, env=env,
                         capture_output=True, text=True)
    assert res.returncode == 1
    assert "SamplesUnavailable: cannot get the Koala sample clips" in res.stderr
    assert "KOALA_SAMPLES_MIRROR" in res.stderr
    assert (tmp_path / "reports" / "00_corpus.failed.ipynb").exists()
    assert not (tmp_path / "reports" / "00_corpus.html").exists()


def test_configured_output_paths_are_the_stage_outs():
    """dvc.yaml cannot read paths from the config, so the two are checked against each other."""
    from koala.config import load_params

    corpus = load_params(ROOT / "params.yaml").corpus
    outs = {name: set(_entries(s.get("outs", []))) for name, s in STAGES.items()}
    assert {corpus.samples.out_dir, corpus.samples.table, corpus.samples.labels_table,
            f"{corpus.errors_dir}/corpus_samples.parquet"} <= outs["corpus"]
    assert {corpus.bench.out_dir, corpus.videos_table, f"{corpus.errors_dir}/corpus_bench.parquet"} <= outs["bench"]


# --- stage deps cover the code each notebook runs -----------------------------------------------


def _koala_imports(source: str, here: str = "") -> set[str]:
    """Dotted names of the koala modules ``source`` imports anywhere (top level or inside functions).

    ``from koala.x import y`` names ``koala.x.y`` when ``y`` is a module, else ``koala.x``; ``here``
    (the importing module's package) resolves relative imports.
    """
    import ast

    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "koala")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = here.split(".")[: len(here.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            if base.split(".")[0] != "koala":
                continue
            for a in node.names:
                sub = f"{base}.{a.name}"
                found.add(sub if _module_file(sub) else base)
    return found


def _module_file(name: str) -> Path | None:
    """koala/x/y.py or koala/x/y/__init__.py for ``koala.x.y``, if it exists."""
    p = ROOT.joinpath(*name.split("."))
    if p.with_suffix(".py").is_file():
        return p.with_suffix(".py")
    if (p / "__init__.py").is_file():
        return p / "__init__.py"
    return None


def _closure(names: set[str]) -> set[Path]:
    """Every koala source file that importing ``names`` runs: the modules, their packages' __init__, and so on."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for k in range(1, len(parts) + 1):  # importing koala.a.b runs koala/__init__ and koala/a/__init__ too
            mod = ".".join(parts[:k])
            if mod in seen or _module_file(mod) is None:
                continue
            seen.add(mod)
            f = _module_file(mod)
            pkg = mod if f.name == "__init__.py" else mod.rsplit(".", 1)[0]
            todo.extend(_koala_imports(f.read_text(), here=pkg))
    return {_module_file(m).relative_to(ROOT) for m in seen}


def _trivial(path: Path) -> bool:
    """A module of a docstring and constants only (koala/__init__.py): nothing a stage computes changes with it."""
    import ast

    body = ast.parse((ROOT / path).read_text()).body
    return all(isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)
               or isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant) for n in body)


def _covered(path: Path, deps: list[str]) -> bool:
    return any(path == Path(d) or Path(d) in path.parents for d in deps)


def test_closure_follows_imports_inside_functions_and_relative_ones():
    files = _closure({"koala.split.stage"})
    assert Path("koala/split/stage.py") in files and Path("koala/io/video.py") in files  # via probe
    assert Path("koala/engine/core.py") in files and Path("koala/config.py") in files


@pytest.mark.parametrize("name", [n for n, s in STAGES.items() if any(str(d).endswith(".ipynb") for d in s.get("deps", []))])
def test_stage_deps_cover_every_koala_module_its_notebook_imports(name):
    """A change to any koala file a stage's notebook runs (directly or through koala's own imports) reruns the stage.

    Modules of nothing but a docstring and constants are left out (they change nothing a stage computes).
    """
    stage = STAGES[name]
    deps = _entries(stage["deps"])
    (nb,) = [d for d in deps if d.endswith(".ipynb")]
    cells = json.loads((ROOT / nb).read_text())["cells"]
    source = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    source = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    files = _closure(_koala_imports(source))
    missing = sorted(str(f) for f in files if not _trivial(f) and not _covered(f, deps))
    assert not missing, f"stage {name}: dvc.yaml deps miss {missing}"


def test_report_stage_deps_cover_the_report_code():
    deps = _entries(STAGES["report"]["deps"])
    files = _closure({"koala.report.index", "koala.report.readme"})
    missing = sorted(str(f) for f in files if not _trivial(f) and not _covered(f, deps))
    assert not missing, f"stage report: dvc.yaml deps miss {missing}"
