"""`sweep simulate`: one point from flags; metrics to the terminal or as JSON."""

from __future__ import annotations

import csv
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from rich.table import Table

from allocator import SimResult, Spec
from allocator.errors import SpecError
from allocator.simulate import simulate

from .flags import machine_flat, parse_sets

_TOP_KEYS = ("cpus", "mem", "mix", "policy", "seed", "duration", "warmup", "sample_interval",
             "duration_cap", "precision", "nodes")  # the keys that are options


def build_spec(
    *,
    cpus: int | None,
    mem: str | None,
    mix: str,
    policy: str,
    seed: int,
    duration: str,
    warmup: str = "0",
    sample_interval: str = "1ms",
    duration_cap: str | None = None,
    precision: float | None = None,
    sets: list[str] | None = None,
    nodes: int | None = None,
    zoneinfo: str | None = None,
) -> Spec:
    """The point of the command line (the machine's shape: flags.machine_flat)."""
    flat: dict[str, Any] = {
        "mix": mix,
        "policy": policy,
        "seed": seed,
        "duration": duration,
        "warmup": warmup,
        "sample_interval": sample_interval,
    }
    flat.update(machine_flat(cpus, mem, nodes, zoneinfo))
    if duration_cap is not None:
        flat["duration_cap"] = duration_cap
    if precision is not None:
        flat["precision"] = precision
    extra = parse_sets(sets or [])
    for key in extra:
        if key in _TOP_KEYS:
            raise SpecError(f"--set {key}=...: use the --{key.replace('_', '-')} option instead")
    flat.update(extra)
    return Spec.from_flat(flat)


def run_point(spec: Spec, check_every_ns: int = 0, trace_events: int = 0) -> SimResult:
    return simulate(spec, check_every_ns=check_every_ns, trace_events=trace_events)


def _finite(v: Any) -> Any:
    return None if isinstance(v, float) and not math.isfinite(v) else v


def metrics_json(result: SimResult, samples: bool = False) -> str:
    """One JSON object; non-finite floats become null so any JSON reader accepts it. With
    `samples`, the time series too, under "samples": one list per column, from the warm-up on
    (the rows the record's window covers)."""
    clean: dict[str, Any] = {k: _finite(v) for k, v in result.items()}
    if samples:
        clean["samples"] = {k: [_finite(x) for x in np.asarray(v).tolist()]
                            for k, v in result.samples.items()}
    return json.dumps(clean, sort_keys=True)


def write_samples_csv(result: SimResult, path: Path) -> None:
    """The time series as CSV, written to a temporary file and renamed into place."""
    columns = list(result.samples)
    rows = zip(*(result.samples[c].tolist() for c in columns), strict=True)
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or Path("."))
    try:
        with os.fdopen(fd, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            writer.writerows(rows)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# metric groups for the terminal view (anything not listed goes under "other")
GROUPS: dict[str, tuple[str, ...]] = {
    "steady state": ("stationary", "steady_note", "stop_reason", "warmup_ns", "window_ns",
                     "precision_met", "sys_frac_ci95", "throughput_ops_per_s_ci95"),
    "run": ("ops", "sim_time_ns", "throughput_ops_per_s", "sys_frac", "kernel_sys_frac",
            "alloc_ops", "free_ops"),
    "zone->lock": (
        "zone_lock_acquisitions",
        "zone_lock_acq_per_kop",
        "zone_lock_contended",
        "zone_lock_hold_ns",
        "zone_lock_wait_ns",
        "zone_lock_pages",
    ),
    "pcp": (
        "pcp_alloc_hit_frac",
        "pcp_refills",
        "pcp_drains",
        "pcp_pages_peak",
        "pcp_pages_mean",
        "pcp_high_mean_end",
        "pcp_lock_wait_ns",
        "pcp_lock_remote_acquisitions",
        "remote_frees",
    ),
    "latency": (
        "alloc_latency_p50_ns",
        "alloc_latency_p99_ns",
        "alloc_latency_max_ns",
        "free_latency_p50_ns",
        "free_latency_p99_ns",
        "free_latency_max_ns",
    ),
    "fragmentation": (
        "free_pageblocks",
        "nr_free_pages",
        "unusable_index_order9",
        "extfrag_claims",
        "extfrag_steals",
        "extfrag_fragmenting",
        "thp_alloc_success_frac",
    ),
    "buddyinfo at the end": tuple(f"nr_free_order{o}" for o in range(11)),
    "reclaim": (
        "alloc_failures",
        "kswapd_wakeups",
        "pgsteal_kswapd",
        "pgsteal_direct",
        "allocstall",
        "direct_reclaim_ns",
        "drain_all_pages",
    ),
}


def fmt(value: Any) -> str:
    """A value as the terminal shows it: yes/no, 4 significant digits, thousands marked."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def metrics_table(title: str, metrics: dict[str, Any]) -> Table:
    """The record grouped as GROUPS says; anything not listed under "other"."""
    table = Table(title=title, show_header=False, box=None, pad_edge=False)
    table.add_column("metric", style="cyan")
    table.add_column("value", justify="right")
    shown: set[str] = set()
    for group, names in GROUPS.items():
        table.add_row(f"[bold]{group}[/bold]", "")
        for name in names:
            if name in metrics:
                table.add_row(f"  {name}", fmt(metrics[name]))
                shown.add(name)
    rest = [k for k in metrics if k not in shown]
    if rest:
        table.add_row("[bold]other[/bold]", "")
        for name in rest:
            table.add_row(f"  {name}", fmt(metrics[name]))
    return table
