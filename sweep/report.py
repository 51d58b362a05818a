"""`sweep report`: scaling curves, plots, and the verdict on the RFC's claim, per mix.

Reads the `gains` and `points` views (db.py), decides with analysis.trends, and writes
`report.md` and `index.html` (the verdict first), and per mix two figures in PNG and SVG: the
gains against CPUs and against memory with 95% bands, and the absolute numbers of both
policies (%sys, zone->lock wait) beside the costs (unusable index at order 9, free pageblocks,
pages held in PCPs).
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: smaller, searchable SVGs
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from allocator import SIM_VERSION  # noqa: E402
from allocator.errors import SpecError  # noqa: E402
from allocator.units import format_size  # noqa: E402

from . import choices  # noqa: E402
from .analysis import Trend, trends  # noqa: E402
from .db import connect  # noqa: E402
from .store import write_atomic  # noqa: E402

HEADLINE = (
    ("sys_gain", "%sys saved", "less time in the allocator"),
    ("throughput_gain", "throughput gained", "more operations per second"),
    ("zone_lock_wait_gain", "zone->lock wait saved", "less zone->lock waiting"),
)
COSTS = (
    ("unusable_index_order9", "unusable index, order 9"),
    ("free_pageblocks", "free pageblocks"),
    ("pcp_pages_mean", "pages held in PCPs (mean)"),
)
ABSOLUTE = (("sys_frac", "%sys (allocator share)"), ("zone_lock_wait_ns", "zone->lock wait (ns)"))


@dataclass
class MixResult:
    mix: str
    trends: dict[str, tuple[Trend, Trend]]  # metric -> (with CPUs, with memory)
    costs: dict[str, tuple[float, float]]  # metric -> (upstream mean, pcp-buddy mean)
    n_pairs: int
    by_mem: dict[int, Trend]  # memory size -> the %sys gain's trend with CPUs at that size


def _fetch(con: Any, sql: str, params: list[Any]) -> dict[str, np.ndarray]:
    rel = con.execute(sql, params)
    cols = [d[0] for d in rel.description]
    rows = rel.fetchall()
    return {c: np.array([r[i] for r in rows]) for i, c in enumerate(cols)}


def analyse(con: Any, sweep: str, version: str, min_slope: float,
            where: str = "TRUE") -> list[MixResult]:
    """The verdicts, from the pairs that satisfy `where` (choices.default_sql: the defaults of
    the design choices a sweep varies)."""
    metrics = ", ".join(m for m, _, _ in HEADLINE)
    g = _fetch(con, f"SELECT mix, cpus, mem_bytes, {metrics} FROM gains "
               f"WHERE sweep = ? AND sim_version = ? AND {where}", [sweep, version])
    if not len(g.get("mix", [])):
        raise SpecError(f"sweep {sweep!r} has no pairs of upstream and pcp-buddy points")
    cost_cols = ", ".join(f"avg(upstream_{c}), avg(rfc_{c})" for c, _ in COSTS)
    out = []
    for mix in sorted(set(g["mix"].tolist())):
        sel = g["mix"] == mix
        x1 = np.log2(g["cpus"][sel].astype(float))
        x2 = np.log2(g["mem_bytes"][sel].astype(float))
        tr = {m: trends(x1, x2, g[m][sel].astype(float), min_slope) for m, _, _ in HEADLINE}
        mems = g["mem_bytes"][sel]
        by_mem = {int(m): trends(x1[mems == m], x2[mems == m],
                                 g["sys_gain"][sel][mems == m].astype(float), min_slope)[0]
                  for m in np.unique(mems)}
        row = con.execute(f"SELECT {cost_cols} FROM gains WHERE sweep = ? AND sim_version = ? "
                          f"AND mix = ? AND {where}", [sweep, version, mix]).fetchone()
        costs = {c: (row[2 * i], row[2 * i + 1]) for i, (c, _) in enumerate(COSTS)}
        out.append(MixResult(mix=mix, trends=tr, costs=costs, n_pairs=int(sel.sum()),
                             by_mem=by_mem))
    return out


def _pp(v: float) -> str:
    return f"{100 * v:+.2f} pp"


def verdict_lines(results: list[MixResult]) -> list[str]:
    """The report's first lines: per mix, the RFC's claim on the headline metric."""
    lines = []
    for r in results:
        cpu, mem = r.trends["sys_gain"]
        per_mem = ""
        if len(r.by_mem) > 1:
            per_mem = " At each memory size, with CPUs: " + ", ".join(
                f"{format_size(m)} {t.verdict} ({_pp(t.slope)})" for m, t in r.by_mem.items()
            ) + "."
        lines.append(
            f"**{r.mix}**: %sys gain grows with CPUs: **{cpu.verdict}** "
            f"({_describe(cpu)}); with memory: **{mem.verdict}** ({_describe(mem)}).{per_mem} "
            f"[{r.n_pairs} paired points]"
        )
    return lines


def _describe(t: Trend) -> str:
    if t.verdict == "not swept":
        return "one value only"
    rho = f"Spearman rho {t.rho:+.2f}, p {t.p:.2g}" if np.isfinite(t.rho) else "gain constant"
    if t.hi - t.lo < 1e-9:  # nothing to resample: the mix drew nothing random at these settings
        rho += "; every seed gave the same gain, the interval shows no seed noise"
    return f"slope {_pp(t.slope)} per doubling, 95% CI [{_pp(t.lo)}, {_pp(t.hi)}]; {rho}"


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
        lines.append(f"{r.mix}: " + "; ".join(parts))
    return lines


def _curves(con: Any, sweep: str, version: str, mix: str, metric: str) -> dict[str, np.ndarray]:
    return _fetch(con, "SELECT mem_bytes, cpus, mean, ci95_lo, ci95_hi FROM curves "
                  "WHERE sweep = ? AND sim_version = ? AND mix = ? AND metric = ? "
                  "ORDER BY mem_bytes, cpus", [sweep, version, mix, metric])


def _band(ax: Any, x: np.ndarray, c: dict[str, np.ndarray], sel: np.ndarray, label: str) -> None:
    order = np.argsort(x[sel])
    xs = x[sel][order]
    ax.plot(xs, 100 * c["mean"][sel][order], marker="o", ms=3, label=label)
    lo, hi = c["ci95_lo"][sel][order], c["ci95_hi"][sel][order]
    if np.isfinite(lo.astype(float)).all():
        ax.fill_between(xs, 100 * lo.astype(float), 100 * hi.astype(float), alpha=0.2)


def plot_gains(con: Any, sweep: str, version: str, mix: str, out: Path) -> list[Path]:
    fig, axes = plt.subplots(2, len(HEADLINE), figsize=(5 * len(HEADLINE), 7), squeeze=False)
    for col, (metric, label, _) in enumerate(HEADLINE):
        c = _curves(con, sweep, version, mix, metric)
        if not len(c["cpus"]):
            continue
        ax = axes[0][col]
        for mem in np.unique(c["mem_bytes"]):
            _band(ax, c["cpus"].astype(float), c, c["mem_bytes"] == mem, format_size(mem))
        _log2_axis(ax)
        ax.set_xlabel("CPUs")
        ax.set_ylabel(f"{label} (%)")
        ax.axhline(0, color="grey", lw=0.8)
        ax.legend(title="memory", fontsize=7, loc="upper left")
        ax = axes[1][col]
        for cpus in np.unique(c["cpus"]):
            _band(ax, c["mem_bytes"].astype(float) / 2**30, c, c["cpus"] == cpus, f"{cpus}")
        _log2_axis(ax)
        ax.set_xlabel("memory (GiB)")
        ax.set_ylabel(f"{label} (%)")
        ax.axhline(0, color="grey", lw=0.8)
        ax.legend(title="CPUs", fontsize=7, ncol=2, loc="upper left")
    fig.suptitle(f"{sweep} / {mix}: pcp-buddy against upstream, mean and 95% CI over seeds")
    return _save(fig, out / f"{mix}-gains")


def plot_absolute(con: Any, sweep: str, version: str, mix: str, out: Path) -> list[Path]:
    cols = [m for m, _ in ABSOLUTE] + [c for c, _ in COSTS]
    labels = [lab for _, lab in ABSOLUTE] + [lab for _, lab in COSTS]
    data = _fetch(con, f"SELECT policy, cpus, {', '.join(f'avg({c}) AS {c}' for c in cols)} "
                  "FROM points WHERE sweep = ? AND sim_version = ? AND mix = ? "
                  "GROUP BY policy, cpus ORDER BY policy, cpus", [sweep, version, mix])
    fig, axes = plt.subplots(1, len(cols), figsize=(4 * len(cols), 3.6), squeeze=False)
    for ax, c, lab in zip(axes[0], cols, labels, strict=True):
        for policy in np.unique(data["policy"]):
            sel = data["policy"] == policy
            ax.plot(data["cpus"][sel], data[c][sel].astype(float), marker="o", ms=3,
                    label=policy)
        _log2_axis(ax)
        ax.set_xlabel("CPUs")
        ax.set_title(lab, fontsize=9)
        ax.legend(fontsize=7, loc="best" if len(data["cpus"]) < 64 else "upper left")
    fig.suptitle(f"{sweep} / {mix}: both policies, mean over memory sizes and seeds")
    return _save(fig, out / f"{mix}-absolute")


def _log2_axis(ax: Any) -> None:
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))


def _save(fig: Any, stem: Path) -> list[Path]:
    fig.tight_layout()
    paths = []
    for ext in ("png", "svg"):
        path = stem.with_suffix(f".{ext}")
        tmp = path.with_name(f".{path.name}.tmp")
        fig.savefig(tmp, format=ext, dpi=100)
        os.replace(tmp, path)
        paths.append(path)
    plt.close(fig)
    return paths


def write_report(results: str, sweep: str | None, out: Path, min_slope: float = 0.005,
                 version: str | None = None) -> Path:
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
    out.mkdir(parents=True, exist_ok=True)
    swept = choices.swept_knobs(con, sweep, version)
    mixes = analyse(con, sweep, version, min_slope, choices.default_sql(swept))
    figures = {r.mix: plot_gains(con, sweep, version, r.mix, out)
               + plot_absolute(con, sweep, version, r.mix, out) for r in mixes}
    md = _markdown(sweep, version, results, mixes, figures, min_slope,
                   choices.section(choices.settings(con, sweep, version, min_slope)))
    write_atomic(out / "report.md", md)
    write_atomic(out / "index.html", _html(md))
    return out / "report.md"


def _markdown(sweep: str, version: str, results: str, mixes: list[MixResult], figures: dict,
              min_slope: float, choice_lines: list[str]) -> str:
    lines = [f"# Does pcp-buddy's gain grow with CPUs and memory? ({sweep})", ""]
    lines += [f"- {line}" for line in verdict_lines(mixes)]
    lines += ["", "## What it costs", ""]
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
        f"Spearman's rho is a second opinion.",
        "",
        "## The other headline metrics",
        "",
        "| mix | metric | with CPUs | slope, 95% CI | with memory | slope, 95% CI |",
        "|---|---|---|---|---|---|",
    ]
    for r in mixes:
        for metric, label, _ in HEADLINE:
            cpu, mem = r.trends[metric]
            lines.append(f"| {r.mix} | {label} | {cpu.verdict} | {_ci(cpu)} | {mem.verdict} | "
                         f"{_ci(mem)} |")
    lines += ["", "## Open design choices", "", *choice_lines]
    lines += ["", "## Figures", ""]
    for mix, paths in figures.items():
        for p in paths:
            if p.suffix == ".png":
                lines.append(f"![{mix}: {p.stem}]({p.name})")
    return "\n".join(lines) + "\n"


def _ci(t: Trend) -> str:
    if t.verdict == "not swept":
        return "n/a"
    return f"{_pp(t.slope)} [{_pp(t.lo)}, {_pp(t.hi)}]"


def _html(md: str) -> str:
    """A small static page from the report's Markdown (headings, bullets, tables, images)."""
    body = []
    in_table = False
    for line in md.splitlines():
        if line.startswith("|"):
            cells = [html.escape(c.strip()) for c in line.strip("|").split("|")]
            if set("".join(cells)) <= set("-"):
                continue
            if not in_table:
                body.append("<table>")
                in_table = True
            body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
            continue
        if in_table:
            body.append("</table>")
            in_table = False
        if line.startswith("# "):
            body.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line.startswith("## "):
            body.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif line.startswith("- "):
            text = html.escape(line[2:]).replace("**", "")
            body.append(f"<p>&bull; {text}</p>")
        elif line.startswith("!["):
            src = line[line.index("(") + 1 : -1]
            body.append(f'<p><img src="{html.escape(src)}" style="max-width:100%"></p>')
        elif line.strip():
            body.append(f"<p>{html.escape(line)}</p>")
    if in_table:
        body.append("</table>")
    style = "body{font-family:sans-serif;max-width:1100px;margin:auto}td{padding:2px 8px}"
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>pcp-sweep report"
            f"</title><style>{style}</style></head><body>{''.join(body)}</body></html>\n")
