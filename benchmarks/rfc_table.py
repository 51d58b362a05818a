"""Upstream against pcp-buddy on the RFC's own machine (32 CPUs, 32 GiB), as Markdown tables.

    python benchmarks/rfc_table.py [--seeds 3] [--choice-seeds 2] [--mixes kbuild,purge,page_fault1]
                                   [--workers 2] [--no-choices] [--cap 30s] [--precision 0.02]

kbuild is the RFC's kernel build (whole-kernel %sys down 3-4% in the cover letter), purge its
"allocate on many CPUs, free on a few" test (throughput up 1%), page_fault1 the will-it-scale
baseline. The first table is the defaults; the second has one row per setting of each open
design choice of the RFC (policies/pcp_buddy/config.py), each against the same upstream runs
(pinning pcp->high changes upstream too, so that row has its own upstream runs).

Windows: every run is a steady-state point (allocator/sim/runlength.py): its warm-up found from
its own series (MSER-5 and pcp->high settling), its window run until each key metric's 95%
half-width is within `--precision` (2%) or `--cap` (30 s) of simulated time. A value is the
mean over seeds, ± the mean of the runs' own half-widths; a change is the mean over seeds of
the paired relative change (same seed, both policies), ± its half-width from both runs'
(delta method, independent errors assumed: common random numbers make it conservative), or
± the t interval over seeds when that is wider. A row whose runs were not all stationary says
so. Reports what the model says, whatever it says.
"""

from __future__ import annotations

import argparse
import math
import statistics
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from allocator import Spec, simulate
from sweep.commands.flags import parse_sets

METRICS = (
    ("kernel_sys_frac", "%sys (whole kernel)", lambda v: f"{100 * v:.2f}%"),
    ("sys_frac", "%sys (allocator)", lambda v: f"{100 * v:.3f}%"),
    ("throughput_ops_per_s", "throughput (ops/s)", lambda v: f"{v:,.0f}"),
    ("zone_lock_acq_per_kop", "zone->lock acquisitions / 1000 ops", lambda v: f"{v:.3f}"),
    ("zone_lock_wait_frac", "zone->lock wait (% of CPU time)", lambda v: f"{100 * v:.4f}%"),
    ("pcp_high_mean", "pcp->high (mean, pages)", lambda v: f"{v:,.0f}"),
    ("pcp_drain_per_kop", "pages drained / 1000 ops", lambda v: f"{v:.1f}"),
    ("remote_free_per_kop", "remote frees / 1000 ops", lambda v: f"{v:.1f}"),
)
# counts over a window are turned into rates: auto windows differ in length
PER_KOP = {"pcp_drain_per_kop": "pcp_drain_pages", "remote_free_per_kop": "remote_frees"}
CHOICE_METRICS = ("kernel_sys_frac", "sys_frac", "throughput_ops_per_s", "zone_lock_acq_per_kop")

# (label, pcp-buddy knobs, knobs for both policies)
CHOICES = (
    ("high_growth=1 (by pages obtained)", {"high_growth": 1}, {}),
    ("merge_scope=1 (until the drain target)", {"merge_scope": 1}, {}),
    ("merge_scope=2 (whole blocks only)", {"merge_scope": 2}, {}),
    ("pcp->high pinned for both (percpu_pagelist_high_fraction=8)", {},
     {"percpu_pagelist_high_fraction": 8}),
    ("block_fit=1 (512 <= high_max)", {"block_fit": 1}, {}),
    ("remote_free_trylock=1", {"remote_free_trylock": 1}, {}),
    ("merge_mode=1 (eager merging)", {"merge_mode": 1}, {}),
    ("owned_list_per_mt=1", {"owned_list_per_mt": 1}, {}),
    ("drain_all_disowns=0", {"drain_all_disowns": 0}, {}),
    ("phase2=0", {"phase2": 0}, {}),
)


def run(args: tuple) -> dict:
    mix, policy, seed, knobs, cap, precision, cpus, mem, extra = args
    flat = {"cpus": cpus, "mem": mem, "mix": mix, "policy": policy, "seed": seed,
            "duration": "auto", "warmup": "auto", "duration_cap": cap, "precision": precision,
            **dict(extra), **{f"knob.{k}": v for k, v in knobs}}
    r = simulate(Spec.from_flat(flat))
    rec = {**r, **{k: 1000 * r[c] / max(1, r["ops"]) for k, c in PER_KOP.items()}}
    out = {k: float(rec[k]) for k, _, _ in METRICS}
    out.update({f"{k}_ci95": float(r[f"{k}_ci95"]) for k in HALF_WIDTHS})
    out.update({k: r[k] for k in ("stationary", "stop_reason", "warmup_ns", "window_ns")})
    return out


HALF_WIDTHS = ("kernel_sys_frac", "sys_frac", "throughput_ops_per_s", "zone_lock_wait_frac",
               "pcp_high_mean")


def paired_change(up: list[dict], rfc: list[dict], key: str) -> tuple[float, float]:
    """Mean over seeds of rfc/up - 1 on the same seed, and its 95% half-width: from the runs'
    own half-widths (delta method), or the t interval over seeds if that is wider."""
    pairs = [(a, b) for a, b in zip(up, rfc, strict=True) if a[key]]
    if not pairs:
        return math.nan, math.nan
    rel = [b[key] / a[key] - 1 for a, b in pairs]
    mean = statistics.fmean(rel)
    half = math.nan
    if f"{key}_ci95" in pairs[0][0]:
        var = sum((b[key] / a[key]) ** 2 * ((a[f"{key}_ci95"] / a[key]) ** 2
                                            + (b[f"{key}_ci95"] / b[key]) ** 2)
                  for a, b in pairs)
        half = math.sqrt(var) / len(pairs)
    if len(rel) >= 2:
        t975 = {2: 12.706, 3: 4.303, 4: 3.182, 5: 2.776}.get(len(rel), 2.5)
        spread = t975 * statistics.stdev(rel) / math.sqrt(len(rel))
        half = spread if math.isnan(half) else max(half, spread)
    return mean, half


def fmt_value(runs: list[dict], key: str, fmt: Any) -> str:
    mean = statistics.fmean(r[key] for r in runs)
    if f"{key}_ci95" not in runs[0]:
        return fmt(mean)
    half = statistics.fmean(r[f"{key}_ci95"] for r in runs)
    return f"{fmt(mean)} ± {fmt(half).rstrip('%')}" if math.isfinite(half) else fmt(mean)


def steady(runs: list[dict]) -> str:
    n = sum(bool(r["stationary"]) for r in runs)
    return "all" if n == len(runs) else f"{n} of {len(runs)}"


def fmt_change(c: tuple[float, float]) -> str:
    mean, half = c
    if math.isnan(mean):
        return "n/a"
    if math.isnan(half) or math.isinf(half):  # inf: a run's batch means stayed correlated
        return f"{100 * mean:+.1f}%" + (" ± n/a" if math.isinf(half) else "")
    return f"{100 * mean:+.1f}% ± {100 * half:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--choice-seeds", type=int, default=2)
    parser.add_argument("--mixes", default="kbuild,purge,page_fault1")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-choices", action="store_true")
    parser.add_argument("--cap", default="30s")
    parser.add_argument("--precision", type=float, default=0.02)
    parser.add_argument("--cpus", type=int, default=32, help="the RFC's machine: 32")
    parser.add_argument("--mem", default="32GiB", help="the RFC's machine: 32GiB")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                        help="a spec key for every run of both policies, e.g. "
                        "cost.zone_lock_handoff_ns=480 (repeatable)")
    args = parser.parse_args()
    extra = list(parse_sets(args.sets).items())
    run_args = (args.cap, args.precision, args.cpus, args.mem, tuple(extra))
    mixes = args.mixes.split(",")
    jobs: dict[tuple, tuple] = {}
    for mix in mixes:
        for seed in range(1, args.seeds + 1):
            for policy in ("upstream", "pcp-buddy"):
                jobs[("default", mix, policy, seed)] = (mix, policy, seed, (), *run_args)
        if args.no_choices:
            continue
        for label, rfc_knobs, both in CHOICES:
            for seed in range(1, args.choice_seeds + 1):
                knobs = tuple(sorted({**rfc_knobs, **both}.items()))
                jobs[(label, mix, "pcp-buddy", seed)] = (mix, "pcp-buddy", seed, knobs,
                                                         *run_args)
                if both:
                    jobs[(label, mix, "upstream", seed)] = (
                        mix, "upstream", seed, tuple(sorted(both.items())), *run_args)
    with ProcessPoolExecutor(args.workers) as pool:
        results = dict(zip(jobs, pool.map(run, jobs.values()), strict=True))

    sets = "".join(f"; {k} = {v}" for k, v in extra)
    print(f"{args.cpus} CPUs, {args.mem}{sets}; steady-state points (warm-up and window found "
          f"per run, precision {args.precision:g}, cap {args.cap}); mean of {args.seeds} seeds; "
          f"values ± the runs' 95% half-widths, change paired\n")
    print("| mix | metric | upstream | pcp-buddy | change | stationary runs |")
    print("|---|---|---:|---:|---:|---|")
    for mix in mixes:
        up = [results[("default", mix, "upstream", s)] for s in range(1, args.seeds + 1)]
        rfc = [results[("default", mix, "pcp-buddy", s)] for s in range(1, args.seeds + 1)]
        for key, label, fmt in METRICS:
            print(f"| {mix} | {label} | {fmt_value(up, key, fmt)} | {fmt_value(rfc, key, fmt)} "
                  f"| {fmt_change(paired_change(up, rfc, key))} | {steady(up + rfc)} |")
        runs = up + rfc
        print(f"| {mix} | warm-up, window (s, median) | "
              f"{statistics.median(r['warmup_ns'] for r in up) / 1e9:.2f}, "
              f"{statistics.median(r['window_ns'] for r in up) / 1e9:.2f} | "
              f"{statistics.median(r['warmup_ns'] for r in rfc) / 1e9:.2f}, "
              f"{statistics.median(r['window_ns'] for r in rfc) / 1e9:.2f} | | "
              f"stopped: {', '.join(sorted(str(r['stop_reason']) for r in runs))} |")
    if args.no_choices:
        return
    print(f"\nOpen design choices: pcp-buddy's change against upstream with one knob set, "
          f"{args.choice_seeds} seeds (the defaults row from the same seeds)\n")
    names = [label for k, label, _ in METRICS if k in CHOICE_METRICS]
    print("| mix | setting | " + " | ".join(names) + " |")
    print("|---|---|" + "---:|" * len(names))
    seeds = range(1, args.choice_seeds + 1)
    for mix in mixes:
        base_up = [results[("default", mix, "upstream", s)] for s in seeds]
        rows = [("defaults", base_up, [results[("default", mix, "pcp-buddy", s)] for s in seeds])]
        for label, _, both in CHOICES:
            up = [results[(label, mix, "upstream", s)] for s in seeds] if both else base_up
            rows.append((label, up, [results[(label, mix, "pcp-buddy", s)] for s in seeds]))
        for label, up, rfc in rows:
            cells = [fmt_change(paired_change(up, rfc, k)) for k in CHOICE_METRICS]
            print(f"| {mix} | {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
