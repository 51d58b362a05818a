"""Validation (issue 7, item 6): how much the scaling verdicts depend on the timing model.

    sweep run scenarios/sensitivity.toml --results results
    python validation/sensitivity.py --results results [--markdown docs/validation/sens.md]

Each cost constant (allocator/params/costs.py) halved and doubled, one at a time; per variant
and mix
the verdict on "pcp-buddy's %sys gain grows with CPUs" (the report's test: slope of the gain
per doubling of CPUs, bootstrap 95% interval over seeds, sweep/analysis.py), beside the default
costs' verdict. A change of verdict names a constant that decides the answer.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from allocator.params.costs import default_costs
from sweep.analysis import trends
from sweep.db import connect

COSTS = list(default_costs())


def load(results: str) -> dict[str, np.ndarray]:
    con = connect(results)
    cols = ", ".join(f"p.cost_{c}" for c in COSTS)
    rows = con.execute(
        f"SELECT g.mix, g.cpus, g.mem_bytes, g.sys_gain, {cols} FROM gains g JOIN points p "
        "ON p.sweep = g.sweep AND p.sim_version = g.sim_version AND p.pair_id = g.pair_id "
        "AND p.policy = 'upstream' WHERE g.sweep = 'sensitivity'").fetchall()
    if not rows:
        raise SystemExit(f"no sensitivity points under {results}: run "
                         "`sweep run scenarios/sensitivity.toml` first")
    names = ["mix", "cpus", "mem_bytes", "sys_gain", *COSTS]
    return {n: np.array([r[i] for r in rows]) for i, n in enumerate(names)}


def variant_of(d: dict[str, np.ndarray], defaults: dict[str, int]) -> list[str]:
    out = []
    for i in range(len(d["mix"])):
        changed = [f"{c} x{d[c][i] / defaults[c]:g}" for c in COSTS if d[c][i] != defaults[c]]
        out.append(changed[0] if changed else "defaults")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default="results")
    ap.add_argument("--markdown", type=Path, default=None)
    args = ap.parse_args(argv)
    d = load(args.results)
    variants = np.array(variant_of(d, default_costs()))
    mixes = sorted(set(d["mix"].tolist()))
    order = ["defaults"] + sorted(set(variants.tolist()) - {"defaults"},
                                  key=lambda v: (COSTS.index(v.split()[0]), v))
    table: dict[str, dict[str, tuple[str, float]]] = {}
    for v in order:
        table[v] = {}
        for mix in mixes:
            sel = (variants == v) & (d["mix"] == mix)
            cpu, _ = trends(np.log2(d["cpus"][sel].astype(float)),
                            np.log2(d["mem_bytes"][sel].astype(float)),
                            d["sys_gain"][sel].astype(float))
            table[v][mix] = (cpu.verdict, cpu.slope)
    lines = ["| costs | " + " | ".join(mixes) + " |", "|---|" + "---|" * len(mixes)]
    flips: dict[str, list[str]] = {}
    for v in order:
        cells = []
        for mix in mixes:
            verdict, slope = table[v][mix]
            mark = ""
            if v != "defaults" and verdict != table["defaults"][mix][0]:
                mark = " **(changed)**"
                flips.setdefault(v.split()[0], []).append(f"{mix} ({v})")
            cells.append(f"{verdict}, {100 * slope:+.1f} pp{mark}")
        lines.append(f"| {v} | " + " | ".join(cells) + " |")
    lines.append("")
    if flips:
        lines.append("Constants that change a verdict when halved or doubled: " + "; ".join(
            f"`{c}`: {', '.join(w)}" for c, w in flips.items()) + ".")
    else:
        lines.append("No constant changes a verdict when halved or doubled.")
    moves = []
    for mix in mixes:
        base = table["defaults"][mix][1]
        top = sorted(((abs(table[v][mix][1] - base), v) for v in order[1:]), reverse=True)[:2]
        moves.append(f"{mix}: " + ", ".join(
            f"{v} ({100 * table[v][mix][1]:+.1f} against {100 * base:+.1f} pp)"
            for _, v in top))
    lines.append("The constants that move the slope most, per mix: " + "; ".join(moves) + ".")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
