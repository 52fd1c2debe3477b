"""`koala curate` on a real two-node Ray cluster (head + one worker, `ray start` on 127.0.0.1) gives the local tables.

Slow (a cluster takes 30-60 s to start on 2 shared cores): run with ``pytest -m "ray and slow" tests/curate``.
Each node gets one CPU and a small object store; curate's tasks ask for 0.25-0.5 CPU each
(``curate.ray``), so Ray Data's own read tasks always find room. Cleanup stops exactly the
processes this test started: the two ``ray start --block`` commands, then any process whose
command line names this test's private Ray temp folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

from koala.io.tables import read_table

pytestmark = [pytest.mark.ray, pytest.mark.slow]

RAY = Path(sys.executable).with_name("ray")
START_ENV = {"RAY_agent_register_timeout_ms": "180000", "RAY_USAGE_STATS_ENABLED": "0"}  # slow agents on a loaded machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def started(log: Path, proc: subprocess.Popen, timeout: float) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if "block forever" in log.read_text(errors="replace"):
            return True
        time.sleep(0.5)
    return False


def our_processes(tag: str) -> list[int]:
    """PIDs whose command line names ``tag`` (this test's private Ray temp folder)."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if tag.encode() in cmdline.read_bytes():
                pids.append(int(cmdline.parent.name))
        except OSError:
            continue
    return [p for p in pids if p != os.getpid()]


@pytest.fixture
def cluster():
    """A head and one worker node, each with 1 CPU and a 200 MB object store; yields the address."""
    if not RAY.exists():
        pytest.skip(f"no ray command beside {sys.executable}")
    tmp = Path(tempfile.mkdtemp(prefix="kray", dir="/tmp"))  # short: Ray's socket paths must fit 107 bytes
    port = free_port()
    env = {**os.environ, **START_ENV}
    common = ["--block", "--num-cpus=1", "--object-store-memory=200000000", "--disable-usage-stats"]
    procs = []
    try:
        head_log = tmp / "head.log"
        procs.append(subprocess.Popen([str(RAY), "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1",
                                       "--include-dashboard=false", f"--temp-dir={tmp}", *common],
                                      stdout=head_log.open("w"), stderr=subprocess.STDOUT, env=env, start_new_session=True))
        assert started(head_log, procs[0], 120), f"the Ray head did not start:\n{head_log.read_text()[-2000:]}"
        worker_log = tmp / "worker.log"
        procs.append(subprocess.Popen([str(RAY), "start", f"--address=127.0.0.1:{port}", *common],
                                      stdout=worker_log.open("w"), stderr=subprocess.STDOUT, env=env, start_new_session=True))
        assert started(worker_log, procs[1], 120), f"the Ray worker did not start:\n{worker_log.read_text()[-2000:]}"
        yield f"127.0.0.1:{port}"
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        for pid in our_processes(str(tmp)):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.timeout(420)
def test_a_two_node_cluster_gives_the_local_engine_tables(curated, cluster, tmp_path):
    out = tmp_path / "ray-out"
    env = {**os.environ, "RAY_ADDRESS": cluster}
    cmd = [sys.executable, "-c", "import sys; from koala.cli import main; sys.exit(main(sys.argv[1:]))", "curate",
           str(curated["list"]), "--out", str(out), "--params", str(curated["params"]), "--export-clips", "--engine", "ray"]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=360)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Connecting to existing Ray cluster" in run.stderr or "joining the Ray cluster" in run.stderr
    assert (out / "koala.csv").read_bytes() == (curated["out"] / "koala.csv").read_bytes()
    local, ray_ = read_table(curated["out"] / "clips.parquet"), read_table(out / "clips.parquet")
    pd.testing.assert_frame_equal(ray_, local)
    pd.testing.assert_frame_equal(read_table(out / "errors.parquet"), read_table(curated["out"] / "errors.parquet"))
    probe = subprocess.run([sys.executable, "-c", "import ray; ray.init(log_to_driver=False); "
                            "print(sum(n['Alive'] for n in ray.nodes()))"], env=env, capture_output=True, text=True, timeout=60)
    assert probe.stdout.strip().splitlines()[-1] == "2"  # both nodes still up after the job
