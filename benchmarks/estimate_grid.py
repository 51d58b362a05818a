"""How long a steady-state grid takes, from a smaller grid that ran: an estimate, not a run.

    python benchmarks/estimate_grid.py scenarios/scaling.toml --from scaling-laptop

Per mix, from the stored points of `--from` at its largest CPU count: the wall time per CPU
and simulated second, and the simulated length (warm-up and window) points reached. Each
point of the target scenario is charged that length times its CPUs times that cost, times the
growth of the cost per operation with CPU count measured in issue 13 (240 ns at 8 CPUs, 685
ns at 1024: x2.85 over 7 doublings, taken as linear in log2(CPUs) from 16 CPUs up). Points
that reach their cap cost more than the small grid's mean length says; it is a lower bound
where larger machines stay transient longer. A point of several nodes costs one node's CPUs.
"""

from __future__ import annotations

import argparse
import math

from sweep.db import connect
from sweep.scenario import load_scenario

GROWTH_PER_DOUBLING = (685 / 240 - 1) / 7  # issue 13: cost per op, 8 -> 1024 CPUs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario")
    parser.add_argument("--from", dest="source", required=True, help="a stored sweep's name")
    parser.add_argument("--results", default="results")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    con = connect(args.results)
    rows = con.execute(
        "WITH top AS (SELECT mix, max(cpus) AS cpus FROM points WHERE sweep = ? GROUP BY mix) "
        "SELECT p.mix, p.cpus, avg(p.wall_s / (p.cpus * (p.warmup_ns + p.window_ns) / 1e9)), "
        "avg((p.warmup_ns + p.window_ns) / 1e9) FROM points p JOIN top USING (mix, cpus) "
        "WHERE p.sweep = ? GROUP BY ALL", [args.source, args.source]).fetchall()
    cost = {mix: (cpus, per, length) for mix, cpus, per, length in rows}
    total = 0.0
    for p in load_scenario(args.scenario).points:
        if p.spec.mix not in cost:
            raise SystemExit(f"no stored point of mix {p.spec.mix} in sweep {args.source}")
        base_cpus, per, length = cost[p.spec.mix]
        ran = p.spec.cpus // p.spec.nodes  # the symmetric shortcut simulates one node
        growth = 1 + GROWTH_PER_DOUBLING * max(0.0, math.log2(ran / base_cpus))
        sim = min(length, p.spec.duration_ns / 1e9)
        total += ran * sim * per * growth
    basis = ", ".join(f"{m} {c[1] * 1e3:.0f} ms at {c[0]} CPUs over {c[2]:.1f} s"
                      for m, c in sorted(cost.items()))
    print(f"{args.scenario}: about {total / 3600:.1f} CPU-hours, "
          f"{total / 60 / args.workers:,.0f} minutes on {args.workers} workers "
          f"(from {args.source}'s cost per CPU and simulated second: {basis})")


if __name__ == "__main__":
    main()
