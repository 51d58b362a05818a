"""Simulator speed of two checkouts, paired: has a change slowed the engine? Run by hand.

    git worktree add /tmp/before <rev>
    python benchmarks/bench_before_after.py /tmp/before .   [--rounds 3] [--set zones=normal]

Each round runs the same kbuild point (64 CPUs / 64 GiB, 1 s simulated; upstream and
pcp-buddy) in each checkout in turn, each in its own process with that checkout first on
sys.path and its compiled engine loaded from the cache (a warm-up run compiles it), and takes
simulated page operations per CPU-second of the simulation. Prints each side's median and
the median of the per-round ratios (after / before). `--set` adds keys to the after side's
point only (e.g. zones=normal: the one-zone machine the before side had).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_simulator import _CHILD, rate  # noqa: E402

POINT = {"cpus": 64, "mem": "64GiB", "mix": "kbuild", "seed": 1, "duration": "1s",
         "warmup": "0ms"}


def measure(tree: str, point: dict) -> dict:
    env = dict(os.environ, PYTHONPATH=os.path.abspath(tree))
    out = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(point)], env=env,
                         capture_output=True, text=True, check=True, cwd=tree)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--set", dest="sets", action="append", default=[])
    args = parser.parse_args()
    extra = dict(s.split("=", 1) for s in args.sets)
    for policy in ("upstream", "pcp-buddy"):
        point = {**POINT, "policy": policy}
        for tree, p in ((args.before, point), (args.after, {**point, **extra})):
            measure(tree, {**p, "duration": "1ms"})  # compile or load the engine
        before, after = [], []
        for _ in range(args.rounds):
            before.append(measure(args.before, point))
            after.append(measure(args.after, {**point, **extra}))
        med = statistics.median
        ratio = med(rate(a) / rate(b) for a, b in zip(after, before, strict=True))
        print(f"{policy}: before {med(rate(m) for m in before) / 1e6:.2f} M, after "
              f"{med(rate(m) for m in after) / 1e6:.2f} M page ops per CPU-second "
              f"(median of {args.rounds}); after / before {ratio:.3f} "
              f"[{min(rate(a) / rate(b) for a, b in zip(after, before, strict=True)):.3f}, "
              f"{max(rate(a) / rate(b) for a, b in zip(after, before, strict=True)):.3f}]")


if __name__ == "__main__":
    main()
