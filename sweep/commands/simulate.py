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

from allocator import SimResult, Spec
from allocator.errors import SpecError
from allocator.simulate import simulate

from .flags import parse_sets

_TOP_KEYS = ("cpus", "mem", "mix", "policy", "seed", "duration", "warmup", "sample_interval",
             "duration_cap", "precision")


def build_spec(
    *,
    cpus: int,
    mem: str,
    mix: str,
    policy: str,
    seed: int,
    duration: str,
    warmup: str = "0",
    sample_interval: str = "1ms",
    duration_cap: str | None = None,
    precision: float | None = None,
    sets: list[str] | None = None,
) -> Spec:
    flat: dict[str, Any] = {
        "cpus": cpus,
        "mem": mem,
        "mix": mix,
        "policy": policy,
        "seed": seed,
        "duration": duration,
        "warmup": warmup,
        "sample_interval": sample_interval,
    }
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
