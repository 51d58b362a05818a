"""Run-length control: which part of a run is measured, how precisely, and when to stop.

A run is observed at segment boundaries (every SEGMENT_NS of simulated time from its start or
its fixed warm-up): the mean pcp->high of each CPU class (Mix.cpu_classes), and, when the
warm-up is to be found, the counters there (metrics.Counters), so that the measured window can
start at any boundary after the run. The key metrics' series come from the engine's samples
(sample_interval apart): per-interval rates of the cumulative counters, and the gauges.

`assess` applies steady.py to what has been observed:
- warm-up: with `warmup = "auto"`, the latest of MSER-5 over each key metric and the pcp->high
  convergence point, rounded up to a boundary; with a fixed warm-up, the same rules asked
  whether the window still holds a transient (one longer than WINDOW_SLACK of it);
- precision: batch means per key metric over the window; `met` when every 95% half-width is
  within `precision` of its mean, or within the metric's absolute floor (FLOORS);
- stationary: both rules found an end to the transient, and every metric's batch means passed
  the independence test. A metric whose mean is itself below its floor (a zone->lock that
  hardly spins) is exempt from both tests: it is known to within the floor already.
With `duration = "auto"` the run stops at the first boundary (after MIN_AUTO_NS) where it is
stationary and `met` (stop_reason "precision"), else at its cap ("cap"); a fixed duration
stops where it was told ("fixed").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from allocator.core import catalogue
from allocator.core.consts import PAGEBLOCK_NR_PAGES
from allocator.core.layout import (
    S_NR_FREE_PAGES,
    S_OPS,
    S_PCP_HIGH_MEAN,
    S_PCP_PAGES,
    S_SYS_NS,
    S_T_NS,
    S_ZONE_LOCK_WAIT_NS,
)
from allocator.sim.steady import BatchMeans, batch_means, high_converged, mser

SEGMENT_NS = 50_000_000  # observation stride; the measured window starts on one of these
WINDOW_SLACK = 0.10  # a fixed window may begin with this share of transient and still count
DEFAULT_PRECISION = 0.02
DEFAULT_CAP_NS = 10_000_000_000
KEY_METRICS = catalogue.KEY_METRICS  # each with its reason, in the catalogue
STOP_REASONS = ("precision", "cap", "fixed")


def floors(ncpu: int, batch: int, precision: float, sys_frac: float) -> dict[str, float]:
    """Absolute half-widths small enough whatever the mean, for metrics near zero or below
    their own granularity: 1e-5 of CPU time for %sys (0.001 percentage point); the zone->lock
    spin is a part of %sys and is asked for `precision` of %sys (its storms are rare and long:
    a relative target on the spin alone would run every point to its cap); pages in PCPs move
    a pcp->batch at each refill or drain, so one batch per CPU; one page of pcp->high; free
    memory to one pageblock."""
    return {
        "sys_frac": 1e-5,
        "throughput_ops_per_s": 0.0,
        "zone_lock_wait_frac": max(1e-5, precision * abs(sys_frac)),
        "pcp_pages_mean": float(ncpu * batch),
        "pcp_high_mean": 1.0,
        "nr_free_pages_mean": float(PAGEBLOCK_NR_PAGES),
    }


def key_series(samples: np.ndarray, ncpu: int) -> dict[str, np.ndarray]:
    """Per sample interval (ending at each sample after the first): the rates of the
    cumulative counters and the gauges at the interval's end."""
    t = samples[:, S_T_NS].astype(float)
    dt = np.diff(t)
    dt[dt <= 0] = np.nan

    def rate(col: int) -> np.ndarray:
        return np.diff(samples[:, col].astype(float)) / dt

    return {
        "sys_frac": rate(S_SYS_NS) / ncpu,
        "throughput_ops_per_s": rate(S_OPS) * 1e9,
        "zone_lock_wait_frac": rate(S_ZONE_LOCK_WAIT_NS) / ncpu,
        "pcp_pages_mean": samples[1:, S_PCP_PAGES].astype(float),
        "pcp_high_mean": samples[1:, S_PCP_HIGH_MEAN].astype(float),
        "nr_free_pages_mean": samples[1:, S_NR_FREE_PAGES].astype(float),
    }


@dataclass(frozen=True)
class Assessment:
    warmup_ns: int  # where the measured window starts
    found: bool  # the transient's end was found (or, fixed: none is left in the window)
    stationary: bool  # found, and the batch means passed the independence test
    met: bool  # every half-width within its target
    ci: dict[str, BatchMeans]
    warmup_by: dict[str, int]  # each rule's own truncation point (ns; -1: not found)
    why: str = ""  # what kept it from being stationary, or from meeting the precision


def assess(
    samples: np.ndarray,
    ncpu: int,
    obs_t: np.ndarray,
    obs_high: np.ndarray,
    *,
    interval_ns: int,
    start_ns: int,
    auto_warmup: bool,
    precision: float,
    batch: int = 1,
) -> Assessment:
    """See the module docstring. `samples` are the engine's rows since `start_ns` (the fixed
    warm-up, or 0); `obs_t`/`obs_high` the boundaries and per-class mean pcp->high there;
    `batch` the zone's pcp->batch."""
    t = samples[:, S_T_NS]
    series = key_series(samples, ncpu)
    by: dict[str, int] = {}
    for name, x in series.items():
        d = mser(x)
        by[name] = -1 if d is None else int(t[d])
    conv = high_converged(obs_t, obs_high, interval_ns)
    by["pcp_high_converged"] = -1 if conv is None else conv
    found = all(v >= 0 for v in by.values())
    if auto_warmup:
        if found:
            latest = max(by.values())
            warmup = start_ns + math.ceil((latest - start_ns) / SEGMENT_NS) * SEGMENT_NS
        else:  # no end in sight: measure the second half, and say it is not stationary
            mid = (int(t[-1]) + start_ns) // 2
            warmup = start_ns + math.ceil((mid - start_ns) / SEGMENT_NS) * SEGMENT_NS
    else:
        warmup = start_ns
        if found:
            slack = WINDOW_SLACK * (int(t[-1]) - start_ns)
            found = all(v - start_ns <= slack for k, v in by.items() if k in series) and (
                conv - start_ns <= slack
            )
    keep = t[1:] > warmup  # intervals that end after the window starts
    ci = {name: batch_means(x[keep]) for name, x in series.items()}
    fl = floors(ncpu, batch, precision, ci["sys_frac"].mean)
    # a metric whose whole mean is below its floor is known well enough: exempt from both
    negligible = {name for name, b in ci.items() if abs(b.mean) <= fl[name]}
    independent = all(b.independent for name, b in ci.items() if name not in negligible)
    short = [
        name
        for name, b in ci.items()
        if name not in negligible and not b.half_width <= max(precision * abs(b.mean), fl[name])
    ]
    why = []
    if not found:
        rules = [k for k, v in by.items() if v < 0]
        why.append(
            "no end of the warm-up found by " + ", ".join(rules)
            if rules
            else f"a transient left in the window (more than {WINDOW_SLACK:.0%} of it)"
        )
    correlated = [name for name, b in ci.items() if not b.independent and name not in negligible]
    if correlated:
        why.append("batch means correlated: " + ", ".join(correlated))
    if short and not correlated:
        why.append("half-width above target: " + ", ".join(short))
    return Assessment(int(warmup), found, found and independent, not short, ci, by, "; ".join(why))


def class_high(high: np.ndarray, classes: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Mean pcp->high of each CPU class."""
    return np.bincount(classes, weights=high, minlength=len(counts)) / np.maximum(counts, 1)
