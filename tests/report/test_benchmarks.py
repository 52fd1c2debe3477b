"""Benchmark results are metrics files, rendered into the README: nothing measured is typed by hand."""

import json
import math
from pathlib import Path

import pandas as pd

from koala.report import benchmarks as B
from koala.report.readme import BENCHMARKS, render_blocks

ROOT = Path(__file__).resolve().parents[2]


def test_save_result_records_what_ran_and_renders_its_tables(tmp_path):
    df = pd.DataFrame({"stage": ["score", "caption"], "x decode": [1.234567, math.nan]})
    path = B.save_result("demo", summary={"ratio": 1.5, "missing": float("nan")}, tables=[B.frame_table("Demo", df, digits=2)],
                         lines=["one line"], argv=["benchmarks/demo.py", "--fast"], out_dir=tmp_path)
    res = json.loads(path.read_text())
    assert res["command"] == "python benchmarks/demo.py --fast" and res["summary"] == {"ratio": 1.5, "missing": None}
    assert res["cpus"] and res["measured"]
    block = B.bench_block("demo", B.read_results(tmp_path))
    assert "**Demo**" in block and "| score | 1.23 |" in block and "| caption | – |" in block
    assert "- one line" in block and "reports/metrics/benchmarks/demo.json" in block and "benchmarks/demo.py --fast" in block


def test_a_benchmark_not_run_says_so_instead_of_a_number():
    assert B.bench_block("nothing", {}) == "_Not measured yet: run `python benchmarks/nothing.py`, then `koala report`._"
    assert "Not measured yet" in render_blocks({})["bench-decode"]


def test_every_readme_benchmark_is_a_script_that_saves_under_its_own_name():
    for name in BENCHMARKS:
        script = ROOT / "benchmarks" / f"{name}.py"
        assert script.is_file(), script
        assert f'save_result("{name}"' in script.read_text(), f"{script} does not write its result file"


def test_the_env_folder_keeps_trial_runs_out_of_the_committed_results(tmp_path, monkeypatch):
    monkeypatch.setenv("KOALA_BENCH_DIR", str(tmp_path))
    assert B.save_result("trial", argv=["x"]).parent == tmp_path
