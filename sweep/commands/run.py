"""`sweep run` and `sweep status`: plan a scenario against the store, run it, show progress."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from allocator.params.errors import SpecError
from allocator.params.units import format_size

from ..identity import pair_id
from ..runner import Plan, RunSummary, make_plan, run_plan, status_by_axis
from ..scenario import MAX_POINTS, load_scenario
from . import compile as compile_cmd


def plan_scenario(path: str, root: str, force: bool = False, rerun_stale: bool = False,
                  max_points: int = MAX_POINTS, also: tuple[str, ...] = ()) -> Plan:
    check_results_root(root)
    return make_plan(load_scenario(path, max_points), root, force=force,
                     rerun_stale=rerun_stale, also=also)


def check_results_root(root: str) -> None:
    """A local results root is a directory, or does not exist yet (`sweep run` makes it)."""
    if "://" not in root and os.path.exists(root) and not os.path.isdir(root):
        raise SpecError(f"--results {root}: not a directory (a results directory holds one "
                        "folder per sweep)")


def plan_table(plan: Plan, workers: int) -> Table:
    c = plan.counts()
    table = Table(title=f"{plan.scenario.name}: {plan.scenario.path}", show_header=False)
    table.add_column("what")
    table.add_column("points", justify="right")
    table.add_row("in the grid", str(len(plan.scenario.points)))
    for state in ("stored", "running", "stale", "failed", "damaged", "missing"):
        table.add_row(f"  {state}", str(c.get(state, 0)))
    table.add_row("to run", str(len(plan.to_run)))
    pairs = compile_cmd.pairs_of(p.flat for p in plan.to_run)
    todo = compile_cmd.uncached(pairs)
    compile_s = compile_cmd.estimate_s(todo, workers)
    table.add_row("(policy, mix) pairs to compile", f"{len(todo)} of {len(pairs)}")
    est = plan.estimate_s(workers) + compile_s
    auto = any(p.spec.auto_duration for p in plan.to_run)
    # an auto point stops when precise enough: its cap bounds the prior, not the time
    if plan.history:
        of = "" if plan.history_from == "this sweep" else f" of {plan.history_from}"
        label = f"time learnt from {len(plan.history)} stored point(s){of},"
    elif auto:
        label = "rough time, every auto point at its cap,"
    else:
        label = "rough time"
    table.add_row(f"{label} on {workers} worker(s)", f"{est / 60:.1f} min")
    if compile_s:
        table.add_row("  of which compiling", f"{compile_s / 60:.1f} min")
    return table


def compile_for_plan(plan: Plan, console: Console, workers: int, *, in_process: bool) -> None:
    """Compile the plan's pairs not cached yet before any point runs, one line per pair."""
    pairs = compile_cmd.pairs_of(p.flat for p in plan.to_run)
    compile_cmd.compile_printing(pairs, workers, console, in_process=in_process)


def compile_and_run(plan: Plan, root: str, console: Console, *, executor: str = "ray",
                    address: str | None = None, workers: int | None = None,
                    **options: Any) -> RunSummary:
    """`sweep run` and `sweep nightly`: compile what the plan needs (locally; on a cluster
    each node compiles on first use), then run it with a progress bar."""
    if address or os.environ.get("RAY_ADDRESS"):
        console.print("on a cluster each node compiles its pairs on first use (or run `sweep "
                      "compile SCENARIO` in cluster.yaml's setup_commands)", markup=False)
    else:
        local = workers or (1 if executor == "serial" else os.cpu_count() or 1)
        compile_for_plan(plan, console, local, in_process=executor == "serial")
    return run_with_progress(plan, root, console, executor=executor, address=address,
                             workers=workers, **options)


_DURATIONS = ("duration", "warmup", "sample_interval", "duration_cap")


def axis_value(axis: str, value: Any) -> str:
    """An axis value in the units a user writes it in: sizes as 8GiB, durations as 50ms."""
    if isinstance(value, bool) or not isinstance(value, int):
        return str(value)
    if axis == "mem" or axis.endswith("_bytes"):
        return format_size(value)
    if axis in _DURATIONS:
        for unit, ns in (("s", 10**9), ("ms", 10**6), ("us", 10**3)):
            if value >= ns and value % (ns // 1000 or 1) == 0:
                return f"{value / ns:g}{unit}"
        return f"{value}ns"
    return str(value)


def status_table(plan: Plan) -> Table:
    table = Table(title=f"{plan.scenario.name}: status per axis value")
    for col in ("axis", "value", "stored", "running", "stale", "failed", "damaged", "missing"):
        table.add_column(col, justify="right" if col not in ("axis", "value") else "left")
    for axis, values in status_by_axis(plan).items():
        for value, counts in values.items():
            table.add_row(axis, axis_value(axis, value), *(str(counts.get(s, 0)) for s in
                                              ("stored", "running", "stale", "failed",
                                               "damaged", "missing")))
    return table


def run_with_progress(
    plan: Plan, root: str, console: Console, **options: Any
) -> RunSummary:
    """Run the plan with a progress bar: done / failed / running, rate and ETA."""
    counts = {"done": 0, "failed": 0}
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("pairs {task.fields[pairs]}"),
        TextColumn("failed {task.fields[failed]} running {task.fields[running]}"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA {task.fields[eta]}"),
        console=console,
        transient=False,
    )
    pair_of = {p.point_id: pair_id(p.flat, p.replicate) for p in plan.to_run}
    pair_left = Counter(pair_of.values())
    paired = {k for k, n in pair_left.items() if n > 1}  # pairs whose points all run here
    n_pairs = len(paired)
    eta = plan.eta(options.get("workers") or 1)

    def pairs_done() -> str:
        return f"{sum(1 for k in paired if pair_left[k] == 0)}/{n_pairs}"

    task = progress.add_task(plan.scenario.name, total=len(plan.to_run), failed=0, running=0,
                             rate="", pairs=pairs_done(), eta="-")

    def on_start(ex: Any) -> None:
        nonlocal eta
        eta = plan.eta(ex.workers)
        progress.update(task, running=ex.workers, eta=_clock(eta.remaining_s()))

    def on_result(result: dict[str, Any], ex: Any) -> None:
        if result["status"] != "claimed":
            counts["done" if result["status"] == "done" else "failed"] += 1
        elapsed = progress.tasks[0].elapsed or 1e-9
        finished = counts["done"] + counts["failed"]
        eta.done(result["point_id"], result.get("wall_s"))
        key = pair_of.get(result["point_id"])
        if key is not None and result["status"] == "done":
            pair_left[key] -= 1
        progress.update(task, advance=1, failed=counts["failed"], running=ex.running,
                        rate=f"{60 * finished / elapsed:.1f} pts/min", pairs=pairs_done(),
                        eta=_clock(eta.remaining_s()))

    with progress:
        return run_plan(plan, root, on_result=on_result, on_start=on_start, **options)


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def print_summary(summary: RunSummary, plan: Any, results: str, out: Any, err: Any) -> None:
    """What `sweep run` prints when the points are done: files moved aside, the summary
    table, the first failures."""
    if summary.quarantined:
        err.print(f"damaged: moved {len(summary.quarantined)} file(s) aside to "
                  f"{results}/{plan.scenario.name}/damaged/ and ran their points again "
                  f"({', '.join(summary.quarantined[:3])}"
                  f"{', ...' if len(summary.quarantined) > 3 else ''})", markup=False,
                  soft_wrap=True)
    out.print(summary_table(summary))
    for line in summary.errors[:10]:
        err.print(f"failed: {line}", markup=False, highlight=False)


def summary_table(summary: RunSummary) -> Table:
    table = Table(title="run summary", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("done", str(summary.done))
    table.add_row("failed", str(summary.failed))
    table.add_row("already stored (skipped)", str(summary.skipped))
    if summary.claimed:
        table.add_row("left to another live run", str(summary.claimed))
    table.add_row("wall time", f"{summary.wall_s:.1f} s")
    table.add_row("median point", f"{summary.median_point_s:.2f} s")
    if summary.interrupted:
        table.add_row("interrupted", "yes: a rerun does exactly the missing points")
    return table
