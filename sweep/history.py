"""Nightly history, as asv publishes a benchmark's: each night's headline numbers kept, and a
static page that draws them across nights with the regressions marked.

`record` (called by `sweep nightly`) writes one Parquet file per night under
`<history>/<sweep>/`: per mix, machine (CPUs, memory, nodes) and series (each policy, and
"gain" for pcp-buddy against upstream), the mean over seeds of each headline metric of this
simulator version's points, with the night's time, simulator version, git revision, regression
verdict and whether a finding of that night names the row's mix and series. `write_page`
(`sweep report --history DIR`) reads them back and writes `history.md`, `history.html` and a
figure per mix (PNG and SVG): each metric against the nights, one line per machine and series,
a red ring on the nights whose verdict was a regression for that mix.
"""

from __future__ import annotations

import datetime as _dt
import io
import re
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from allocator.core import catalogue
from allocator.params.errors import SpecError
from allocator.params.units import format_size
from allocator.policies import RFC

from .db import connect
from .store import provenance, write_atomic, write_atomic_bytes
from .tables import display

# (series, metric, label): the numbers a night keeps, per machine
POLICY_METRICS = tuple((m.name, *display(m.name)) for m, _ in catalogue.headline())
GAIN_METRICS = tuple((g.name, f"{g.label} by {RFC}, %", 100.0) for _, g in catalogue.headline())
COLUMNS = ("night", "sim_version", "git_revision", "verdict", "mix", "cpus", "mem_bytes",
           "nodes", "series", "metric", "value", "stationary_frac", "regressed")


def _rows_of(results: str, sweep: str, version: str) -> list[dict[str, Any]]:
    con = connect(results)
    rows: list[dict[str, Any]] = []
    cols = ", ".join(f"avg({m})" for m, _, _ in POLICY_METRICS)
    for r in con.execute(
            f"SELECT mix, cpus, mem_bytes, coalesce(nodes, 1), policy, {cols}, "
            "avg(coalesce(stationary, false)::INT) FROM points WHERE sweep = ? AND "
            "sim_version = ? GROUP BY ALL", [sweep, version]).fetchall():
        for i, (metric, _, _) in enumerate(POLICY_METRICS):
            rows.append(dict(mix=r[0], cpus=r[1], mem_bytes=r[2], nodes=r[3], series=r[4],
                             metric=metric, value=r[5 + i], stationary_frac=r[-1]))
    cols = ", ".join(f"avg({m})" for m, _, _ in GAIN_METRICS)
    try:
        gains = con.execute(
            f"SELECT mix, cpus, mem_bytes, nodes, {cols}, avg(stationary::INT) FROM gains "
            "WHERE sweep = ? AND sim_version = ? GROUP BY ALL", [sweep, version]).fetchall()
    except duckdb.Error:  # a sweep of one policy has no gains
        gains = []
    for r in gains:
        for i, (metric, _, _) in enumerate(GAIN_METRICS):
            rows.append(dict(mix=r[0], cpus=r[1], mem_bytes=r[2], nodes=r[3], series="gain",
                             metric=metric, value=r[4 + i], stationary_frac=r[-1]))
    return rows


def _regressed(outcome: Any, mix: str, series: str) -> bool:
    """Whether a regression finding of the night names this mix and series ("sweep: mix
    series mem=..." as regress.compare writes it)."""
    for f in outcome.findings:
        if f.status == "regression" and re.search(rf": {re.escape(mix)} {re.escape(series)} ",
                                                  f.where + " "):
            return True
    return False


def record(history: str, results: str, sweep: str, version: str, outcome: Any,
           now: _dt.datetime | None = None) -> Path:
    """Append tonight's headline numbers; returns the file written (whole or not at all)."""
    when = (now or _dt.datetime.now(_dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    git = provenance()["git_revision"]
    rows = _rows_of(results, sweep, version)
    for r in rows:
        r.update(night=when, sim_version=version, git_revision=git, verdict=outcome.verdict,
                 regressed=_regressed(outcome, r["mix"], r["series"]))
    directory = Path(history) / sweep
    if directory.exists() and not directory.is_dir():
        raise SpecError(f"--history {history}: {directory} is not a directory")
    directory.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist([{c: r[c] for c in COLUMNS} for r in rows],
                                 schema=_schema())
    buf = io.BytesIO()
    pq.write_table(table, buf)
    path = directory / f"{when.replace(':', '')}-{git[:12]}.parquet"
    write_atomic_bytes(path, buf.getvalue())
    return path


def _schema() -> pa.Schema:
    return pa.schema([("night", pa.string()), ("sim_version", pa.string()),
                      ("git_revision", pa.string()), ("verdict", pa.string()),
                      ("mix", pa.string()), ("cpus", pa.int64()), ("mem_bytes", pa.int64()),
                      ("nodes", pa.int64()), ("series", pa.string()), ("metric", pa.string()),
                      ("value", pa.float64()), ("stationary_frac", pa.float64()),
                      ("regressed", pa.bool_())])


def read(history: str, sweep: str | None = None) -> tuple[str, dict[str, np.ndarray]]:
    """(sweep, columns) of every night stored for `sweep` (default: the only one)."""
    root = Path(history)
    if not root.is_dir():
        raise SpecError(f"--history {history}: no such directory")
    sweeps = sorted(p.name for p in root.iterdir() if p.is_dir() and any(p.glob("*.parquet")))
    if not sweeps:
        raise SpecError(f"--history {history}: no night recorded yet (sweep nightly --history)")
    if sweep is None:
        if len(sweeps) > 1:
            raise SpecError(f"--history {history} holds several sweeps ({', '.join(sweeps)}); "
                            "name one")
        sweep = sweeps[0]
    if sweep not in sweeps:
        raise SpecError(f"--history {history}: no night of sweep {sweep!r}; found: "
                        f"{', '.join(sweeps)}")
    files = sorted(str(p) for p in (root / sweep).glob("*.parquet"))
    table = pq.ParquetDataset(files).read().sort_by([("night", "ascending")])
    return sweep, {c: np.array(table.column(c).to_pylist()) for c in COLUMNS}


def write_page(history: str, sweep: str | None, out: Path) -> Path:
    """history.md, history.html and per mix a figure; returns history.md's path."""
    from . import figures  # matplotlib: loaded only when a page is asked for

    sweep, h = read(history, sweep)
    out.mkdir(parents=True, exist_ok=True)
    nights = list(dict.fromkeys(h["night"].tolist()))
    index = {n: i for i, n in enumerate(nights)}
    verdicts = {n: h["verdict"][h["night"] == n][0] for n in nights}
    lines = [f"# Nightly history: {sweep}", "",
             f"{len(nights)} night(s), {nights[0]} to {nights[-1]}; a red ring marks a night "
             "whose regression check flagged that mix and series.", "",
             "| night | simulator | git | verdict |", "|---|---|---|---|"]
    for n in nights:
        sel = h["night"] == n
        lines.append(f"| {n} | {h['sim_version'][sel][0]} | {h['git_revision'][sel][0][:12]} "
                     f"| {verdicts[n]} |")
    lines.append("")
    metrics = POLICY_METRICS + GAIN_METRICS
    for mix in sorted(set(h["mix"].tolist())):
        fig, axes = figures.panels(len(metrics), row_in=3.4)
        for ax, (metric, label, scale) in zip(axes, metrics, strict=True):
            sel = (h["mix"] == mix) & (h["metric"] == metric)
            keys = sorted({(int(c), int(m), int(n), s) for c, m, n, s in zip(
                h["cpus"][sel], h["mem_bytes"][sel], h["nodes"][sel], h["series"][sel],
                strict=True)})
            for c, m, n, s in keys:
                k = sel & (h["cpus"] == c) & (h["mem_bytes"] == m) & (h["nodes"] == n) & (
                    h["series"] == s)
                x = np.array([index[v] for v in h["night"][k]])
                y = h["value"][k].astype(float) * scale
                name = f"{s} {c}/{format_size(m)}" + (f"/{n}n" if n > 1 else "")
                ax.plot(x, y, marker="o", ms=3, label=name)
                bad = h["regressed"][k].astype(bool)
                ax.scatter(x[bad], y[bad], s=80, facecolors="none", edgecolors="red", zorder=3)
            ax.set_title(label)
            ax.set_xticks(range(len(nights)))
            ax.set_xticklabels([n[:10] for n in nights], rotation=45, ha="right")
            if keys and len(keys) <= 12:
                ax.legend()
        fig.suptitle(f"{sweep} / {mix}: headline numbers by night")
        figures.save(fig, out / f"history-{mix}")
        lines += [f"## {mix}", "", f"![{mix}](history-{mix}.png)", ""]
    text = "\n".join(lines) + "\n"
    md = out / "history.md"
    write_atomic(md, text)
    write_atomic(out / "history.html", figures.page(f"{sweep} history", text))
    return md
