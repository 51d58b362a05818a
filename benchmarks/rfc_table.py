"""Upstream against pcp-buddy on the RFC's own machine (32 CPUs, 32 GiB), as a Markdown table.

    python benchmarks/rfc_table.py [--duration 1s] [--warmup 200ms] [--seeds 3]
                                   [--mixes kbuild,purge,page_fault1]

kbuild is the RFC's kernel build (%sys down 3-4% in the cover letter), purge its "allocate on
many CPUs, free on a few" test (throughput up 1%), page_fault1 the will-it-scale baseline.

Each cell is the mean over seeds; the last column is the relative change of pcp-buddy against
upstream on the same seeds. Reports what the model says, whatever it says.
"""

from __future__ import annotations

import argparse
import statistics

from allocator import Spec, simulate
from allocator.units import parse_duration

METRICS = (
    ("sys_frac", "%sys (allocator)", lambda v: f"{100 * v:.3f}%"),
    ("zone_lock_acq_per_kop", "zone->lock acquisitions / 1000 ops", lambda v: f"{v:.3f}"),
    ("zone_lock_wait_ns", "zone->lock wait (ns, all CPUs)", lambda v: f"{v:,.0f}"),
    ("remote_frees", "remote frees", lambda v: f"{v:,.0f}"),
    ("throughput_ops_per_s", "throughput (ops/s)", lambda v: f"{v:,.0f}"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", default="1s")
    parser.add_argument("--warmup", default="200ms")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--mixes", default="kbuild,purge,page_fault1")
    args = parser.parse_args()
    duration = parse_duration(args.duration)
    warmup = parse_duration(args.warmup)
    print(f"32 CPUs, 32 GiB, {args.duration} simulated after {args.warmup} of warm-up, "
          f"mean of {args.seeds} seeds\n")
    print("| mix | metric | upstream | pcp-buddy | change |")
    print("|---|---|---:|---:|---:|")
    for mix in args.mixes.split(","):
        runs = {
            policy: [
                simulate(
                    Spec(cpus=32, mem_bytes=32 << 30, mix=mix, policy=policy, seed=seed,
                         duration_ns=duration + warmup, warmup_ns=warmup)
                )
                for seed in range(1, args.seeds + 1)
            ]
            for policy in ("upstream", "pcp-buddy")
        }
        for key, label, fmt in METRICS:
            up = statistics.fmean(r[key] for r in runs["upstream"])
            rfc = statistics.fmean(r[key] for r in runs["pcp-buddy"])
            change = f"{100 * (rfc - up) / up:+.1f}%" if up else "n/a"
            print(f"| {mix} | {label} | {fmt(up)} | {fmt(rfc)} | {change} |")


if __name__ == "__main__":
    main()
