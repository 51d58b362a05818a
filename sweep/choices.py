"""The report's "Open design choices" section: which conclusions hold whatever the patch does.

A sweep that makes a knob an axis (`knob.high_growth = [0, 1]`, scenarios/rfc-choices.toml)
answers, per setting, what the headline gains are and whether the %sys gain grows with CPUs.
A conclusion (the sign of a mean gain, a trend verdict) that is the same under every setting of
every swept knob holds whatever the patch chooses; one that changes depends on the knob named.
The main verdicts of such a sweep use the default setting of every swept knob (`default_sql`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from allocator.core import catalogue
from allocator.policies import RFC

from .analysis import trends
from .identity import flat_defaults

GAINS = tuple((g.name, g.label) for _, g in catalogue.headline())  # the verdicts' gains


def knob_defaults() -> dict[str, int]:
    """Column name (knob_<name>) -> default, for the engine's and every policy's knobs."""
    return {f"knob_{k[5:]}": v for k, v in flat_defaults().items() if k.startswith("knob.")}


def swept_knobs(con: Any, sweep: str, version: str) -> dict[str, list[int]]:
    """Knob columns with more than one value among the sweep's points: column -> values."""
    cols = [r[0] for r in con.execute("DESCRIBE SELECT * FROM points").fetchall()]
    defaults = knob_defaults()
    out = {}
    for col in cols:
        if col not in defaults:
            continue
        rows = con.execute(
            f'SELECT DISTINCT coalesce("{col}", ?) FROM points WHERE sweep = ? AND '
            "sim_version = ? ORDER BY 1", [defaults[col], sweep, version]).fetchall()
        if len(rows) > 1:
            out[col] = [int(r[0]) for r in rows]
    return out


def default_sql(swept: dict[str, list[int]]) -> str:
    """A condition on `gains` keeping the pairs run at every swept knob's default."""
    if not swept:
        return "TRUE"
    defaults = knob_defaults()
    cond = " AND ".join(f'coalesce(p."{c}", {defaults[c]}) = {defaults[c]}' for c in swept)
    return (f"pair_id IN (SELECT p.pair_id FROM points p WHERE p.policy = '{RFC}' "
            f"AND {cond})")


@dataclass
class Setting:
    knob: str
    value: int
    mix: str
    means: dict[str, float]  # gain -> mean over the setting's pairs
    cpu_verdict: str  # the %sys gain's trend with CPUs
    n: int


def settings(con: Any, sweep: str, version: str, min_slope: float) -> list[Setting]:
    """Per swept knob, setting and mix (the other swept knobs at their defaults): the mean
    headline gains and the verdict on the %sys gain's growth with CPUs."""
    swept = swept_knobs(con, sweep, version)
    defaults = knob_defaults()
    out = []
    for col, values in swept.items():
        others = {c: v for c, v in swept.items() if c != col}
        cond = " AND ".join([f'coalesce(p."{c}", {defaults[c]}) = {defaults[c]}'
                             for c in others] or ["TRUE"])
        rows = con.execute(
            f'SELECT g.mix, g.cpus, g.mem_bytes, coalesce(p."{col}", {defaults[col]}) AS v, '
            + ", ".join(f"g.{m}" for m, _ in GAINS)
            + " FROM gains g JOIN points p ON p.sweep = g.sweep AND p.sim_version = "
            f"g.sim_version AND p.pair_id = g.pair_id AND p.policy = '{RFC}' "
            f"WHERE g.sweep = ? AND g.sim_version = ? AND {cond}", [sweep, version]).fetchall()
        for mix in sorted({r[0] for r in rows}):
            for value in values:
                sel = [r for r in rows if r[0] == mix and r[3] == value]
                if not sel:
                    continue
                arr = np.array([r[1:3] + r[4:] for r in sel], dtype=float)
                means = {m: float(np.nanmean(arr[:, 2 + i])) for i, (m, _) in enumerate(GAINS)}
                cpu, _ = trends(np.log2(arr[:, 0]), np.log2(arr[:, 1]), arr[:, 2], min_slope)
                out.append(Setting(col.removeprefix("knob_"), value, mix, means, cpu.verdict,
                                   len(sel)))
    return out


def section(found: list[Setting]) -> list[str]:
    """Markdown lines: a table per setting, then what holds under every setting."""
    if not found:
        return ["No design choice is swept in this sweep (`scenarios/rfc-choices.toml` sweeps "
                "them): every verdict above is under the defaults of "
                "`allocator/policies/pcp_buddy/config.py`."]
    defaults = knob_defaults()
    lines = ["Each knob swept with the others at their defaults; the verdicts above use the "
             "defaults. A conclusion that changes with a setting depends on that choice.", "",
             "| knob | setting | mix | " + " | ".join(label for _, label in GAINS)
             + " | %sys gain grows with CPUs | pairs |",
             "|---|---|---|" + "---:|" * len(GAINS) + "---|---:|"]
    for s in found:
        mark = " (default)" if defaults[f"knob_{s.knob}"] == s.value else ""
        cells = " | ".join(f"{100 * s.means[m]:+.1f}%" for m, _ in GAINS)
        lines.append(f"| {s.knob} | {s.value}{mark} | {s.mix} | {cells} | {s.cpu_verdict} | "
                     f"{s.n} |")
    lines += [""]
    for mix in sorted({s.mix for s in found}):
        of_mix = [s for s in found if s.mix == mix]
        for m, label in GAINS:
            signs = {np.sign(round(s.means[m], 4)) for s in of_mix}
            if len(signs) == 1:
                word = {1.0: "positive", -1.0: "negative", 0.0: "zero"}[signs.pop()]
                lines.append(f"- {mix}: {label} is {word} under every setting: holds whatever "
                             "the patch chooses.")
            else:
                knobs = sorted({s.knob for s in of_mix
                                if np.sign(round(s.means[m], 4)) != np.sign(round(
                                    _default_of(of_mix, s.knob).means[m], 4))})
                lines.append(f"- {mix}: the sign of {label} depends on "
                             f"{', '.join(knobs) or 'the settings'}.")
        verdicts = {s.cpu_verdict for s in of_mix}
        if len(verdicts) == 1:
            lines.append(f"- {mix}: the %sys gain's growth with CPUs is "
                         f"'{verdicts.pop()}' under every setting.")
        else:
            knobs = sorted({s.knob for s in of_mix
                            if s.cpu_verdict != _default_of(of_mix, s.knob).cpu_verdict})
            lines.append(f"- {mix}: whether the %sys gain grows with CPUs depends on "
                         f"{', '.join(knobs) or 'the settings'}.")
    return lines


def _default_of(of_mix: list[Setting], knob: str) -> Setting:
    default = knob_defaults()[f"knob_{knob}"]
    for s in of_mix:
        if s.knob == knob and s.value == default:
            return s
    return next(s for s in of_mix if s.knob == knob)
