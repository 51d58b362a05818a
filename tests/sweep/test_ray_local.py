"""Issue #16 finding 4: a local Ray instance is this machine's business only. Every listening
socket of the driver's Ray processes is on loopback (checked with `ss`, as a user would), and
those processes end with the driver: after a normal close, and after a SIGKILL of the driver,
which before the reaper left ray::DashboardAgent and ray::RuntimeEnvAgent running for
minutes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sweep.executors import reaper

from .conftest import ROOT

pytestmark = pytest.mark.skipif(shutil.which("ss") is None, reason="no `ss` (iproute2)")

DRIVER = """
import sys, time
import ray
from sweep.executors.ray_executor import RayExecutor
ex = RayExecutor(workers=1)
assert ray.get(ray.remote(lambda: 1).remote()) == 1  # a worker, listening too
print("READY", flush=True)
if sys.argv[1] == "close":
    ex.close()
    print("CLOSED", flush=True)
time.sleep(600)
"""
LOOPBACK = ("127.0.0.1:", "[::ffff:127.0.0.1]:", "[::1]:", "localhost:")


def _driver(mode: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, mode], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
    line = proc.stdout.readline()
    assert line.strip() == "READY", line
    return proc


def _listening(pids: set[int]) -> list[tuple[str, int]]:
    """(local address, pid) of every listening TCP socket owned by one of `pids`."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        cols = line.split()
        for pid in {int(p) for p in _pids_in(line)} & pids:
            found.append((cols[3], pid))
    return found


def _pids_in(line: str) -> list[str]:
    return [part.split(",")[0] for part in line.split("pid=")[1:]]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")[:80]
    except OSError:
        return "?"


def _gone(tree: dict[int, int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := reaper.alive(tree)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


@pytest.mark.slow
def test_a_local_instance_listens_on_loopback_only_and_ends_with_a_killed_driver():
    proc = _driver("kill")
    try:
        tree = reaper.descendants(proc.pid)
        tree[proc.pid] = reaper.stat(proc.pid)[1]
        sockets = _listening(set(tree))
        # gcs_server, the raylet (two), the driver, a worker, the runtime-env agent at least
        assert len(sockets) >= 4, sockets
        outward = [(addr, pid) for addr, pid in sockets if not addr.startswith(LOOPBACK)]
        assert not outward, f"listening beyond loopback: {outward}"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        left = _gone(tree, timeout=20)
        assert not left, [_cmdline(p) for p in left]
    finally:
        proc.kill()


@pytest.mark.slow
def test_a_closed_executor_leaves_no_ray_process():
    proc = _driver("close")
    try:
        tree = reaper.descendants(proc.pid)
        assert proc.stdout.readline().strip() == "CLOSED"
        left = _gone(tree, timeout=20)
        assert not left, left
    finally:
        proc.kill()


@pytest.mark.slow
def test_rays_messages_reach_the_terminal_only_with_verbose(tmp_path):
    """Issue #18: Ray's start-up notice (token authentication) is kept out of the user's
    terminal, and `sweep --verbose` lets it through."""
    from .tiny import tiny_scenario

    scen, _ = tiny_scenario(tmp_path, policies=("upstream",), duration="2ms")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("RAY_ADDRESS", None)
    env.pop("PCP_SWEEP_VERBOSE", None)
    errs = {}
    for flag in ([], ["--verbose"]):
        proc = subprocess.run(
            [sys.executable, "-m", "sweep.cli", *flag, "run", str(scen), "--results",
             str(tmp_path / f"r{len(flag)}")], capture_output=True, text=True, env=env,
            cwd=ROOT, timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        errs[bool(flag)] = proc.stderr
    assert "Token authentication" not in errs[False]
    assert "Token authentication" in errs[True]
