"""What a long sweep meets: Ctrl-C, a second run on the same directory, a worker node that
dies. Each time every point ends stored exactly once and readable, and a rerun does exactly
what is missing."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sweep.runner import make_plan
from sweep.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def scenario(tmp_path, name="robust", cpus=(2, 3, 4, 5, 6, 7), seeds=2, duration="30ms"):
    path = tmp_path / f"{name}.toml"
    path.write_text(
        f'[sweep]\nname = "{name}"\nseeds = {seeds}\nduration = "{duration}"\n'
        f"[grid]\ncpus = {list(cpus)}\n"
        '[fixed]\nmem = "256MiB"\nmix = "page_fault1"\n"mix.page_fault1.map_bytes" = "4MiB"\n'
    )
    return path


def stored_files(results, name):
    return sorted((Path(results) / name / "points").glob("*.parquet"))


def assert_all_readable(results, name):
    for kind in ("points", "samples"):
        for f in (Path(results) / name / kind).glob("*.parquet"):
            assert pq.read_table(f).num_rows > 0


def sweep_cmd(*args):
    return [str(BIN / "sweep"), *args]


@pytest.mark.slow
def test_ctrl_c_leaves_valid_files_and_a_rerun_does_the_rest(tmp_path):
    # 48 points, so that the interrupt lands mid-run even once compiled code is cached
    path = scenario(tmp_path, cpus=(2, 3, 4, 5, 6, 7, 8, 9), seeds=6)
    results = str(tmp_path / "results")
    total = len(load_scenario(path).points)
    # A shell that runs the tests in the background leaves SIGINT ignored in its children;
    # a user's terminal does not: restore the default, as a terminal would.
    proc = subprocess.Popen(sweep_cmd("run", str(path), "--results", results,
                                      "--executor", "serial"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 300
    while len(stored_files(results, "robust")) < 2 and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=120) == 130
    done = len(stored_files(results, "robust"))
    assert 2 <= done < total
    assert_all_readable(results, "robust")
    plan = make_plan(load_scenario(path), results)
    assert len(plan.to_run) == total - done
    rerun = subprocess.run(sweep_cmd("run", str(path), "--results", results,
                                     "--executor", "serial"), capture_output=True)
    assert rerun.returncode == 0
    assert len(stored_files(results, "robust")) == total


@pytest.mark.slow
def test_two_runs_on_one_directory_store_each_point_once(tmp_path):
    path = scenario(tmp_path, cpus=(2, 3, 4), seeds=2, duration="10ms")
    results = str(tmp_path / "results")
    cmd = sweep_cmd("run", str(path), "--results", results, "--executor", "serial")
    procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for _ in range(2)]
    assert [p.wait(timeout=600) for p in procs] == [0, 0]
    files = stored_files(results, "robust")
    assert len(files) == len(load_scenario(path).points)
    assert len({f.name for f in files}) == len(files)
    assert_all_readable(results, "robust")
    leftovers = [f for f in (Path(results) / "robust").rglob("*") if f.name.startswith(".")]
    assert leftovers == []


def _newest_raylet() -> int:
    pids = subprocess.run(["pgrep", "-f", "raylet/raylet"], capture_output=True, text=True)
    ages = []
    for pid in pids.stdout.split():
        out = subprocess.run(["ps", "-o", "etimes=", "-p", pid], capture_output=True, text=True)
        if out.stdout.strip():
            ages.append((int(out.stdout.strip()), int(pid)))
    return min(ages)[1]


@pytest.mark.slow
def test_a_worker_node_dying_mid_sweep_loses_nothing(tmp_path):
    ray = str(BIN / "ray")
    port = "6391"
    # two nodes on one machine; token authentication off, as for any local test cluster
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0",
           "RAY_AUTH_MODE": "disabled"}
    env.pop("RAY_ADDRESS", None)
    start = [ray, "start", "--num-cpus=1", "--disable-usage-stats",
             "--object-store-memory=200000000"]
    subprocess.run([*start, "--head", f"--port={port}", "--include-dashboard=false",
                    "--node-ip-address=127.0.0.1"], check=True, env=env, capture_output=True)
    try:
        subprocess.run([*start, f"--address=127.0.0.1:{port}", "--node-ip-address=127.0.0.1"],
                       check=True, env=env, capture_output=True)
        worker_raylet = _newest_raylet()
        path = scenario(tmp_path, name="multinode", cpus=(2, 3, 4, 5), seeds=3,
                        duration="60ms")
        results = str(tmp_path / "results")
        proc = subprocess.Popen(sweep_cmd("run", str(path), "--results", results,
                                          "--address", f"127.0.0.1:{port}"),
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 300
        while len(stored_files(results, "multinode")) < 2 and time.time() < deadline:
            time.sleep(0.2)
        # kill the second node: its raylet and every worker process it started (there are
        # some: with one CPU per node, points run on both)
        killed = subprocess.run(["pkill", "-9", "-P", str(worker_raylet)])
        assert killed.returncode == 0
        os.kill(worker_raylet, signal.SIGKILL)
        assert proc.wait(timeout=900) == 0, proc.stderr.read().decode()[-2000:]
        files = stored_files(results, "multinode")
        assert len(files) == len(load_scenario(path).points)
        assert_all_readable(results, "multinode")
    finally:
        subprocess.run([ray, "stop", "--force"], env=env, capture_output=True)
