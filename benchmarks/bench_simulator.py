"""Simulator speed and memory, run by hand (never as a timed test):

    python benchmarks/bench_simulator.py            # full: ~3 minutes on a 2-core laptop
    python benchmarks/bench_simulator.py --quick    # shorter runs, same measurements

Prints, each measured in its own process:
- speed: simulated page operations (allocations and frees) per wall-clock second for
  `upstream` on `kbuild` at 64 CPUs / 64 GiB after compilation, the same point with the JIT off
  (NUMBA_DISABLE_JIT=1, a shorter run) beside it, and `pcp-buddy` on the same point;
- memory: peak RSS of a 4 TiB zone against a 64 GiB zone running the same workload, which
  touches 16 GiB (page_fault1, 64 CPUs x 256 MiB), raw and above the process's baseline after
  compiling;
- scale: a 1024-CPU, 1 TiB kbuild point: wall time and peak RSS.
The machine is shared and noisy: compare the ratios measured in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap

_CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    from allocator import Spec, simulate
    point = json.loads(sys.argv[1])
    # compile (or load the cache) on a small machine: the baseline is the compiled interpreter
    warm = dict(point, duration="1ms", mem="1GiB", cpus=min(point["cpus"], 64))
    warm = {k: v for k, v in warm.items() if not k.startswith("mix.")}
    simulate(Spec.from_flat(warm))
    base_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    r = simulate(Spec.from_flat(point))
    wall = time.perf_counter() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"wall_s": wall, "ops": r["ops"], "steps": r["engine_steps"],
                      "base_rss_mib": base_kib / 1024, "peak_rss_mib": peak_kib / 1024,
                      "split_pageblocks_peak": r["split_pageblocks_peak"],
                      "pgalloc": r["pgalloc"]}))
    """
)


def measure(point: dict, jit: bool = True) -> dict:
    env = dict(os.environ)
    if not jit:
        env["NUMBA_DISABLE_JIT"] = "1"
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(point)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter simulated durations")
    args = parser.parse_args()
    q = args.quick

    kbuild = {"cpus": 64, "mem": "64GiB", "mix": "kbuild", "policy": "upstream", "seed": 1}
    fast = measure({**kbuild, "duration": "300ms" if q else "1s"})
    slow = measure({**kbuild, "duration": "2ms" if q else "5ms"}, jit=False)
    rfc = measure({**kbuild, "policy": "pcp-buddy", "duration": "300ms" if q else "1s"})
    print("speed: kbuild / 64 CPUs / 64 GiB")
    for name, m in (("upstream, JIT on ", fast), ("upstream, JIT off", slow),
                    ("pcp-buddy, JIT on", rfc)):
        print(f"  {name}: {m['ops'] / m['wall_s'] / 1e6:6.3f} M page ops/s "
              f"({m['ops']:,} ops in {m['wall_s']:.2f} s)")
    print(f"  upstream / pcp-buddy speed: "
          f"{(fast['ops'] / fast['wall_s']) / (rfc['ops'] / rfc['wall_s']):.2f}x")

    touch = {
        "cpus": 64,
        "mix": "page_fault1",
        "duration": "200ms",
        "mix.page_fault1.map_bytes": "256MiB",
        "mix.page_fault1.max_mem_frac": 1.0,
    }
    small = measure({**touch, "mem": "64GiB"})
    big = measure({**touch, "mem": "4TiB"})
    print("memory: page_fault1, 64 CPUs x 256 MiB = 16 GiB touched")
    for name, m in (("64 GiB zone", small), ("4 TiB zone", big)):
        print(f"  {name:12}: peak RSS {m['peak_rss_mib']:7.1f} MiB "
              f"(+{m['peak_rss_mib'] - m['base_rss_mib']:6.1f} MiB over the compiled baseline); "
              f"{m['split_pageblocks_peak']:,} pageblocks split at peak "
              f"({m['split_pageblocks_peak'] * 2 / 1024:.1f} GiB)")
    print(f"  ratio 4 TiB / 64 GiB peak RSS: {big['peak_rss_mib'] / small['peak_rss_mib']:.2f}x")

    huge = measure({"cpus": 1024, "mem": "1TiB", "mix": "kbuild", "policy": "upstream",
                    "duration": "20ms" if q else "100ms"})
    print("scale: upstream / kbuild / 1024 CPUs / 1 TiB")
    print(f"  {huge['ops']:,} ops in {huge['wall_s']:.2f} s, "
          f"peak RSS {huge['peak_rss_mib']:.0f} MiB")


if __name__ == "__main__":
    main()
