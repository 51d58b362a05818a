"""Simulator speed and memory, run by hand (never as a timed test):

    python benchmarks/bench_simulator.py            # full: ~3 minutes on a 2-core laptop
    python benchmarks/bench_simulator.py --quick    # shorter runs, same measurements

Prints, each measured in its own process:
- speed: simulated page operations (allocations and frees) per second of CPU time of the
  simulating process, compiled engine loaded from the cache, for `upstream` and `pcp-buddy`
  on `kbuild` at 64 CPUs / 64 GiB and 1024 CPUs / 1 TiB, beside the toy event loop of the
  same shape (benchmarks/toy_des.py) at the same CPU counts: the runs alternate, three rounds,
  and each figure is the median of its three; the ratio to the toy is taken round by round.
  The JIT-off speed (NUMBA_DISABLE_JIT=1, a shorter run) at 64 CPUs once;
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
import statistics
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
    t0 = time.process_time()
    r = simulate(Spec.from_flat(point))
    wall = time.process_time() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"cpu_s": wall, "ops": r["ops"], "steps": r["engine_steps"],
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


_TOY = textwrap.dedent(
    """
    import json, sys, time
    sys.path.insert(0, sys.argv[3])
    from toy_des import run
    run(64, 1000, 1)  # compile or load
    ncpu, nops = int(sys.argv[1]), int(sys.argv[2])
    t0 = time.process_time()
    run(ncpu, nops, 1)
    print(json.dumps({"cpu_s": time.process_time() - t0, "ops": nops}))
    """
)


def measure_toy(ncpu: int, nops: int) -> dict:
    here = os.path.dirname(os.path.abspath(__file__))
    out = subprocess.run([sys.executable, "-c", _TOY, str(ncpu), str(nops), here],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def rate(m: dict) -> float:
    return m["ops"] / m["cpu_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter simulated durations")
    args = parser.parse_args()
    q = args.quick

    machines = {64: "64GiB", 1024: "1TiB"}
    length = {64: "300ms" if q else "1s", 1024: "20ms" if q else "100ms"}
    toy_ops = 5_000_000 if q else 20_000_000
    rounds: dict[tuple[int, str], list[dict]] = {}
    for _ in range(3):
        for cpus, mem in machines.items():
            point = {"cpus": cpus, "mem": mem, "mix": "kbuild", "seed": 1,
                     "duration": length[cpus], "warmup": "0ms"}
            for policy in ("upstream", "pcp-buddy"):
                rounds.setdefault((cpus, policy), []).append(measure({**point, "policy": policy}))
            rounds.setdefault((cpus, "toy"), []).append(measure_toy(cpus, toy_ops))
    slow = measure({"cpus": 64, "mem": "64GiB", "mix": "kbuild", "policy": "upstream", "seed": 1,
                    "duration": "2ms" if q else "5ms", "warmup": "0ms"}, jit=False)
    med = statistics.median

    def ratio(a: list[dict], b: list[dict]) -> float:
        return med(rate(x) / rate(y) for x, y in zip(a, b, strict=True))

    for cpus, mem in machines.items():
        up, rfc, toy = (rounds[(cpus, k)] for k in ("upstream", "pcp-buddy", "toy"))
        print(f"speed: kbuild / {cpus} CPUs / {mem}, {length[cpus]} simulated "
              "(median of 3, M page ops per CPU-second)")
        print(f"  upstream, JIT on : {med(rate(m) for m in up) / 1e6:6.2f} M "
              f"({up[0]['ops']:,} ops, peak RSS {med(m['peak_rss_mib'] for m in up):.0f} MiB)")
        print(f"  pcp-buddy, JIT on: {med(rate(m) for m in rfc) / 1e6:6.2f} M "
              f"(upstream {ratio(up, rfc):.2f}x "
              "its speed)")
        print(f"  toy event loop   : {med(rate(m) for m in toy) / 1e6:6.2f} M "
              f"(upstream / toy {ratio(up, toy):.2f}, "
              f"pcp-buddy / toy {ratio(rfc, toy):.2f})")
    print(f"  upstream at 64 CPUs, JIT off: {rate(slow) / 1e6:.3f} M ({slow['ops']:,} ops)")

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

    huge = measure({"cpus": 4096, "mem": "16TiB", "mix": "kbuild", "policy": "upstream",
                    "duration": "5ms" if q else "20ms", "warmup": "0ms"})
    print("scale: upstream / kbuild / 4096 CPUs / 16 TiB")
    print(f"  {huge['ops']:,} ops in {huge['cpu_s']:.2f} CPU-s, "
          f"peak RSS {huge['peak_rss_mib']:.0f} MiB")

if __name__ == "__main__":
    main()
