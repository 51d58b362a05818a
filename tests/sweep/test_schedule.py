"""The dispatch order (runner.schedule): pairs together, a coarse pass over the grid first."""

from __future__ import annotations

from pathlib import Path

from sweep.identity import pair_id
from sweep.runner import make_plan
from sweep.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_pairs_run_together_and_every_mix_ends_first(tmp_path):
    scenario = load_scenario(str(SCENARIOS / "scaling-laptop.toml"))
    order = make_plan(scenario, str(tmp_path)).to_run
    assert sorted(p.point_id for p in order) == sorted(p.point_id for p in scenario.points)
    # the grid lists policies before mixes: in grid order a pair's points are far apart
    grid = [pair_id(p.flat, p.replicate) for p in scenario.points]
    assert grid[0] != grid[1]
    keys = [pair_id(p.flat, p.replicate) for p in order]
    for i in range(0, len(keys), 2):  # both policies of each pair, back to back
        assert keys[i] == keys[i + 1] and {order[i].spec.policy, order[i + 1].spec.policy} == {
            "upstream", "pcp-buddy"}
    # the first pass: each mix at its smallest and largest machine, first replicate
    mixes = {p.spec.mix for p in scenario.points}
    coarse = {(p.spec.mix, p.spec.cpus, p.spec.mem_bytes) for p in order[: 4 * len(mixes)]}
    for mix in mixes:
        assert (mix, 4, 8 << 30) in coarse and (mix, 16, 32 << 30) in coarse
    assert all(p.replicate == 0 for p in order[: len(order) // 2])
    assert all(p.replicate == 1 for p in order[len(order) // 2:])
