"""A report over a partial store says so in its first line and on the curves it affects."""

from __future__ import annotations

from pathlib import Path

from sweep.report import write_report
from sweep.runner import make_plan, run_plan
from sweep.store import read_grid

from .tiny import tiny_scenario


def test_report_counts_missing_points_and_pairs(tmp_path):
    scen, scenario = tiny_scenario(tmp_path, "partial", seeds=2)
    results = str(tmp_path / "results")
    summary = run_plan(make_plan(scenario, results), results, executor="serial")
    assert summary.done == 8
    grid = read_grid(results, "partial")
    assert grid is not None and len(grid["points"]) == 8
    full = write_report(results, "partial", tmp_path / "full").path.read_text()
    assert f"Stored: 8 of 8 points of `{scen}`, 4 of 4 pairs complete, 0 of them stationary." \
        in full.splitlines()[2]
    assert "Incomplete" not in full
    # one pcp-buddy point lost: 7 of 8 points, 3 of 4 pairs
    gone = next(p for p in scenario.points if p.spec.policy == "pcp-buddy")
    for path in Path(results, "partial", "points").glob(f"{gone.param_id}.*.parquet"):
        path.unlink()
    partial = write_report(results, "partial", tmp_path / "partial").path.read_text()
    first = partial.splitlines()[2]
    assert "Stored: 7 of 8 points" in first and "3 of 4 pairs complete" in first
    assert "**Incomplete: 1 point missing**" in first
    assert "Incomplete curve: 7 of 8 points of this mix stored." in partial.split("\n## ")[0]
