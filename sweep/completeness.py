"""How much of a scenario's grid a sweep has stored: the first line of `sweep report`.

`sweep run` records the grid it expanded (store.write_grid: each point's param_id, pair_id,
policy and mix); the report counts, at one simulator version, the points of that grid that are
stored, the pairs whose points all are, and how many of those are stationary, per mix too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Completeness:
    """What of the scenario's grid (store.read_grid) is stored at this simulator version."""

    scenario: str
    points: int
    stored: int
    pairs: int
    pairs_stored: int
    pairs_stationary: int
    by_mix: dict[str, tuple[int, int]]  # mix -> (points stored, points in the grid)


def completeness(con: Any, grid: dict | None, sweep: str, version: str) -> Completeness | None:
    if grid is None:
        return None
    rows = con.execute("SELECT param_id, coalesce(stationary, false) FROM points "
                       "WHERE sweep = ? AND sim_version = ?", [sweep, version]).fetchall()
    stored = dict(rows)
    points = grid["points"]
    pairs: dict[str, list[str]] = {}
    by_mix: dict[str, list[int]] = {}
    for p in points:
        pairs.setdefault(p["pair_id"], []).append(p["param_id"])
        have = by_mix.setdefault(p["mix"], [0, 0])
        have[0] += p["param_id"] in stored
        have[1] += 1
    paired = {k: v for k, v in pairs.items() if len(v) > 1}
    done = [v for v in paired.values() if all(pid in stored for pid in v)]
    return Completeness(
        scenario=grid.get("scenario", "?"), points=len(points),
        stored=sum(1 for p in points if p["param_id"] in stored), pairs=len(paired),
        pairs_stored=len(done), pairs_stationary=sum(1 for v in done if all(stored[p] for p in v)),
        by_mix={m: (a, b) for m, (a, b) in sorted(by_mix.items())})


def completeness_line(c: Completeness | None, n_stored: int) -> str:
    """The report's first line: how much of the grid the verdicts stand on."""
    if c is None:
        return (f"Grid unknown: this store has no grid.json (`sweep run` writes it); "
                f"{n_stored} points stored.")
    line = (f"Stored: {c.stored} of {c.points} points of `{c.scenario}`, {c.pairs_stored} of "
            f"{c.pairs} pairs complete, {c.pairs_stationary} of them stationary.")
    if c.stored < c.points:
        missing = c.points - c.stored
        line += (f" **Incomplete: {missing} point{'s' if missing != 1 else ''} missing**; "
                 f"the verdicts stand on "
                 f"the stored points only (`sweep run {c.scenario}` does the rest).")
    return line
