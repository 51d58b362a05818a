"""In-process CPU time of one point under two checkouts of the simulator, alternating: for a
change that must not slow the engine (compilation excluded, unlike a whole-process timing).

    git worktree add /tmp/old <commit>
    python benchmarks/bench_ab.py /tmp/old . --mix purge --cpus 64 --duration 1s --runs 3
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

_CHILD = """
import sys, time
sys.path.insert(0, sys.argv[1])
from allocator import Spec, simulate
simulate(Spec(cpus=2, mem_bytes=64 << 20, mix=sys.argv[2], duration_ns=1_000_000))
spec = Spec.from_flat({"cpus": int(sys.argv[3]), "mem": f"{sys.argv[3]}GiB", "mix": sys.argv[2],
                       "seed": 1, "duration": sys.argv[4]})
t = time.process_time()
r = simulate(spec)
print(time.process_time() - t, r["ops"])
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--mix", default="purge")
    parser.add_argument("--cpus", type=int, default=64)
    parser.add_argument("--duration", default="1s")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    times: dict[str, list[float]] = {args.a: [], args.b: []}
    for _ in range(args.runs):
        for tree in (args.a, args.b):
            out = subprocess.run([sys.executable, "-c", _CHILD, tree, args.mix, str(args.cpus),
                                  args.duration], capture_output=True, text=True, check=True)
            cpu, ops = out.stdout.split()
            times[tree].append(float(cpu))
            print(f"{tree}: {float(cpu):.2f} s CPU, {int(ops):,} ops", flush=True)
    ma, mb = statistics.median(times[args.a]), statistics.median(times[args.b])
    print(f"median {args.a} {ma:.2f} s, {args.b} {mb:.2f} s: ratio {mb / ma:.3f}")


if __name__ == "__main__":
    main()
