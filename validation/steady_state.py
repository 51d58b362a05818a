"""Validation of run-length control: an `auto` point against a run four times as long.

For each (mix, policy), simulate with duration and warm-up "auto", then again with a fixed
window four times the auto window, after the same warm-up. The auto result passes when its
%sys and throughput lie within their stated 95% half-width of the long run's, or within 3%.

    python validation/steady_state.py [--cpus 16] [--mem 16GiB] [--seed 1] [--cap 30s]

Prints a Markdown table (docs/validation.md, section 8). tests/allocator/test_runlength.py runs
the same check on small machines.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from allocator import Spec, simulate
from allocator.params.units import parse_size

METRICS = ("sys_frac", "throughput_ops_per_s")
TOLERANCE = 0.03


def check(cpus: int, mem: int, mix: str, policy: str, seed: int = 1,
          cap: str = "10s", **extra: Any) -> dict[str, Any]:
    """The auto point, the long run after its warm-up, and whether each metric agrees."""
    flat = {"cpus": cpus, "mem": mem, "mix": mix, "policy": policy, "seed": seed, **extra}
    t0 = time.process_time()
    auto = simulate(Spec.from_flat({**flat, "duration": "auto", "warmup": "auto",
                                    "duration_cap": cap}))
    t1 = time.process_time()
    w, win = auto["warmup_ns"], auto["window_ns"]
    long = simulate(Spec.from_flat({**flat, "duration": w + 4 * win, "warmup": w}))
    out: dict[str, Any] = {"mix": mix, "policy": policy, "cpus": cpus, "warmup_ns": w,
                           "window_ns": win, "stationary": auto["stationary"],
                           "stop_reason": auto["stop_reason"], "auto_cpu_s": t1 - t0,
                           "long_cpu_s": time.process_time() - t1}
    for m in METRICS:
        a, hw, ref = auto[m], auto[f"{m}_ci95"], long[m]
        out[m] = (a, hw, ref, abs(a - ref) <= max(hw, TOLERANCE * abs(ref)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpus", type=int, default=16)
    parser.add_argument("--mem", default="16GiB")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cap", default="30s", help="duration_cap of the auto points")
    args = parser.parse_args()
    mem = parse_size(args.mem)
    print(f"{args.cpus} CPUs, {args.mem}, seed {args.seed}, cap {args.cap}: auto point against "
          "a window four times as long after the same warm-up")
    print()
    print("| mix | policy | warm-up (s) | window (s) | stop | stationary | %sys auto ± 95% | "
          "%sys long | throughput auto ± 95% (Mops/s) | long | agree |")
    print("|---|---|---:|---:|---|---|---:|---:|---:|---:|---|")
    for mix in ("kbuild", "page_fault1"):
        for policy in ("upstream", "pcp-buddy"):
            r = check(args.cpus, mem, mix, policy, args.seed, args.cap)
            s, t = r["sys_frac"], r["throughput_ops_per_s"]
            ok = "yes" if s[3] and t[3] else "no"
            print(f"| {mix} | {policy} | {r['warmup_ns'] / 1e9:.2f} | {r['window_ns'] / 1e9:.2f} "
                  f"| {r['stop_reason']} | {'yes' if r['stationary'] else 'no'} | "
                  f"{100 * s[0]:.3f} ± {100 * s[1]:.3f} | {100 * s[2]:.3f} | "
                  f"{t[0] / 1e6:.3f} ± {t[1] / 1e6:.3f} | {t[2] / 1e6:.3f} | {ok} |",
                  flush=True)


if __name__ == "__main__":
    main()
