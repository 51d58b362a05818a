"""`sweep compare`: two result sets side by side, as mmtests' compare-kernels prints two kernels.

Per mix, machine and policy (or, with `--policies A,B`, one result set's two policies on the
very same workloads), and per metric: the baseline's mean over seeds, the candidate's mean and
its gain over the baseline in percent, positive when the candidate is better (higher throughput,
lower %sys, wait and latency), as compare-kernels prints an improvement; `*` marks a gain whose
paired t-test over seeds (log ratio, same seed on both sides) gives p < 0.05, and `~` a cell with
a point that is not stationary. Points are matched by parameters and replicate, as `regress`
matches them (regress.load); `regress` is the decision, this is the table to read.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from allocator.core import catalogue
from allocator.params.errors import SpecError
from allocator.params.units import format_size

from ..tables import unit_label

# metric -> +1 if higher is better, -1 if lower; rates, not counts, since auto windows differ
METRICS = catalogue.rates()

LABELS = {n: unit_label(n) for n in METRICS}
PERCENT = {n for n in METRICS if catalogue.BY_NAME[n].unit == "fraction"}  # shown in percent
ALPHA = 0.05


@dataclass
class Row:
    where: str  # mix, machine and (across sets) policy
    metric: str
    base: float
    cand: float
    gain: float  # fraction, positive when the candidate is better
    p: float  # paired t-test over seeds; NaN with fewer than 2
    seeds: int
    stationary: bool

    @property
    def significant(self) -> bool:
        return math.isfinite(self.p) and self.p < ALPHA


def _rows(groups: dict[tuple, list[tuple[dict, dict]]]) -> list[Row]:
    """`groups`: (mix, CPUs, memory[, policy]) -> the (baseline, candidate) points of it."""
    out = []
    for key in sorted(groups):
        pairs = groups[key]
        where = f"{key[0]} {key[1]} CPUs/{format_size(key[2])}" + "".join(
            f" {k}" for k in key[3:])
        for metric, direction in METRICS.items():
            b = np.array([x[metric] for x, _ in pairs], dtype=float)
            c = np.array([y[metric] for _, y in pairs], dtype=float)
            ok = (b > 0) & (c > 0) & np.isfinite(b) & np.isfinite(c)
            if not ok.any():
                continue
            b, c = b[ok], c[ok]
            d = np.log(c / b)
            if len(d) < 2:
                p = float("nan")
            elif np.ptp(d) < 1e-12:  # every seed the same ratio: exact, no test needed
                p = 0.0 if abs(d[0]) > 1e-12 else 1.0
            else:
                p = float(stats.ttest_1samp(d, 0.0).pvalue)
            gain = direction * (c.mean() / b.mean() - 1.0)
            steady = all(bool(x["stationary"]) and bool(y["stationary"]) for x, y in pairs)
            out.append(Row(where, metric, float(b.mean()), float(c.mean()), float(gain), p,
                           len(d), steady))
    return out


def _machine(r: dict) -> tuple[Any, ...]:
    """(mix, CPUs, memory), and the nodes when there are several."""
    nodes = int(r.get("nodes") or 1)
    return (r["mix"], int(r["cpus"]), int(r["mem_bytes"])) + ((f"{nodes} nodes",) if nodes > 1
                                                              else ())


def across_sets(baseline: dict, candidate: dict) -> list[Row]:
    """The same points in two result sets (regress.load's dicts)."""
    shared = sorted(set(baseline) & set(candidate))
    if not shared:
        raise SpecError("baseline and candidate share no point (same sweep and parameters)")
    groups: dict[tuple, list[tuple[dict, dict]]] = defaultdict(list)
    for key in shared:
        b = baseline[key]
        groups[(*_machine(b), b["policy"])].append((b, candidate[key]))
    return _rows(groups)


def across_policies(points: dict, base_policy: str, cand_policy: str) -> list[Row]:
    """One result set, two policies on the very same workloads (same pair_id)."""
    by_pair: dict[tuple[str, str], dict[str, dict]] = defaultdict(dict)
    for r in points.values():
        by_pair[(r["sweep"], r["pair_id"])][r["policy"]] = r
    groups: dict[tuple, list[tuple[dict, dict]]] = defaultdict(list)
    for pols in by_pair.values():
        if base_policy in pols and cand_policy in pols:
            groups[_machine(pols[base_policy])].append((pols[base_policy], pols[cand_policy]))
    if not groups:
        raise SpecError(f"no workload was run with both {base_policy!r} and {cand_policy!r}")
    return _rows(groups)


def compare(*, baseline: str | None, candidate: str | None, results: str | None,
            policies: str | None, sweep: str | None, baseline_version: str | None,
            candidate_version: str | None) -> tuple[list[Row], str, str]:
    """The command: two result sets, or (`policies` "BASE,CANDIDATE") two policies of
    `results`; returns the rows and the two columns' names."""
    from ..regress import load

    cols = tuple(METRICS)
    if policies is not None:
        names = [p.strip() for p in policies.split(",")]
        if len(names) != 2 or not all(names) or results is None or baseline or candidate:
            raise SpecError("--policies takes BASE,CANDIDATE with --results (not --baseline "
                            "or --candidate)")
        points = load(results, sweep, baseline_version, cols)
        return across_policies(points, names[0], names[1]), names[0], names[1]
    if baseline is None or candidate is None or results is not None:
        raise SpecError("give --baseline and --candidate, or --results with --policies")
    rows = across_sets(load(baseline, sweep, baseline_version, cols),
                       load(candidate, sweep, candidate_version, cols))
    return rows, "baseline", "candidate"


def _num(metric: str, v: float) -> str:
    if metric in PERCENT:
        return f"{100 * v:.4f}%"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.4g}"


def text(rows: list[Row], base_name: str, cand_name: str) -> str:
    """compare-kernels' layout: the baseline (0.00%), then the candidate with its gain."""
    w = max([len(r.where) for r in rows] + [10])
    lines = [f"{'':<{w}}  {'':<18} {base_name:>24}  {cand_name:>26}"]
    for r in rows:
        mark = "*" if r.significant else " "
        flag = "" if r.stationary else " ~"
        base, cand = _num(r.metric, r.base), _num(r.metric, r.cand)
        lines.append(f"{r.where:<{w}}  {LABELS[r.metric]:<18} {base:>13} (  0.00%)  "
                     f"{cand:>13} {mark}{100 * r.gain:7.2f}%{mark}{flag}")
    lines.append(f"gain: positive when {cand_name} is better; * paired t-test over seeds "
                 f"p < {ALPHA}; ~ a point not stationary")
    return "\n".join(lines) + "\n"


def markdown(rows: list[Row], base_name: str, cand_name: str) -> str:
    lines = [f"| where | metric | {base_name} | {cand_name} | gain | p | seeds | stationary |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        gain = f"{100 * r.gain:+.2f}%" + (" *" if r.significant else "")
        p = f"{r.p:.2g}" if math.isfinite(r.p) else "n/a"
        base, cand = _num(r.metric, r.base), _num(r.metric, r.cand)
        lines.append(f"| {r.where} | {LABELS[r.metric]} | {base} | {cand} | {gain} | {p} | "
                     f"{r.seeds} | {'yes' if r.stationary else 'no'} |")
    return "\n".join(lines) + "\n"
