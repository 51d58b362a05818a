"""Where the compiled engine spends its time: `perf` samples named by numba function. Run by hand.

    python benchmarks/perf_profile.py [--policy upstream] [--mix kbuild] [--cpus 64]
        [--mem 64GiB] [--duration 1s] [--top 25]

perf cannot name JIT code by itself: it reads /tmp/perf-<pid>.map. This compiles the engine
in this process (numba's cache pointed at an empty directory, so the LLVM module of every
compiled function is in memory), writes that map from each function's address, then samples
its own process with `perf record -e cpu-clock` (a software clock: no hardware counters
needed) while the point runs, and prints each function's share of the samples taken inside
the engine. LLVM inlines most of the allocator into `run`, so a function listed is one that
was not inlined; the rest of its callees' time shows under it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter


def _short(symbol: str) -> str:
    """`_ZN9allocator2mm5locks6_placeB4v180...` -> `allocator.mm.locks._place`."""
    parts = []
    rest = symbol[3:] if symbol.startswith("_ZN") else symbol
    while rest and rest[0].isdigit():
        n = int(re.match(r"\d+", rest).group())
        digits = len(str(n))
        parts.append(rest[digits:digits + n])
        rest = rest[digits + n:]
    return ".".join(parts) or symbol[:60]


def write_map(path: str) -> int:
    """The map of every function of the engines this process compiled; returns how many."""
    from allocator.sim import engine_cache

    entries = {}
    for fn in engine_cache._LOADED.values():
        for cres in fn.overloads.values():
            module = getattr(cres.library, "_final_module", None)
            if module is None:
                continue
            for f in module.functions:
                if not f.is_declaration:
                    addr = cres.library.get_pointer_to_function(f.name)
                    if addr:
                        entries[addr] = f.name
    ordered = sorted(entries.items())
    with open(path, "w") as out:
        for i, (addr, name) in enumerate(ordered):
            end = ordered[i + 1][0] if i + 1 < len(ordered) else addr + (1 << 20)
            out.write(f"{addr:x} {end - addr:x} {name}\n")
    return len(ordered)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default="upstream")
    parser.add_argument("--mix", default="kbuild")
    parser.add_argument("--cpus", type=int, default=64)
    parser.add_argument("--mem", default="64GiB")
    parser.add_argument("--duration", default="1s")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    if shutil.which("perf") is None:
        sys.exit("perf is not installed (linux-perf / linux-tools)")
    if "NUMBA_CACHE_DIR" not in os.environ:  # compile here, so the modules are in memory
        os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="pcp-sweep-perf-")
        os.execv(sys.executable, [sys.executable, *sys.argv])
    from allocator import Spec, simulate

    point = {"cpus": args.cpus, "mem": args.mem, "mix": args.mix, "policy": args.policy,
             "seed": 1, "duration": args.duration, "warmup": "0ms"}
    simulate(Spec.from_flat(dict(point, duration="1ms", cpus=min(args.cpus, 8), mem="1GiB")))
    n = write_map(f"/tmp/perf-{os.getpid()}.map")
    data = tempfile.mktemp(prefix="pcp-sweep-perf-", suffix=".data")
    rec = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "4000", "-p",
                            str(os.getpid()), "-o", data], stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # perf attaches
    t0 = time.process_time()
    r = simulate(Spec.from_flat(point))
    cpu_s = time.process_time() - t0
    rec.send_signal(2)
    rec.wait()
    report = subprocess.run(["perf", "report", "-i", data, "--stdio", "--sort", "symbol",
                             "-F", "period,symbol"], capture_output=True, text=True).stdout
    os.unlink(data)
    samples: Counter[str] = Counter()
    everything = 0
    for line in report.splitlines():
        m = re.match(r"\s*(\d+)\s+\[[.k]\]\s+(\S+)", line)
        if m:
            everything += int(m.group(1))
            if m.group(2).startswith("_ZN"):
                samples[_short(m.group(2))] += int(m.group(1))
    total = sum(samples.values()) or 1
    print(f"{args.policy} / {args.mix}, {args.cpus} CPUs, {args.duration}: {r['ops']:,} ops in "
          f"{cpu_s:.2f} CPU-s ({r['ops'] / cpu_s / 1e6:.2f} M/s); {n} functions mapped; "
          f"{100 * total / max(everything, 1):.0f}% of the process's samples in the engine; "
          f"shares of those:")
    for name, count in samples.most_common(args.top):
        print(f"{100 * count / total:6.1f}%  {name}")


if __name__ == "__main__":
    main()
