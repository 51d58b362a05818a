"""The sweep service's own cost, run by hand (never as a timed test):

    python benchmarks/bench_sweep.py            # ~5 minutes on a 2-core laptop

On a subset of scenarios/scaling.toml (replicate 0, CPUs 8, 64 and 512: 72 points), on a local
Ray instance whose workers have compiled every (policy, mix) pair beforehand:
- overhead: wall time of the whole batch on 1 worker against the sum of the points'
  simulation times (the `wall_s` stored with each point): what dispatch, Parquet writes and the
  driver add, per point and as a share (target: below 5%);
- scaling: points per minute with 2 workers against 1 (target: at least 1.7x on 2 cores).
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import ray

from sweep.runner import make_plan, run_plan
from sweep.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[1]


def subset(scenario: Scenario) -> Scenario:
    keep = tuple(p for p in scenario.points if p.replicate == 0 and p.spec.cpus in (8, 64, 512))
    return dataclasses.replace(scenario, points=keep)


def warm(scenario: Scenario, workers: int) -> None:
    """Compile every (policy, mix) pair in every worker: a few tiny points each."""
    seen: dict[tuple[str, str], int] = {}
    tiny = []
    for p in scenario.points:
        key = (p.spec.policy, p.spec.mix)
        if seen.get(key, 0) < 2 * workers:
            seen[key] = seen.get(key, 0) + 1
            flat = {**p.flat, "cpus": 2, "mem": 256 << 20, "duration": 100_000, "warmup": 0}
            tiny.append(dataclasses.replace(p, flat=flat, point_id=f"warm{len(tiny)}",
                                            param_id=f"warm{len(tiny)}"))
    with tempfile.TemporaryDirectory() as tmp:
        plan = make_plan(dataclasses.replace(scenario, name="warm", points=tuple(tiny)), tmp)
        run_plan(plan, tmp, executor="ray")


def timed_batch(scenario: Scenario, workers: int) -> tuple[float, float, int]:
    ray.init(num_cpus=workers, include_dashboard=False, _node_ip_address="127.0.0.1",
             log_to_driver=False, configure_logging=False, object_store_memory=128 << 20)
    try:
        warm(scenario, workers)
        with tempfile.TemporaryDirectory() as tmp:
            plan = make_plan(scenario, tmp)
            t0 = time.perf_counter()
            summary = run_plan(plan, tmp, executor="ray")
            wall = time.perf_counter() - t0
            sim = sum(pq.read_table(f, columns=["wall_s"]).column(0)[0].as_py()
                      for f in (Path(tmp) / scenario.name / "points").glob("*.parquet"))
        assert summary.failed == 0
        return wall, sim, summary.done
    finally:
        ray.shutdown()


def main() -> None:
    scenario = subset(load_scenario(ROOT / "scenarios" / "scaling.toml"))
    wall1, sim1, n = timed_batch(scenario, 1)
    wall2, _, _ = timed_batch(scenario, 2)
    over = wall1 - sim1
    print(f"{n} points of scaling.toml (replicate 0, 8/64/512 CPUs), workers compiled")
    print(f"1 worker : {wall1:6.1f} s wall, {sim1:6.1f} s simulating, "
          f"overhead {over / n * 1000:.0f} ms per point = {100 * over / sim1:.1f}% of simulation")
    print(f"2 workers: {wall2:6.1f} s wall")
    print(f"points per minute: {60 * n / wall1:.0f} on 1 worker, {60 * n / wall2:.0f} on 2: "
          f"{wall1 / wall2:.2f}x")


if __name__ == "__main__":
    main()
