"""The report's tables: the steady state per mix, every (mix, CPUs, memory) cell with its
per-doubling change, and `sweep compare`'s machine-by-machine table of the two policies."""

from __future__ import annotations

from typing import Any

import numpy as np

from allocator.core import catalogue
from allocator.params.units import format_size


def steady_lines(con: Any, sweep: str, version: str, where: str) -> list[str]:
    """Per mix: how many points were stationary, why runs stopped, warm-ups and windows."""
    rows = con.execute(
        "SELECT mix, count(*), count(*) FILTER (WHERE coalesce(stationary, false)), "
        "count(*) FILTER (WHERE stop_reason = 'precision'), "
        "count(*) FILTER (WHERE stop_reason = 'cap'), "
        "count(*) FILTER (WHERE stop_reason = 'fixed' OR stop_reason IS NULL), "
        "median(warmup_ns) / 1e9, max(warmup_ns) / 1e9, median(window_ns) / 1e9, "
        "max(sys_frac_ci95 / NULLIF(sys_frac, 0)) "
        "FROM points WHERE sweep = ? AND sim_version = ? "
        f"AND pair_id IN (SELECT pair_id FROM gains WHERE {where}) GROUP BY mix ORDER BY mix",
        [sweep, version]).fetchall()
    lines = ["| mix | points | stationary | stopped: precision / cap / fixed | warm-up median, "
             "max (s) | window median (s) | worst %sys half-width |",
             "|---|---|---|---|---|---|---|"]
    for mix, n, st, prec, cap, fixed, wmed, wmax, win, worst in rows:
        worst_s = f"{100 * worst:.1f}%" if worst is not None and np.isfinite(worst) else "n/a"
        lines.append(f"| {mix} | {n} | {st} | {prec} / {cap} / {fixed} | "
                     f"{num(wmed)}, {num(wmax)} | {num(win)} | {worst_s} |")
    return lines


def point_lines(con: Any, sweep: str, version: str, where: str) -> list[str]:
    """Every (mix, CPUs, memory) cell: the %sys gain over seeds with the mean of the pairs'
    own half-widths, and how many of its pairs were stationary (a cell with a transient pair
    is marked)."""
    rows = con.execute(
        "SELECT mix, cpus, mem_bytes, nodes, count(*), count(*) FILTER (WHERE stationary), "
        "avg(sys_gain), avg(sys_gain_ci95), avg(throughput_gain), avg(throughput_gain_ci95) "
        "FROM gains WHERE sweep = ? AND sim_version = ? AND "
        f"{where} GROUP BY ALL ORDER BY mix, mem_bytes, nodes, cpus", [sweep, version]).fetchall()
    many = len({r[3] for r in rows}) > 1
    lines = ["| mix | CPUs | memory |" + (" nodes |" if many else "")
             + " %sys saved | change from the CPUs above | throughput gained | stationary "
             "pairs |",
             "|---|---|---|" + ("---|" if many else "") + "---|---|---|---|"]
    prev: tuple | None = None
    for mix, cpus, mem, nodes, n, st, sg, sgw, tg, tgw in rows:
        mark = "" if st == n else " **transient**"
        # the per-segment change: a curve flat to 256 CPUs that jumps at 1024 shows here,
        # where one fitted slope would spread the jump over every doubling
        step = ""
        if prev is not None and prev[:3] == (mix, mem, nodes) and None not in (sg, prev[3]):
            step = pp(sg - prev[3])
        prev = (mix, mem, nodes, sg)
        lines.append(f"| {mix} | {cpus} | {format_size(int(mem))} |"
                     + (f" {nodes} |" if many else "")
                     + f" {pm(sg, sgw)} | {step} | {pm(tg, tgw)} | {st} of {n}{mark} |")
    return lines


def num(v: Any) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def pm(v: Any, hw: Any) -> str:
    if v is None:
        return "n/a"
    w = f" ± {100 * hw:.2f}" if hw is not None and np.isfinite(hw) else ""
    return f"{100 * v:+.2f}%{w}"


def pp(v: float) -> str:
    return f"{100 * v:+.2f} pp"


def compare_lines(results: str, sweep: str, version: str, swept: dict) -> list[str]:
    """`sweep compare --policies upstream,pcp-buddy` of this sweep, as Markdown: every
    headline metric per machine, both means, the gain and its paired t-test."""
    from .commands import compare as compare_cmd

    if swept:
        return [f"Knobs vary in this sweep ({', '.join(swept)}): compare one setting at a time "
                "with `sweep compare --policies upstream,pcp-buddy` on a sweep of that setting."]
    rows, base, cand = compare_cmd.compare(
        baseline=None, candidate=None, results=results, policies="upstream,pcp-buddy",
        sweep=sweep, baseline_version=version, candidate_version=None)
    return ["Means over seeds; gain positive when pcp-buddy is better; * a paired t-test over "
            "seeds gives p < 0.05 (as `sweep compare --results "
            f"{results} --policies upstream,pcp-buddy --sweep {sweep}` prints it).", "",
            compare_cmd.markdown(rows, base, cand).rstrip("\n")]


def display(name: str) -> tuple[str, float]:
    """How a metric is drawn and tabled: its label with the unit shown, and the scale from its
    stored unit (fractions in percent, rates in millions)."""
    m = catalogue.BY_NAME[name]
    label = m.label or name
    if m.unit == "fraction":
        return f"{label}, %", 100.0
    if m.unit == "ops/s":
        return f"{label} (Mops/s)", 1e-6
    return label, 1.0


def unit_label(name: str) -> str:
    """The label with the stored unit, for values shown unscaled (`sweep compare`)."""
    m = catalogue.BY_NAME[name]
    label = m.label or name
    if m.unit == "fraction":
        return label if "%" in label else f"{label} %"
    return f"{label} {m.unit}"
