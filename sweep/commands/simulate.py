"""`sweep simulate`: one point from flags; metrics to the terminal or as JSON."""

from __future__ import annotations

import csv
import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.table import Table

from allocator import SimResult, Spec, is_compiled
from allocator.core import catalogue
from allocator.params.errors import SpecError
from allocator.sim.simulate import simulate

from ..trace.pattern import mix_inputs
from .flags import load_zoneinfo, machine_flat, parse_sets

_TOP_KEYS = ("cpus", "mem", "mix", "policy", "seed", "duration", "warmup", "sample_interval",
             "duration_cap", "precision", "nodes", "kernel", "revert")  # the keys that are options


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
    kernel: str | None = None,
    reverts: list[str] | None = None,
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
    zi = load_zoneinfo(zoneinfo) if zoneinfo is not None else None
    flat.update(machine_flat(cpus, mem, nodes, zi))
    if duration_cap is not None:
        flat["duration_cap"] = duration_cap
    if precision is not None:
        flat["precision"] = precision
    if kernel is not None:
        flat["kernel"] = kernel
    if reverts:
        flat["revert"] = list(reverts)
    extra = parse_sets(sets or [])
    for key in extra:
        if key in _TOP_KEYS:
            raise SpecError(f"--set {key}=...: use the --{key.replace('_', '-')} option instead")
    flat.update(extra)
    return Spec.from_flat(flat)


def run_point(spec: Spec, check_every_ns: int = 0, trace_events: int = 0) -> SimResult:
    return simulate(spec, check_every_ns=check_every_ns, trace_events=trace_events,
                    inputs=mix_inputs(spec))


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


# metric groups for the terminal view, as the catalogue says (a policy's own under "other")
GROUPS: dict[str, tuple[str, ...]] = catalogue.groups()


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


@dataclass(frozen=True)
class Outputs:
    """What `sweep simulate` was asked to print or write besides the table."""

    json: bool = False
    samples_json: bool = False
    samples_csv: Path | None = None
    emit_trace: Path | None = None
    trace_events: int = 1_000_000
    procfs: list[str] = field(default_factory=list)  # --buddyinfo, --pagetypeinfo, --vmstat
    check_every_ns: int = 0


def check_outputs(o: Outputs) -> None:
    """The combinations refused, before anything runs."""
    if o.procfs and o.json:
        raise SpecError(f"{o.procfs[0]} prints /proc text; it does not combine with --json")
    if o.samples_json and not o.json:
        raise SpecError("--samples-json adds the time series to --json; give --json too")
    if o.samples_csv is not None and not o.samples_csv.parent.is_dir():
        raise SpecError(f"--samples-csv: directory {o.samples_csv.parent} does not exist")
    if o.emit_trace is not None and not o.emit_trace.parent.is_dir():
        raise SpecError(f"--emit-trace: directory {o.emit_trace.parent} does not exist")


def execute(spec: Spec, o: Outputs, mem_label: str, out: Any, err: Any) -> None:
    """Run the point and print or write what `o` asks; `out` and `err` are rich consoles."""
    events = o.trace_events if o.emit_trace is not None else 0
    if not is_compiled(spec):
        err.print(f"compiling {spec.policy}/{spec.mix}" + ("" if o.json else (
            ": once per machine and simulator version, 15-20 s (a minute or more the very "
            "first time)")), markup=False)
    if o.json:
        result = run_point(spec, o.check_every_ns, events)
    else:
        with err.status("simulating..."):
            result = run_point(spec, o.check_every_ns, events)
    if o.samples_csv is not None:
        write_samples_csv(result, o.samples_csv)
    if o.emit_trace is not None:
        from ..trace.emit import write_trace

        write_trace(o.emit_trace, result.trace, int(result["node_cpus"]))
        if result.trace_lost:
            err.print(f"--emit-trace: {result.trace_lost} events beyond --trace-events "
                      f"{o.trace_events} were not written", markup=False)
    if o.json:
        print(metrics_json(result, samples=o.samples_json))
    elif o.procfs:
        from . import procfs as procfs_cmd

        text = {"--buddyinfo": lambda: procfs_cmd.buddyinfo(result),
                "--pagetypeinfo": lambda: procfs_cmd.pagetypeinfo(result.end_state),
                "--vmstat": lambda: procfs_cmd.vmstat(result)}
        print("\n".join(text[name]() for name in o.procfs), end="")
    else:
        shape = f"{spec.cpus} CPUs / {mem_label}"
        if spec.nodes > 1:
            shape += f" / {spec.nodes} nodes (one simulated)"
        kernel = spec.kernel + "".join(f" -{c}" for c in spec.reverts)
        out.print(metrics_table(
            f"{spec.policy} / {spec.mix} / {shape} / {kernel} / seed {spec.seed}", dict(result)))
        if not result["stationary"]:
            hint = "" if spec.auto_duration and spec.auto_warmup else (
                "; --duration auto --warmup auto finds a steady state")
            err.print(f"not a steady-state result: {result['steady_note']}{hint}", markup=False)
