"""`sweep report`: scaling curves, plots, and the verdict on the RFC's claim, per mix.

Reads the `gains` and `points` views (db.py), decides with analysis.trends, and writes
`report.md` and `index.html` (the verdict first), and per mix two figures in PNG and SVG: the
gains against CPUs and against memory with 95% bands, and the absolute numbers of both
policies (%sys, zone->lock wait) beside the costs (unusable index at order 9, free pageblocks,
pages held in PCPs).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import matplotlib.ticker
import numpy as np

from allocator import SIM_VERSION
from allocator.core import catalogue
from allocator.params.errors import SpecError
from allocator.params.history import DEFAULT_KERNEL
from allocator.params.units import format_size
from allocator.policies import RFC, UPSTREAM

from . import choices, figures
from .analysis import Trend, trends
from .completeness import Completeness, completeness, completeness_line
from .db import connect
from .store import read_grid, write_atomic
from .tables import compare_lines, display, point_lines, pp, steady_lines

# what the report draws, all from the metric catalogue: the headline gains (a verdict each),
# the costs (both policies' means), and the headline metrics' absolute values
HEADLINE = tuple((g.name, g.label) for _, g in catalogue.headline())
COSTS = tuple((m.name, m.label or m.name) for m in catalogue.costs())
ABSOLUTE = tuple((m.name, display(m.name)[0]) for m, _ in catalogue.headline()
                 if m.unit == "fraction")
PERCENT = {name for name, _ in ABSOLUTE}  # shares of CPU time, drawn in percent


@dataclass
class MixResult:
    mix: str
    trends: dict[str, tuple[Trend, Trend]]  # metric -> (with CPUs, with memory)
    costs: dict[str, tuple[float, float]]  # metric -> (upstream mean, pcp-buddy mean)
    n_pairs: int
    by_mem: dict[int, Trend]  # memory size -> the %sys gain's trend with CPUs at that size
    transient: list[str] = field(default_factory=list)  # the pairs that were not stationary
    # with a nodes axis: the %sys gain against CPUs per node and memory per node (what one
    # zone->lock sees), beside the whole machine's trends above; None with one node only
    per_node: tuple[Trend, Trend] | None = None


def transient_verdict(n: int) -> str:
    return f"inconclusive (transient: {n} point{'s' if n != 1 else ''} not stationary)"


def _refuse(t: Trend, transient: list[str], swept: bool) -> Trend:
    """A verdict stands only on stationary points: with any transient pair in the curve it is
    inconclusive, whatever the stationary ones say. `swept`: the axis has several values among
    all the pairs, stationary or not."""
    if not transient or not swept:
        return t
    return replace(t, verdict=transient_verdict(len(transient)))


def _pair_name(cpus: int, mem: int, seed: int, up: Any, rfc: Any, nodes: int = 1) -> str:
    which = [p for p, ok in ((UPSTREAM, up), (RFC, rfc)) if not ok]
    shape = f"{cpus} CPUs/{format_size(mem)}" + (f"/{nodes} nodes" if nodes > 1 else "")
    return f"{shape} seed {seed} ({', '.join(which) or 'both'})"


def _fetch(con: Any, sql: str, params: list[Any]) -> dict[str, np.ndarray]:
    rel = con.execute(sql, params)
    cols = [d[0] for d in rel.description]
    rows = rel.fetchall()
    return {c: np.array([r[i] for r in rows]) for i, c in enumerate(cols)}


def analyse(con: Any, sweep: str, version: str, min_slope: float,
            where: str = "TRUE") -> list[MixResult]:
    """The verdicts, from the pairs that satisfy `where` (choices.default_sql: the defaults of
    the design choices a sweep varies)."""
    metrics = ", ".join(m for m, _ in HEADLINE)
    g = _fetch(con, f"SELECT mix, cpus, mem_bytes, nodes, node_cpus, seed, stationary, "
               f"upstream_stationary, rfc_stationary, {metrics} FROM gains "
               f"WHERE sweep = ? AND sim_version = ? AND {where} ORDER BY mix, cpus, mem_bytes, "
               f"seed", [sweep, version])
    if not len(g.get("mix", [])):
        raise SpecError(f"sweep {sweep!r} has no pairs of upstream and pcp-buddy points")
    cost_cols = ", ".join(f"avg(upstream_{c}), avg(rfc_{c})" for c, _ in COSTS)
    out = []
    for mix in sorted(set(g["mix"].tolist())):
        in_mix = g["mix"] == mix
        steady = g["stationary"].astype(bool)
        transient = [_pair_name(int(g["cpus"][i]), int(g["mem_bytes"][i]), int(g["seed"][i]),
                                g["upstream_stationary"][i], g["rfc_stationary"][i],
                                int(g["nodes"][i]))
                     for i in np.nonzero(in_mix & ~steady)[0]]
        sel = in_mix & steady
        x1 = np.log2(g["cpus"][sel].astype(float))
        x2 = np.log2(g["mem_bytes"][sel].astype(float))
        swept = (len(np.unique(g["cpus"][in_mix])) > 1,
                 len(np.unique(g["mem_bytes"][in_mix])) > 1)
        tr = {m: tuple(_refuse(t, transient, sw) for t, sw in
                       zip(trends(x1, x2, g[m][sel].astype(float), min_slope), swept,
                           strict=True))
              for m, _ in HEADLINE}
        mems = g["mem_bytes"][sel]
        by_mem = {int(m): _refuse(trends(x1[mems == m], x2[mems == m],
                                         g["sys_gain"][sel][mems == m].astype(float),
                                         min_slope)[0], transient, swept[0])
                  for m in np.unique(g["mem_bytes"][in_mix])}
        row = con.execute(f"SELECT {cost_cols} FROM gains WHERE sweep = ? AND sim_version = ? "
                          f"AND mix = ? AND stationary AND {where}",
                          [sweep, version, mix]).fetchone()
        costs = {c: (row[2 * i], row[2 * i + 1]) for i, (c, _) in enumerate(COSTS)}
        per_node = None
        if len(np.unique(g["nodes"][in_mix])) > 1:
            nodes = g["nodes"][sel].astype(float)
            n1 = np.log2(g["node_cpus"][sel].astype(float))
            n2 = np.log2(g["mem_bytes"][sel].astype(float) / nodes)
            swept_n = (len(np.unique(g["node_cpus"][in_mix])) > 1,
                       len(np.unique(g["mem_bytes"][in_mix] / g["nodes"][in_mix])) > 1)
            per_node = tuple(_refuse(t, transient, sw) for t, sw in zip(
                trends(n1, n2, g["sys_gain"][sel].astype(float), min_slope), swept_n,
                strict=True))
        out.append(MixResult(mix=mix, trends=tr, costs=costs, n_pairs=int(sel.sum()),
                             by_mem=by_mem, transient=transient, per_node=per_node))
    return out


UNITS = ("Gains are savings in % of upstream's own figure; a slope's pp are points of the "
         "saving (% of upstream's %sys, not of CPU time) per doubling.")


def verdict_lines(results: list[MixResult], grid: Completeness | None = None) -> list[str]:
    """The report's first lines: per mix, the RFC's claim on the headline metric; a mix whose
    points are not all stored says so."""
    lines = []
    for r in results:
        have, want = grid.by_mix.get(r.mix, (0, 0)) if grid is not None else (0, 0)
        partial = (f" **Incomplete curve: {have} of {want} points of this mix stored.**"
                   if have < want else "")
        cpu, mem = r.trends["sys_gain"]
        per_mem = ""
        if len(r.by_mem) > 1:
            per_mem = " At each memory size, with CPUs: " + ", ".join(
                f"{format_size(m)} {t.verdict}"
                + (f" ({pp(t.slope)})" if np.isfinite(t.slope) else "")
                for m, t in r.by_mem.items()
            ) + "."
        if r.per_node is not None:
            ncpu, nmem = r.per_node
            per_mem += (f" Per node (the CPUs on one zone->lock): with CPUs per node "
                        f"**{ncpu.verdict}** ({_describe(ncpu)}); with memory per node "
                        f"**{nmem.verdict}** ({_describe(nmem)}).")
        named = ""
        if r.transient:
            shown = ", ".join(r.transient[:8]) + (", ..." if len(r.transient) > 8 else "")
            named = f" Not stationary: {shown}."
        lines.append(
            f"**{r.mix}**: %sys gain grows with CPUs: **{cpu.verdict}** "
            f"({_describe(cpu)}); with memory: **{mem.verdict}** ({_describe(mem)}).{per_mem} "
            f"[{r.n_pairs} stationary paired points]{named}{partial}"
        )
    return lines


def _describe(t: Trend) -> str:
    if t.verdict == "not swept":
        return "one value only"
    if not np.isfinite(t.slope):
        return "too few stationary points to fit"
    rho = f"Spearman rho {t.rho:+.2f}, p {t.p:.2g}" if np.isfinite(t.rho) else "gain constant"
    if t.hi - t.lo < 1e-9:  # nothing to resample: the mix drew nothing random at these settings
        rho += "; every seed gave the same gain, the interval shows no seed noise"
    return f"slope {pp(t.slope)} per doubling, 95% CI [{pp(t.lo)}, {pp(t.hi)}]; {rho}"


def _cost_lines(results: list[MixResult]) -> list[str]:
    lines = []
    for r in results:
        parts = []
        for c, label in COSTS:
            up, rfc = r.costs[c]
            if up is None or rfc is None:
                continue
            rel = f" ({(rfc / up - 1) * 100:+.1f}%)" if up else ""
            parts.append(f"{label} {up:.4g} -> {rfc:.4g}{rel}")
        lines.append(f"{r.mix}: " + ("; ".join(parts) or "no stationary pair to measure it on"))
    return lines


def _curves(con: Any, sweep: str, version: str, mix: str, metric: str) -> dict[str, np.ndarray]:
    """The curve of one metric; with several node counts, each (memory, nodes) is a line."""
    c = _fetch(con, "SELECT mem_bytes, cpus, nodes, mean, ci95_lo, ci95_hi FROM curves "
               "WHERE sweep = ? AND sim_version = ? AND mix = ? AND metric = ? "
               "ORDER BY mem_bytes, nodes, cpus", [sweep, version, mix, metric])
    if len(c.get("cpus", [])) and len(np.unique(c["nodes"])) > 1:
        c["mem_label"] = np.array([f"{format_size(int(m))} x{int(n)}n" for m, n in
                                   zip(c["mem_bytes"], c["nodes"], strict=True)])
        c["cpu_label"] = np.array([f"{int(p)}/{int(n)}n" for p, n in
                                   zip(c["cpus"], c["nodes"], strict=True)])
    elif len(c.get("cpus", [])):
        c["mem_label"] = np.array([format_size(int(m)) for m in c["mem_bytes"]])
        c["cpu_label"] = np.array([str(int(p)) for p in c["cpus"]])
    return c


def _band(ax: Any, x: np.ndarray, c: dict[str, np.ndarray], sel: np.ndarray, label: str) -> None:
    order = np.argsort(x[sel])
    xs = x[sel][order]
    ax.plot(xs, 100 * c["mean"][sel][order], marker="o", ms=3, label=label)
    lo, hi = c["ci95_lo"][sel][order], c["ci95_hi"][sel][order]
    if np.isfinite(lo.astype(float)).all():
        ax.fill_between(xs, 100 * lo.astype(float), 100 * hi.astype(float), alpha=0.2)


def plot_gains(con: Any, sweep: str, version: str, mix: str, out: Path) -> list[Path]:
    fig, axes = figures.panels(2 * len(HEADLINE), columns=len(HEADLINE))
    for col, (metric, label) in enumerate(HEADLINE):
        c = _curves(con, sweep, version, mix, metric)
        if not len(c["cpus"]):
            continue
        ax = axes[col]
        for mem in dict.fromkeys(c["mem_label"].tolist()):
            _band(ax, c["cpus"].astype(float), c, c["mem_label"] == mem, mem)
        _log2_axis(ax)
        ax.set_xlabel("CPUs")
        ax.set_ylabel(f"{label} (%)")
        ax.axhline(0, color="grey", lw=0.8)
        ax.legend(title="memory", loc="upper left")
        ax = axes[len(HEADLINE) + col]
        for cpus in dict.fromkeys(c["cpu_label"].tolist()):
            _band(ax, c["mem_bytes"].astype(float) / 2**30, c, c["cpu_label"] == cpus, cpus)
        _log2_axis(ax)
        ax.set_xlabel("memory (GiB)")
        ax.set_ylabel(f"{label} (%)")
        ax.axhline(0, color="grey", lw=0.8)
        ax.legend(title="CPUs", ncol=2, loc="upper left")
    fig.suptitle(f"{sweep} / {mix}: pcp-buddy against upstream, mean and 95% CI over seeds")
    return figures.save(fig, out / f"{mix}-gains")


def plot_absolute(con: Any, sweep: str, version: str, mix: str, out: Path) -> list[Path]:
    cols = [m for m, _ in ABSOLUTE] + [c for c, _ in COSTS]
    labels = [lab for _, lab in ABSOLUTE] + [lab for _, lab in COSTS]
    data = _fetch(con, f"SELECT policy, cpus, {', '.join(f'avg({c}) AS {c}' for c in cols)} "
                  "FROM points WHERE sweep = ? AND sim_version = ? AND mix = ? "
                  "GROUP BY policy, cpus ORDER BY policy, cpus", [sweep, version, mix])
    fig, axes = figures.panels(len(cols))
    for ax, c, lab in zip(axes, cols, labels, strict=True):
        for policy in np.unique(data["policy"]):
            sel = data["policy"] == policy
            y = data[c][sel].astype(float) * (100.0 if c in PERCENT else 1.0)
            ax.plot(data["cpus"][sel], y, marker="o", ms=3, label=policy)
        _log2_axis(ax)
        ax.set_xlabel("CPUs")
        ax.set_title(lab)
        ax.legend(loc="best" if len(data["cpus"]) < 64 else "upper left")
    fig.suptitle(f"{sweep} / {mix}: both policies, mean over memory sizes and seeds")
    return figures.save(fig, out / f"{mix}-absolute")


SERIES = (  # key metrics of runlength.KEY_METRICS, as the samples view holds them
    ("sys_ns", "%sys (allocator)", "rate_cpu"),
    ("ops", "throughput (Mops/s)", "rate"),
    ("zone_lock_wait_ns", "zone->lock wait (% CPU)", "rate_cpu"),
    ("pcp_pages", "pages in PCPs", "gauge"),
    ("pcp_high_mean", "mean pcp->high", "gauge"),
    ("nr_free_pages", "free pages", "gauge"),
)
BINS = 200  # points per curve in the time-series figure


def representative(con: Any, sweep: str, version: str, mix: str, where: str) -> list[dict]:
    """The smallest and the largest machine of a mix, both policies, first replicate."""
    rows = _fetch(con, "SELECT point_id, policy, cpus, mem_bytes, warmup_ns, window_ns, "
                  "stationary FROM points p WHERE sweep = ? AND sim_version = ? AND mix = ? "
                  f"AND pair_id IN (SELECT pair_id FROM gains WHERE {where}) "
                  "ORDER BY cpus, mem_bytes, replicate, policy", [sweep, version, mix])
    if not len(rows.get("point_id", [])):
        return []
    keys = sorted({(int(c), int(m)) for c, m in zip(rows["cpus"], rows["mem_bytes"],
                                                      strict=True)})
    out = []
    for key in dict.fromkeys([keys[0], keys[-1]]):
        for policy in (UPSTREAM, RFC):
            sel = np.nonzero((rows["cpus"] == key[0]) & (rows["mem_bytes"] == key[1])
                             & (rows["policy"] == policy))[0]
            if len(sel):
                i = sel[0]
                out.append({c: rows[c][i] for c in rows})
    return out


def _binned(t: np.ndarray, y: np.ndarray, kind: str, cpus: int) -> tuple[np.ndarray, np.ndarray]:
    step = max(1, len(t) // BINS)
    idx = np.arange(0, len(t), step)
    if kind == "gauge":
        return t[idx[1:]] / 1e9, y[idx[1:]].astype(float)
    dt = np.diff(t[idx]).astype(float)
    rate = np.diff(y[idx]).astype(float) / dt
    if kind == "rate_cpu":
        return t[idx[1:]] / 1e9, 100 * rate / cpus
    return t[idx[1:]] / 1e9, rate * 1e3  # ops per ns -> Mops/s


def plot_timeseries(con: Any, sweep: str, version: str, mix: str, out: Path,
                    where: str = "TRUE") -> list[Path]:
    """Key metrics against simulated time for the representative points, the warm-up each
    discarded shaded: what the window left out, and whether what it kept is flat."""
    reps = representative(con, sweep, version, mix, where)
    have = {r[0] for r in con.execute("DESCRIBE samples").fetchall()}
    if not reps or not {c for c, _, _ in SERIES} | {"t_ns"} <= have:
        return []  # no samples stored
    machines = list(dict.fromkeys((int(r["cpus"]), int(r["mem_bytes"])) for r in reps))
    cols = ", ".join(c for c, _, _ in SERIES)
    # each machine takes whole rows of figures.COLUMNS panels, one panel per series
    per = -(-len(SERIES) // figures.COLUMNS) * figures.COLUMNS
    fig, axes = figures.panels(per * len(machines), row_in=2.8)
    for r in reps:
        row = machines.index((int(r["cpus"]), int(r["mem_bytes"])))
        smp = _fetch(con, f"SELECT t_ns, {cols} FROM samples WHERE point_id = ? ORDER BY t_ns",
                     [str(r["point_id"])])
        if len(smp.get("t_ns", [])) < 3:
            continue
        steady = "" if r["stationary"] else " (not stationary)"
        for col, (c, label, kind) in enumerate(SERIES):
            ax = axes[per * row + col]
            x, y = _binned(smp["t_ns"], smp[c], kind, int(r["cpus"]))
            line, = ax.plot(x, y, lw=0.9, label=f"{r['policy']}{steady}")
            if r["warmup_ns"] is not None and r["warmup_ns"] > smp["t_ns"][0]:
                ax.axvline(r["warmup_ns"] / 1e9, color=line.get_color(), ls="--", lw=0.8)
            ax.set_title(f"{label}, {r['cpus']} CPUs/{format_size(int(r['mem_bytes']))}")
            ax.set_xlabel("simulated time (s)")
    for row in range(len(machines)):
        axes[per * row].legend(loc="best")
    fig.suptitle(f"{sweep} / {mix}: key metrics against time; dashed: the detected warm-up "
                 "(left of it is discarded)")
    return figures.save(fig, out / f"{mix}-timeseries")


def _log2_axis(ax: Any) -> None:
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))


@dataclass
class Report:
    """What `write_report` wrote and decided: the verdicts as data, for the CLI and nightly."""

    path: Path  # report.md; index.html beside it
    sweep: str
    version: str
    completeness: str  # the first line: how much of the grid the verdicts stand on
    verdicts: list[str]  # one line per mix (Markdown)
    mixes: list[MixResult]


def _one_kernel(con: Any, sweep: str, version: str) -> None:
    """The verdicts, curves and plots pool a sweep's points by mix, memory, CPUs and nodes: a
    sweep of several kernels (a `kernel` or `revert` axis) would mix them, so it is refused."""
    kernels = [r[0] for r in con.execute(
        "SELECT DISTINCT coalesce(kernel, ?) || coalesce(' less ' || revert, '') FROM points "
        "WHERE sweep = ? AND sim_version = ? ORDER BY 1",
        [DEFAULT_KERNEL, sweep, version]).fetchall()]
    if len(kernels) > 1:
        raise SpecError(
            f"sweep {sweep!r} runs several kernels ({'; '.join(kernels)}): a report pools "
            "points by mix, memory, CPUs and nodes, so it takes a sweep of one kernel; compare "
            "the kernels with `sweep query` (columns kernel, revert)")


def write_report(results: str, sweep: str | None, out: Path, min_slope: float = 0.005,
                 version: str | None = None) -> Report:
    """Write the report of `sweep` (default: scaling, else the first) made by simulator
    `version` (default: the only one, else this simulator's)."""
    con = connect(results)
    pairs = con.execute("SELECT DISTINCT sweep, sim_version FROM gains ORDER BY 1, 2").fetchall()
    sweeps = sorted({s for s, _ in pairs})
    if sweep is None:
        if not sweeps:
            raise SpecError(f"no sweep under {results!r} has both policies to compare")
        sweep = "scaling" if "scaling" in sweeps else sweeps[0]
    elif sweep not in sweeps:
        raise SpecError(f"sweep {sweep!r} not found with both policies; found: "
                        f"{', '.join(sweeps) or 'none'}")
    versions = [v for s, v in pairs if s == sweep]
    if version is None:
        version = versions[0] if len(versions) == 1 else SIM_VERSION
    if version not in versions:
        raise SpecError(f"sweep {sweep!r} has no points of simulator version {version!r}; "
                        f"choose one with --sim-version: {', '.join(versions)}")
    _one_kernel(con, sweep, version)
    out.mkdir(parents=True, exist_ok=True)
    swept = choices.swept_knobs(con, sweep, version)
    where = choices.default_sql(swept)
    mixes = analyse(con, sweep, version, min_slope, where)
    drawn = {r.mix: plot_gains(con, sweep, version, r.mix, out)
               + plot_absolute(con, sweep, version, r.mix, out)
               + plot_timeseries(con, sweep, version, r.mix, out, where) for r in mixes}
    grid = completeness(con, read_grid(results, sweep), sweep, version)
    n_stored = con.execute("SELECT count(*) FROM points WHERE sweep = ? AND sim_version = ?",
                           [sweep, version]).fetchone()[0]
    md = _markdown(sweep, version, results, mixes, drawn, min_slope, grid, n_stored,
                   choices.section(choices.settings(con, sweep, version, min_slope)),
                   steady_lines(con, sweep, version, where) + [""]
                   + point_lines(con, sweep, version, where),
                   compare_lines(results, sweep, version, swept))
    write_atomic(out / "report.md", md)
    write_atomic(out / "index.html", figures.page(f"pcp-sweep report: {sweep}", md))
    return Report(path=out / "report.md", sweep=sweep, version=version,
                  completeness=completeness_line(grid, n_stored),
                  verdicts=verdict_lines(mixes, grid), mixes=mixes)


def _markdown(sweep: str, version: str, results: str, mixes: list[MixResult], drawn: dict,
              min_slope: float, grid: Completeness | None, n_stored: int,
              choice_lines: list[str], steady: list[str], compare: list[str]) -> str:
    lines = [f"# Does pcp-buddy's gain grow with CPUs and memory? ({sweep})", ""]
    lines += [completeness_line(grid, n_stored), ""]
    lines += [UNITS, ""]
    lines += [f"- {line}" for line in verdict_lines(mixes, grid)]
    lines += ["", "## What it costs (upstream -> pcp-buddy, mean of the stationary pairs)", ""]
    lines += [f"- {line}" for line in _cost_lines(mixes)]
    lines += [
        "",
        "## How to read this",
        "",
        f"Gains are pcp-buddy against upstream on the very same workload and seed, from "
        f"`{results}` (simulator {version}). A slope is the change of the gain per doubling "
        f"of CPUs (memory held fixed) or of memory (CPUs held fixed), from one least-squares "
        f"fit per mix; its 95% "
        f"interval comes from a bootstrap over the seeds of each (CPUs, memory) cell. "
        f"supported: the interval is above 0; not supported: it is below "
        f"{100 * min_slope:g} pp per doubling (flat or shrinking); inconclusive: neither. "
        f"A gain is relative, a saving in % of upstream's own %sys (or throughput, or wait), "
        f"so a slope's pp are points of that saving, not points of CPU time: +3 pp per "
        f"doubling takes a 10% saving to 13%. The per-point table beside the steady state "
        f"gives each doubling's own change. "
        f"Spearman's rho is a second opinion. Only stationary pairs count: a point's window "
        f"starts after the warm-up its own series shows (MSER-5 and pcp->high settling) and "
        f"its half-widths come from batch means (allocator/sim/runlength.py); a curve with a pair "
        f"that is not stationary is inconclusive, whatever the rest say.",
        "",
        "## Steady state",
        "",
        *steady,
        "",
        "## The other headline metrics",
        "",
        "| mix | metric | with CPUs | slope, 95% CI | with memory | slope, 95% CI |",
        "|---|---|---|---|---|---|",
    ]
    for r in mixes:
        for metric, label in HEADLINE:
            cpu, mem = r.trends[metric]
            lines.append(f"| {r.mix} | {label} | {cpu.verdict} | {_ci(cpu)} | {mem.verdict} | "
                         f"{_ci(mem)} |")
    lines += ["", "## Upstream against pcp-buddy, machine by machine", "", *compare]
    lines += ["", "## Open design choices", "", *choice_lines]
    lines += ["", "## Figures", ""]
    for mix, paths in drawn.items():
        for p in paths:
            if p.suffix == ".png":
                lines.append(f"![{mix}: {p.stem}]({p.name})")
    return "\n".join(lines) + "\n"


def _ci(t: Trend) -> str:
    if t.verdict == "not swept" or not np.isfinite(t.slope):
        return "n/a"
    return f"{pp(t.slope)} [{pp(t.lo)}, {pp(t.hi)}]"
