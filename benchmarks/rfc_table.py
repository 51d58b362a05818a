"""Upstream against pcp-buddy on the RFC's own machine (32 CPUs, 32 GiB), as Markdown tables.

    python benchmarks/rfc_table.py [--seeds 3] [--choice-seeds 2] [--mixes kbuild,purge,page_fault1]
                                   [--workers 2] [--no-choices]

kbuild is the RFC's kernel build (whole-kernel %sys down 3-4% in the cover letter), purge its
"allocate on many CPUs, free on a few" test (throughput up 1%), page_fault1 the will-it-scale
baseline. The first table is the defaults; the second has one row per setting of each open
design choice of the RFC (policies/pcp_buddy/config.py), each against the same upstream runs
(pinning pcp->high changes upstream too, so that row has its own upstream runs).

Windows: each mix is measured after a warm-up past the convergence of upstream's pcp->high
(about 1.5 s on kbuild, 200 ms on page_fault1, 1 s on purge, measured in issue 12) and the
first decay_pcp_high() (0.6-1 s); the warm-up is fixed here, not detected. Each change is the
mean over seeds of the paired relative change (same seed, both policies), with a Student's t
95% interval over the seeds. Reports what the model says, whatever it says.
"""

from __future__ import annotations

import argparse
import math
import statistics
from concurrent.futures import ProcessPoolExecutor

from allocator import Spec, simulate

# (warm-up, measured window) in ns per mix
WINDOWS = {
    "kbuild": (2_000_000_000, 2_000_000_000),
    "purge": (1_500_000_000, 1_500_000_000),
    "page_fault1": (400_000_000, 400_000_000),
}

METRICS = (
    ("kernel_sys_frac", "%sys (whole kernel)", lambda v: f"{100 * v:.2f}%"),
    ("sys_frac", "%sys (allocator)", lambda v: f"{100 * v:.3f}%"),
    ("throughput_ops_per_s", "throughput (ops/s)", lambda v: f"{v:,.0f}"),
    ("zone_lock_acq_per_kop", "zone->lock acquisitions / 1000 ops", lambda v: f"{v:.3f}"),
    ("zone_lock_wait_ns", "zone->lock wait (ns, all CPUs)", lambda v: f"{v:,.0f}"),
    ("pcp_high_mean", "pcp->high (mean, pages)", lambda v: f"{v:,.0f}"),
    ("pcp_drain_pages", "pages drained", lambda v: f"{v:,.0f}"),
    ("remote_frees", "remote frees", lambda v: f"{v:,.0f}"),
)
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


def run(args: tuple[str, str, int, tuple[tuple[str, int], ...]]) -> dict[str, float]:
    mix, policy, seed, knobs = args
    warmup, window = WINDOWS[mix]
    r = simulate(Spec(cpus=32, mem_bytes=32 << 30, mix=mix, policy=policy, seed=seed,
                      duration_ns=warmup + window, warmup_ns=warmup, knobs=dict(knobs)))
    return {k: float(r[k]) for k, _, _ in METRICS}


def paired_change(up: list[dict], rfc: list[dict], key: str) -> tuple[float, float]:
    """Mean over seeds of rfc/up - 1 on the same seed, and its 95% half-width (t)."""
    rel = [b[key] / a[key] - 1 for a, b in zip(up, rfc, strict=True) if a[key]]
    if not rel:
        return math.nan, math.nan
    if len(rel) < 2:
        return rel[0], math.nan
    t975 = {2: 12.706, 3: 4.303, 4: 3.182, 5: 2.776}.get(len(rel), 2.5)
    return statistics.fmean(rel), t975 * statistics.stdev(rel) / math.sqrt(len(rel))


def fmt_change(c: tuple[float, float]) -> str:
    mean, half = c
    if math.isnan(mean):
        return "n/a"
    if math.isnan(half):
        return f"{100 * mean:+.1f}%"
    return f"{100 * mean:+.1f}% ± {100 * half:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--choice-seeds", type=int, default=2)
    parser.add_argument("--mixes", default="kbuild,purge,page_fault1")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-choices", action="store_true")
    args = parser.parse_args()
    mixes = args.mixes.split(",")
    jobs: dict[tuple, tuple] = {}
    for mix in mixes:
        for seed in range(1, args.seeds + 1):
            for policy in ("upstream", "pcp-buddy"):
                jobs[("default", mix, policy, seed)] = (mix, policy, seed, ())
        if args.no_choices:
            continue
        for label, rfc_knobs, both in CHOICES:
            for seed in range(1, args.choice_seeds + 1):
                knobs = tuple(sorted({**rfc_knobs, **both}.items()))
                jobs[(label, mix, "pcp-buddy", seed)] = (mix, "pcp-buddy", seed, knobs)
                if both:
                    jobs[(label, mix, "upstream", seed)] = (
                        mix, "upstream", seed, tuple(sorted(both.items())))
    with ProcessPoolExecutor(args.workers) as pool:
        results = dict(zip(jobs, pool.map(run, jobs.values()), strict=True))

    windows = ", ".join(f"{m} {WINDOWS[m][1] / 1e9:g} s after {WINDOWS[m][0] / 1e9:g} s"
                        for m in mixes)
    print(f"32 CPUs, 32 GiB; measured windows: {windows}; mean of {args.seeds} seeds; "
          f"change: paired, ± the 95% interval over seeds\n")
    print("| mix | metric | upstream | pcp-buddy | change |")
    print("|---|---|---:|---:|---:|")
    for mix in mixes:
        up = [results[("default", mix, "upstream", s)] for s in range(1, args.seeds + 1)]
        rfc = [results[("default", mix, "pcp-buddy", s)] for s in range(1, args.seeds + 1)]
        for key, label, fmt in METRICS:
            a = statistics.fmean(r[key] for r in up)
            b = statistics.fmean(r[key] for r in rfc)
            print(f"| {mix} | {label} | {fmt(a)} | {fmt(b)} | "
                  f"{fmt_change(paired_change(up, rfc, key))} |")
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
