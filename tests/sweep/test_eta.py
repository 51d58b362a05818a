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
