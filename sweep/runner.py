"""Plan a sweep against what is stored, run what is needed, report what happened.

A point is *stored* when its exact point id is on disk, *stale* when only another simulator
version's is, *failed* when its last try was recorded as a failure, *missing* otherwise. A run
does the missing and failed points; `force` reruns everything, `rerun_stale` the stale ones.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb

from allocator import get_mix

from .compact import indexes, sweeps
from .executors import Executor, make_executor
from .identity import pair_id
from .scenario import Point, Scenario, legacy_point
from .store import (
    ensure_local_root,
    file_name,
    listing,
    live_claims,
    quarantine,
    write_grid,
)

# the simulator's speed (ops/s per worker), for the --dry-run time estimate (each mix says its
# own simulated rate: Mix.ops_per_cpu_second): the mean of upstream's and pcp-buddy's kbuild
# rates at 64 and 1024 CPUs, 11.4 / 9.9 / 6.5 / 5.3 M (benchmarks/bench_simulator.py, README)
SIM_OPS_PER_SECOND = 8_000_000
LOAD_S = 1.0  # per worker and (policy, mix) pair: the compiled engine loaded from the cache


@dataclass
class Plan:
    scenario: Scenario
    status: dict[str, str]  # point_id -> stored / running / stale / failed / damaged / missing
    to_run: list[Point]
    history: dict[str, tuple[str, str, int, float]] = field(default_factory=dict)
    damaged: dict[str, str] = field(default_factory=dict)  # point file -> what is wrong
    history_from: str = "this sweep"  # or "other sweeps": none of this one's was stored

    def counts(self) -> Counter:
        return Counter(self.status.values())

    def estimate_s(self, workers: int) -> float:
        """Simulation time on `workers`, the engines compiled (commands/compile.py adds what
        compiling the pairs not cached yet costs). With points of this sweep stored by any
        simulator version (`history`), each point to run is charged what the same point took
        then, else what its (policy, mix, CPUs) class took (Eta); with none, the prior."""
        pairs = {(p.spec.policy, p.spec.mix) for p in self.to_run}
        return self.eta(workers).remaining_s() + LOAD_S * len(pairs)

    def eta(self, workers: int) -> Eta:
        """An Eta over the points to run, seeded with what the stored points took."""
        eta = Eta(self.to_run, workers)
        for pid, (policy, mix, cpus, wall) in self.history.items():
            eta.learn(pid, policy, mix, cpus, wall)
        return eta


def _ran_cpus(spec: Any) -> int:
    """The CPUs a point simulates: one node's with the shortcut (knob.symmetric_nodes = 1),
    else all."""
    if not spec.resolved_knobs()["symmetric_nodes"]:
        return spec.cpus
    return spec.cpus // spec.nodes


def _estimate_point_s(point: Point) -> float:
    spec = point.spec
    rate = get_mix(spec.mix).ops_per_cpu_second
    ops = _ran_cpus(spec) * rate * spec.duration_ns / 1e9
    return 0.05 + ops / SIM_OPS_PER_SECOND


class Eta:
    """An ETA that learns from the points finished so far, whatever order they come in.

    A remaining point is charged the wall time of the very same point (same param_id) when
    one was stored before, by any simulator version; else the mean of the points of its class
    (policy, mix, CPUs); with none, the finished points of its (policy, mix) per CPU, times
    its CPUs; with none either, the plan's prior (`_estimate_point_s`) times the ratio of
    measured to prior over everything finished so far. The sum over the remaining points is
    divided by the workers."""

    def __init__(self, points: list[Point], workers: int) -> None:
        self._left = {p.point_id: p for p in points}
        self._workers = max(1, workers)
        self._by_class: dict[tuple[str, str, int], list[float]] = {}
        self._per_cpu: dict[tuple[str, str], list[float]] = {}
        self._exact: dict[str, float] = {}
        self._measured = 0.0
        self._prior = 0.0

    def done(self, point_id: str, wall_s: float | None) -> None:
        p = self._left.pop(point_id, None)
        if p is None or wall_s is None:
            return
        s = p.spec
        self.learn(p.param_id, s.policy, s.mix, _ran_cpus(s), wall_s)
        self._measured += wall_s
        self._prior += _estimate_point_s(p)

    def learn(self, param_id: str, policy: str, mix: str, cpus: int, wall_s: float) -> None:
        """A point that took `wall_s`: finished in this run, or stored before (any version);
        `cpus` are the CPUs simulated (one node's, with the symmetric shortcut)."""
        self._exact.setdefault(param_id, wall_s)
        self._by_class.setdefault((policy, mix, cpus), []).append(wall_s)
        self._per_cpu.setdefault((policy, mix), []).append(wall_s / cpus)

    def point_s(self, p: Point) -> float:
        s = p.spec
        if p.param_id in self._exact:  # the very same point, run by an earlier version
            return self._exact[p.param_id]
        if walls := self._by_class.get((s.policy, s.mix, _ran_cpus(s))):
            return statistics.fmean(walls)
        if per := self._per_cpu.get((s.policy, s.mix)):
            return statistics.fmean(per) * _ran_cpus(s)
        scale = self._measured / self._prior if self._prior else 1.0
        return _estimate_point_s(p) * scale

    def remaining_s(self) -> float:
        return sum(self.point_s(p) for p in self._left.values()) / self._workers


def adopt_legacy(scenario: Scenario, *found: Any) -> Scenario:
    """The scenario with each pair that a store holds under its pre-canonical ids (a point
    of it stored by any simulator version, in any of the listings `found`) taken under
    those ids, every point of the pair alike (identity.canonical; a compatibility read,
    nothing is rewritten). So a store written before canonical ids keeps its ids and seeds
    across reruns and simulator versions: its stale points rerun on the seeds they ran on,
    a missing partner on its stored partner's, and a nightly candidate matches a baseline
    written then (`also` of make_plan)."""
    adopt = {pair_id(p.legacy.flat, p.replicate) for p in scenario.points
             if p.legacy is not None
             and any(f.points.get(p.legacy.param_id) for f in found)}
    if not adopt:
        return scenario
    points = tuple(
        legacy_point(p) if p.legacy is not None
        and pair_id(p.legacy.flat, p.replicate) in adopt else p for p in scenario.points)
    return replace(scenario, points=points)


def make_plan(scenario: Scenario, root: str, *, force: bool = False,
              rerun_stale: bool = False, also: tuple[str, ...] = ()) -> Plan:
    """`also`: other stores whose ids the plan keeps (sweep nightly's baseline)."""
    found = listing(root, scenario.name)
    others = [listing(r, scenario.name, verify=False) for r in also]
    scenario = adopt_legacy(scenario, found, *others)
    running = live_claims(root, scenario.name)
    status: dict[str, str] = {}
    to_run: list[Point] = []
    for p in scenario.points:
        versions = found.points.get(p.param_id, set())
        if p.point_id in versions:
            state = "stored"
        elif file_name(p.param_id, p.point_id) in running:
            state = "running"  # another live run is computing it: not started twice
        elif f"{file_name(p.param_id, p.point_id)}.parquet" in found.damaged:
            state = "damaged"
        elif p.point_id in found.failures.get(p.param_id, set()):
            state = "failed"
        elif versions:
            state = "stale"
        else:
            state = "missing"
        status[p.point_id] = state
        if (force or state in ("missing", "failed", "damaged")
                or (rerun_stale and state == "stale")):
            to_run.append(p)
    history, source = _history(root, scenario.name, set(found.damaged)) if to_run else ({}, "")
    return Plan(scenario=scenario, status=status, to_run=schedule(to_run),
                history=history, history_from=source, damaged=found.damaged)


def _history(root: str, sweep: str, damaged: set[str]
             ) -> tuple[dict[str, tuple[str, str, int, float]], str]:
    """What the points to run are charged from: this sweep's stored points, or, with none,
    the other sweeps' of the same results root (a new grid learns from an old one)."""
    own = stored_walls(root, sweep, damaged)
    if own or "://" in root or not Path(root).is_dir():
        return own, "this sweep"
    other: dict[str, tuple[str, str, int, float]] = {}
    for name in sweeps(root):
        if name != sweep:
            other.update(stored_walls(root, name))
    return other, "other sweeps"


def stored_walls(root: str, sweep: str,
                 damaged: set[str] = frozenset()) -> dict[str, tuple[str, str, int, float]]:
    """param_id -> (policy, mix, CPUs simulated, wall seconds) of this sweep's stored points,
    any simulator version (the median over versions), read from the point files without
    writing anything; {} for a remote root or an empty sweep."""
    if "://" in root:
        return {}
    directory = Path(root) / sweep / "points"
    files = [str(f) for f in sorted(directory.glob("*.parquet")) if f.name not in damaged]
    if not files:
        return {}
    con = duckdb.connect()
    sql = ("SELECT param_id, any_value(policy), any_value(mix), any_value({cpus}), "
           "median(wall_s) FROM read_parquet(?, union_by_name = true) GROUP BY param_id")
    try:
        try:  # points from before topology have no node_cpus: they ran all their CPUs
            rows = con.execute(sql.format(cpus="coalesce(node_cpus, cpus)"), [files]).fetchall()
        except duckdb.BinderException:
            rows = con.execute(sql.format(cpus="cpus"), [files]).fetchall()
    except duckdb.Error:
        return {}
    finally:
        con.close()
    return {pid: (pol, mix, int(cpus), float(wall)) for pid, pol, mix, cpus, wall in rows
            if wall is not None}


def schedule(points: list[Point]) -> list[Point]:
    """The order points are dispatched in, so that an interrupted sweep has answers:
    the points of a pair (same workload, each policy: identity.pair_id) one after another,
    so they finish together; and a coarse pass first: every mix on its smallest and its
    largest machine (first replicate), then the rest of the first replicate, then the
    other replicates, each tier in grid order."""
    groups: dict[str, list[Point]] = {}
    for p in points:
        groups.setdefault(pair_id(p.flat, p.replicate), []).append(p)
    sizes: dict[str, list[tuple[int, int]]] = {}
    for p in points:
        sizes.setdefault(p.spec.mix, []).append((p.spec.cpus, p.spec.mem_bytes))
    ends = {mix: (min(v), max(v)) for mix, v in sizes.items()}

    def tier(group: list[Point]) -> int:
        p = group[0]
        if p.replicate > 0:
            return 2
        return 0 if (p.spec.cpus, p.spec.mem_bytes) in ends[p.spec.mix] else 1

    ordered = sorted(groups.values(), key=tier)  # stable: grid order within a tier
    return [p for group in ordered for p in group]


@dataclass
class RunSummary:
    done: int = 0
    failed: int = 0
    skipped: int = 0
    interrupted: bool = False
    wall_s: float = 0.0
    point_walls: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)  # damaged files moved aside
    claimed: int = 0  # left to another live run that was computing them

    @property
    def median_point_s(self) -> float:
        return statistics.median(self.point_walls) if self.point_walls else 0.0


def run_plan(
    plan: Plan,
    root: str,
    *,
    executor: str = "ray",
    address: str | None = None,
    workers: int | None = None,
    retries: int = 1,
    dashboard: bool = False,
    on_result: Callable[[dict[str, Any], Executor], None] | None = None,
    on_start: Callable[[Executor], None] | None = None,
) -> RunSummary:
    """Run the plan's points; `on_result(status, executor)` after each (for progress)."""
    ensure_local_root(root)
    summary = RunSummary(skipped=len(plan.scenario.points) - len(plan.to_run))
    summary.quarantined = quarantine(root, plan.scenario.name, sorted(plan.damaged))
    write_grid(root, plan.scenario.name, str(plan.scenario.path), [
        {"param_id": p.param_id, "pair_id": pair_id(p.flat, p.replicate),
         "policy": p.spec.policy, "mix": p.spec.mix} for p in plan.scenario.points])
    if not plan.to_run:
        return summary
    started = time.perf_counter()
    ex = make_executor(executor, address=address, workers=workers, dashboard=dashboard)
    if on_start is not None:
        on_start(ex)
    sweep = plan.scenario.name
    run = uuid.uuid4().hex  # this run's claims: Ray's retries of its tasks take them over
    calls = (
        (root, sweep, p.flat, (p.param_id, p.point_id, p.replicate), retries, run)
        for p in plan.to_run
    )
    try:
        for result in ex.imap(calls):
            if result["status"] == "done":
                summary.done += 1
                summary.point_walls.append(result["wall_s"])
            elif result["status"] == "claimed":
                summary.claimed += 1
            else:
                summary.failed += 1
                summary.errors.append(f"{result['point_id']}: {result.get('error', '?')}")
            if on_result is not None:
                on_result(result, ex)
    except KeyboardInterrupt:
        summary.interrupted = True
        ex.cancel()
    finally:
        ex.close()
    if not summary.interrupted:  # queries then read the sweep's index without compacting
        try:
            indexes(root, only=sweep)
        except (KeyboardInterrupt, duckdb.InterruptException):
            summary.interrupted = True  # the index is a cache: the next query rebuilds it
    summary.wall_s = time.perf_counter() - started
    return summary


def status_by_axis(plan: Plan) -> dict[str, dict[Any, Counter]]:
    """For each axis and each of its values: how many points are stored, stale, ..."""
    out: dict[str, dict[Any, Counter]] = {}
    for p in plan.scenario.points:
        state = plan.status[p.point_id]
        for axis, value in p.axes.items():
            out.setdefault(axis, {}).setdefault(value, Counter())[state] += 1
    return out
