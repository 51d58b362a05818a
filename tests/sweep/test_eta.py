"""The ETA learns from finished points (runner.Eta): class means first, then per CPU."""

from __future__ import annotations

from pathlib import Path

import pytest

from sweep.runner import Eta, _estimate_point_s
from sweep.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_eta_charges_each_class_what_its_finished_points_took():
    points = list(load_scenario(str(SCENARIOS / "scaling-laptop.toml")).points)
    eta = Eta(points, workers=2)
    prior = sum(_estimate_point_s(p) for p in points) / 2
    assert eta.remaining_s() == pytest.approx(prior)
    # one kbuild/upstream point at 16 CPUs took 40 s: its class is charged 40 s, kbuild's
    # upstream points at other CPU counts 2.5 s per CPU, everything else the prior x (40 / prior)
    first = next(p for p in points if p.spec.mix == "kbuild" and p.spec.policy == "upstream"
                 and p.spec.cpus == 16)
    eta.done(first.point_id, 40.0)
    scale = 40.0 / _estimate_point_s(first)
    want = 0.0
    for p in points:
        if p is first:
            continue
        s = p.spec
        if (s.mix, s.policy) == ("kbuild", "upstream"):
            want += 40.0 if s.cpus == 16 else 2.5 * s.cpus
        else:
            want += _estimate_point_s(p) * scale
    assert eta.remaining_s() == pytest.approx(want / 2)
    eta.done(first.point_id, 99.0)  # a repeat changes nothing
    assert eta.remaining_s() == pytest.approx(want / 2)


def test_the_plan_learns_from_points_stored_before(tmp_path):
    from sweep.runner import LOAD_S, make_plan, run_plan

    from .tiny import tiny_scenario

    _, scenario = tiny_scenario(tmp_path)
    results = str(tmp_path / "results")
    fresh = make_plan(scenario, results)
    assert fresh.history == {}
    run_plan(fresh, results, executor="serial")
    again = make_plan(scenario, results, force=True)
    assert set(again.history) == {p.param_id for p in scenario.points}
    walls = sum(h[3] for h in again.history.values())
    assert again.estimate_s(2) == pytest.approx(walls / 2 + LOAD_S * 2)


def test_a_new_sweep_learns_from_the_other_sweeps_of_its_root(tmp_path):
    """Issue #18: with none of its own points stored, a sweep's plan is charged what the same
    (policy, mix, CPUs) classes took in the other sweeps, not the cap of every point."""
    from sweep.commands.run import plan_table
    from sweep.runner import make_plan, run_plan

    from .tiny import tiny_scenario

    _, old = tiny_scenario(tmp_path, "old")
    results = str(tmp_path / "results")
    run_plan(make_plan(old, results), results, executor="serial")
    _, new = tiny_scenario(tmp_path, "new", seeds=2)  # other seeds: other param_ids
    plan = make_plan(new, results)
    assert plan.history_from == "other sweeps" and len(plan.history) == len(old.points)
    walls = {(h[0], h[2]): h[3] for h in plan.history.values()}
    want = sum(walls[(p.spec.policy, p.spec.cpus)] for p in plan.to_run
               if p.param_id not in plan.history)
    want += sum(plan.history[p.param_id][3] for p in plan.to_run if p.param_id in plan.history)
    assert plan.eta(2).remaining_s() == pytest.approx(want / 2)
    from rich.console import Console

    console = Console(width=200, record=True)
    console.print(plan_table(plan, 2))
    assert "stored point(s) of other sweeps" in console.export_text()
