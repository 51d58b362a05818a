"""Issue #16 finding 8: ids are canonical. One point spelt several ways (a mix parameter with
or without its unit, a cost, knob or mix parameter set to its default or left out) has one
param_id, one pair_id and one seed; a value off the default stays a point of its own; and a
point that was already spelt canonically keeps the id it had before canonical ids."""

from dataclasses import replace
from pathlib import Path

import pytest

from allocator import Spec, get_mix
from sweep import identity
from sweep.scenario import legacy_point, load_scenario, parse_scenario

BASE = {"cpus": 2, "mem": "256MiB", "mix": "filecache", "duration": "2ms"}
SAME = [  # each spelling of the one default filecache point
    {},
    {"mix.filecache.op_ns": "2us"},
    {"mix.filecache.op_ns": 2000},
    {"mix.filecache.file_frac": "0.3"},
    {"mix.filecache.file_frac": 0.3},
    {"mix.filecache.anon_pages": 2048},
    {"cost.zone_page_ns": 25},
    {"knob.thp": 1, "knob.watermark_scale_factor": 10},
    {"mem": 268435456, "duration": 2_000_000},
]


def _point(extra, policy="upstream"):
    data = {"sweep": {"name": "canon", "seeds": 1},
            "fixed": {**BASE, **extra, "policy": policy}}
    (point,) = parse_scenario(Path("canon.toml"), data).points
    return point


def _ids(extra, policy="upstream"):
    p = _point(extra, policy)
    return p.param_id, identity.pair_id(p.flat, p.replicate), p.flat["seed"]


@pytest.mark.parametrize("extra", SAME[1:], ids=lambda e: ",".join(f"{k}={v}" for k, v in
                                                                    e.items()))
def test_one_point_has_one_id_whatever_its_spelling(extra):
    assert _ids(extra) == _ids({})
    assert _ids(extra, "pcp-buddy")[1:] == _ids({}, "pcp-buddy")[1:]  # pair and seed


@pytest.mark.parametrize("extra", [{"mix.filecache.op_ns": "3us"}, {"cost.zone_page_ns": 26},
                                   {"knob.thp": 0}, {"mix.filecache.file_frac": 0.31}])
def test_a_value_off_the_default_is_another_point(extra):
    assert _ids(extra)[0] != _ids({})[0]


def test_the_canonical_flat_simulates_the_same_spec():
    """Leaving out a default changes nothing the simulator is handed."""
    spelt = {**BASE, "policy": "upstream", "seed": 5, "mix.filecache.op_ns": "2us",
             "knob.thp": 1, "cost.zone_page_ns": 25, "mix.filecache.file_frac": "0.5"}
    flat = Spec.from_flat(spelt).to_flat()
    short = Spec.from_flat(identity.canonical(flat))
    assert short.mix_params == {"file_frac": 0.5}
    assert dict(short.knobs) == {} and dict(short.costs) == {}
    mix = get_mix("filecache")
    full = Spec.from_flat(flat)
    assert mix.resolve_params(dict(full.mix_params)) == mix.resolve_params(
        dict(short.mix_params))


def test_an_already_canonical_point_keeps_its_old_id():
    """Stores written before canonical ids stay readable and current: a point with nothing at
    its default and no unit strings in its mix parameters has the id it always had (computed
    here the old way, from Spec.to_flat alone)."""
    extra = {"mix.filecache.op_ns": 3000, "knob.thp": 0}
    p = _point(extra)
    old_flat = Spec.from_flat({**BASE, **extra, "policy": "upstream", "seed": 0}).to_flat()
    old = {k: v for k, v in old_flat.items() if k != "seed"}
    assert identity.param_id(old, 0) == p.param_id


SPELT = """[sweep]
name = "spelt"
duration = "5ms"
[grid]
cpus = [1, 2]
policy = ["upstream", "pcp-buddy"]
[fixed]
mem = "256MiB"
mix = "page_fault1"
"mix.page_fault1.map_bytes" = "8MiB"
"knob.thp" = 1
"""


def test_a_store_from_before_canonical_ids_stays_current(tmp_path):
    """A store whose upstream points were written under the old ids (unit strings, a default
    spelt out): they count as stored, nothing is rerun, and the missing pcp-buddy partner runs
    under the old ids and on its partner's seed, so the two pair."""
    from sweep.db import connect
    from sweep.runner import make_plan, run_plan

    path = tmp_path / "spelt.toml"
    path.write_text(SPELT)
    scenario = load_scenario(path)
    assert all(p.legacy is not None and p.legacy.param_id != p.param_id
               and p.legacy.flat["seed"] != p.flat["seed"] for p in scenario.points)
    results = str(tmp_path / "results")
    old = replace(scenario, points=tuple(legacy_point(p) for p in scenario.points
                                         if p.spec.policy == "upstream"))
    assert run_plan(make_plan(old, results), results, executor="serial").done == 2

    plan = make_plan(scenario, results)
    assert plan.counts() == {"stored": 2, "missing": 2}
    assert {p.param_id for p in plan.to_run} == {
        p.legacy.param_id for p in scenario.points if p.spec.policy == "pcp-buddy"}
    assert run_plan(plan, results, executor="serial").done == 2
    assert make_plan(scenario, results).counts() == {"stored": 4}
    rows = connect(results).execute(
        "SELECT cpus, count(*), count(DISTINCT seed) FROM points GROUP BY cpus").fetchall()
    assert sorted(rows) == [(1, 2, 1), (2, 2, 1)]
    assert connect(results).execute("SELECT count(*) FROM gains").fetchone()[0] == 2


def test_a_new_store_takes_canonical_ids(tmp_path):
    from sweep.runner import make_plan

    path = tmp_path / "spelt.toml"
    path.write_text(SPELT)
    scenario = load_scenario(path)
    plan = make_plan(scenario, str(tmp_path / "results"))
    assert {p.param_id for p in plan.to_run} == {p.param_id for p in scenario.points}


def test_old_ids_survive_a_new_simulator_version_and_a_fresh_candidate(tmp_path):
    """A store written under the old ids by another simulator version: its points are stale,
    not missing, and rerun under the ids and seeds they had (so versions compare point by
    point); and a fresh store planned beside such a baseline (`sweep nightly`) takes the
    baseline's ids, so the two match."""
    from sweep.runner import make_plan, run_plan

    path = tmp_path / "spelt.toml"
    path.write_text(SPELT)
    scenario = load_scenario(path)
    results = str(tmp_path / "results")
    old = replace(scenario, points=tuple(legacy_point(p) for p in scenario.points))
    assert run_plan(make_plan(old, results), results, executor="serial").done == 4
    points = Path(results, "spelt", "points")
    for f in points.glob("*.parquet"):  # as if written by another simulator version
        pid, _, _ = f.name.partition(".")
        f.rename(f.with_name(f"{pid}.0123456789abcdef.parquet"))
    plan = make_plan(scenario, results, rerun_stale=True)
    assert plan.counts() == {"stale": 4}
    assert {p.param_id for p in plan.to_run} == {p.legacy.param_id for p in scenario.points}
    assert {p.flat["seed"] for p in plan.to_run} == {p.legacy.flat["seed"]
                                                     for p in scenario.points}
    fresh = make_plan(scenario, str(tmp_path / "tonight"), also=(results,))
    assert {p.param_id for p in fresh.to_run} == {p.legacy.param_id for p in scenario.points}
