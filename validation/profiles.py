"""Validation: the allocator's share of CPU time each mix reaches, against published perf
profiles of unmodified kernels (../shared/reference/allocator-profiles.md), on the profiled
machine's CPU count, and the whole-kernel %sys (kernel_sys_frac) beside the measured one.

    python validation/profiles.py [--seeds 2]

No constant was set from these profiles except each mix's `kernel_frac` default (the
non-allocator kernel share), which R2 and R1 set: so the kernel %sys column is calibration for
kbuild and page_fault1, and the allocator-share column is validation. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import statistics

from allocator import Spec, simulate

# (profile, mix, cpus, mem, warm-up ns, window ns, published allocator share, its basis,
#  published whole-kernel sys share of busy time, its basis)
PROFILES = (
    ("R2 kbuild, Ice Lake 2S, 128 threads, 128 GiB", "kbuild", 128, 128 << 30,
     2_000_000_000, 1_000_000_000, 0.066,
     "get_page_from_freelist 5.26% + free_unref_page_list 1.35% of cycles",
     0.164, "mpstat sys 9.32 / (sys 9.32 + usr 47.65)"),
    ("R1 page_fault1, Ice Lake 2S, 96 CPUs, THP off", "page_fault1", 96, 128 << 30,
     300_000_000, 200_000_000, 0.477,
     "get_page_from_freelist 42.83% + free_pcppages_bulk 4.90% of cycles",
     0.985, "mpstat usr 1.49%"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()
    print("| profile | allocator share: published | model (upstream) | ratio | "
          "whole-kernel %sys: published | model |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, mix, cpus, mem, warmup, window, share, basis, sys_share, sys_basis in PROFILES:
        runs = [simulate(Spec(cpus=cpus, mem_bytes=mem, mix=mix, policy="upstream", seed=s,
                              duration_ns=warmup + window, warmup_ns=warmup))
                for s in range(1, args.seeds + 1)]
        alloc = statistics.fmean(r["sys_frac"] for r in runs)
        kernel = statistics.fmean(r["kernel_sys_frac"] for r in runs)
        print(f"| {name} | {100 * share:.1f}% ({basis}) | {100 * alloc:.2f}% | "
              f"{alloc / share:.2f} | {100 * sys_share:.1f}% ({sys_basis}) | "
              f"{100 * kernel:.1f}% |")


if __name__ == "__main__":
    main()
