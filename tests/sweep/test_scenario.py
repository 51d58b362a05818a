"""Scenario files: expansion, identities, seeds, and a corpus of malformed files, each refused
with one line naming the file, the key and what was expected."""

from pathlib import Path

import pytest

from allocator import SpecError
from sweep.scenario import load_scenario, parse_scenario

HERE = Path(__file__).parent
BAD = HERE / "bad_scenarios"
SCENARIOS = HERE.parents[1] / "scenarios"

EXPECTED = {
    "unknown_table.toml": "[grids]: unknown table",
    "no_sweep.toml": "[sweep]: missing",
    "bad_name.toml": "[sweep] name: expected letters",
    "unknown_sweep_key.toml": "[sweep] seeeds: unknown key",
    "bad_seeds.toml": "[sweep] seeds: expected a count",
    "unknown_axis.toml": "[grid] cpu: unknown key",
    "scalar_axis.toml": "[grid] cpus: expected a non-empty list",
    "bad_mix_param.toml": "mix purge has no parameter 'purgers'",
    "unknown_mix_in_key.toml": "unknown mix 'nope'",
    "bad_value.toml": "cpus=0: cpus must be between 1 and 4096",
    "bad_policy.toml": "policy=nope: unknown policy 'nope'",
    "zip_lengths.toml": "[[zip]] #1: all lists must have the same length",
    "zip_overlap.toml": "[[zip]] #1 mix: already an axis",
    "exclude_not_axis.toml": "[[exclude]] #1 mem: not an axis",
    "empty_grid.toml": "the grid is empty",
    "not_toml.toml": "not valid TOML",
    "bad_knob.toml": "unknown knob 'knob.nope'",
    "seed_in_grid.toml": "[grid] seed: seeds are set in [sweep]",
    "bad_duration.toml": "duration must not be negative",
    "huge_grid.toml": "[grid]: 1,000,000 points (before exclusions), more than the limit of "
                      "100,000 (--max-points)",
    "not_utf8.toml": "not UTF-8 text (byte 19)",
    "duration_beyond_a_day.toml": "at most 86400s (a simulated day)",
    "cost_infinite.toml": "cost.zone_lock_ns must be a whole number of nanoseconds from 0",
    "cap_below_warmup.toml": "shorter than duration_cap",
    "cost_negative.toml": "cost.zone_page_ns must be a whole number of nanoseconds from 0",
    "cpus_string.toml": "cpus must be an integer, got 'many'",
    "cpus_too_many.toml": "cpus must be between 1 and 4096, got 5000",
    "duplicate_key.toml": "not valid TOML: Cannot overwrite a value",
    "duration_cap_without_auto.toml": "duration_cap applies only with duration = 'auto'",
    "empty_policy_list.toml": "[grid] policy: expected a non-empty list",
    "exclude_not_table.toml": "[sweep] exclude: unknown key",
    "fixed_not_table.toml": "[sweep] fixed: unknown key",
    "knob_bad_type.toml": "knob.watermark_scale_factor must be a number, got 'abc'",
    "mem_bad_unit.toml": "mem must be a size such as 512MiB",
    "mem_not_pageblocks.toml": "mem must be between 64MiB and 16TiB, got 1000000 bytes",
    "mem_zero.toml": "mem must be between 64MiB and 16TiB, got 0 bytes",
    "mix_param_wrong_mix.toml": "mix kbuild has no parameter 'nope'",
    "precision_big.toml": "precision must be a relative half-width between 0 and 1",
    "sample_zero.toml": "sample_interval must be positive",
    "seeds_zero.toml": "[sweep] seeds: expected a count >= 1",
    "unknown_fixed_key.toml": "[fixed] memory: unknown key",
    "unknown_mix.toml": "unknown mix 'nope'",
    "warmup_longer.toml": "shorter than duration (2000000ns)",
    "zip_one_key.toml": "[[zip]] #1: expected at least two keys",
    "unknown_kernel.toml": "kernel=v6.9: unknown kernel 'v6.9'; known kernels: v6.6",
    "revert_not_in_kernel.toml": "revert 51a755c56dc0: v6.6 does not have it",
    "revert_bad_type.toml": "revert must be a list of commit ids or one string of them, got 51",
}


def test_the_corpus_is_complete():
    assert {p.name for p in BAD.glob("*.toml")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_malformed_scenario_is_one_line_naming_file_and_key(name):
    with pytest.raises(SpecError) as info:
        load_scenario(BAD / name)
    message = str(info.value)
    assert message.startswith(str(BAD / name))
    assert EXPECTED[name] in message
    assert "\n" not in message


def test_missing_file():
    with pytest.raises(SpecError, match="no such scenario file"):
        load_scenario(BAD / "nope.toml")


def base(**tables):
    return {"sweep": {"name": "t", "seeds": 2, "duration": "2ms"},
            "fixed": {"mem": "256MiB"}, **tables}


def test_grid_zip_exclude_expand_to_the_expected_points():
    sc = parse_scenario(Path("t.toml"), base(
        grid={"cpus": [2, 4, 8], "policy": ["upstream", "pcp-buddy"]},
        zip=[{"mix": ["kbuild", "page_fault1"], "duration": ["3ms", "2ms"]}],
        exclude=[{"cpus": 8, "mix": "kbuild"}],
    ))
    combos = {(p.spec.cpus, p.spec.policy, p.spec.mix, p.spec.duration_ns) for p in sc.points}
    assert len(combos) == 3 * 2 * 2 - 2  # (8, kbuild) excluded for both policies
    assert (8, "upstream", "kbuild", 3_000_000) not in combos
    assert (8, "upstream", "page_fault1", 2_000_000) in combos
    assert (2, "pcp-buddy", "kbuild", 3_000_000) in combos
    assert len(sc.points) == 2 * len(combos)  # two replicates
    assert len({p.point_id for p in sc.points}) == len(sc.points)


def test_mix_parameters_apply_to_their_mix_only():
    sc = parse_scenario(Path("t.toml"), base(
        grid={"mix": ["kbuild", "purge"]},
        fixed={"mem": "256MiB", "cpus": 4, "mix.purge.purger_cpus": 2},
    ))
    for p in sc.points:
        assert ("mix.purge.purger_cpus" in p.flat) == (p.spec.mix == "purge")


def test_ids_and_seeds_are_stable_and_shared_across_policies():
    doc = base(grid={"cpus": [2, 4], "policy": ["upstream", "pcp-buddy"]},
               fixed={"mem": "256MiB", "mix": "kbuild"})
    a = parse_scenario(Path("t.toml"), doc)
    b = parse_scenario(Path("t.toml"), doc)
    assert [p.point_id for p in a.points] == [p.point_id for p in b.points]
    seeds = {}
    for p in a.points:
        seeds.setdefault((p.spec.cpus, p.replicate), set()).add(p.spec.seed)
    # common random numbers: the two policies get the same seed on each point and replicate
    assert all(len(s) == 1 for s in seeds.values())
    # but replicates and workloads differ
    assert len({next(iter(s)) for s in seeds.values()}) == len(seeds)


def test_kernel_and_revert_are_axes_and_v7_0_keeps_its_ids():
    """A kernel axis runs the same workload (seed) on each release; the v7.0 point is the
    point a scenario without the key has, ids and all; revert lists are spelt once."""
    fixed = {"mem": "256MiB", "cpus": 4}
    sc = parse_scenario(Path("t.toml"), base(
        grid={"kernel": ["v6.6", "v7.0"], "revert": [[], ["C5CE37DD3564", "9adeb58feed4"]]},
        fixed={**fixed, "mix": "kbuild"},
        exclude=[{"kernel": "v6.6", "revert": "9adeb58feed4,c5ce37dd3564"}]))
    first = [p for p in sc.points if p.replicate == 0]
    by = {(p.axes["kernel"], p.axes["revert"]): p for p in first}
    assert set(by) == {("v6.6", ""), ("v7.0", ""), ("v7.0", "9adeb58feed4,c5ce37dd3564")}
    plain = parse_scenario(Path("t.toml"), base(grid={"mix": ["kbuild"]}, fixed=fixed)).points[0]
    assert by[("v7.0", "")].point_id == plain.point_id
    assert by[("v6.6", "")].spec.kernel == "v6.6" and "kernel" in by[("v6.6", "")].flat
    assert len({p.spec.seed for p in first}) == 1  # common random numbers
    assert by[("v7.0", "9adeb58feed4,c5ce37dd3564")].spec.reverts == ("9adeb58feed4",
                                                                      "c5ce37dd3564")


def test_shipped_scenarios_are_valid():
    smoke = load_scenario(SCENARIOS / "smoke.toml")
    scaling = load_scenario(SCENARIOS / "scaling.toml")
    assert len(smoke.points) <= 16
    cpus = {p.spec.cpus for p in scaling.points}
    assert cpus == {8, 16, 32, 64, 128, 224, 256, 512, 1024}
    # machines as they are built: one node, 2 x 112 and 8 x 128 CPUs
    shapes = {(p.spec.cpus, p.spec.nodes) for p in scaling.points}
    assert {(224, 2), (1024, 8), (1024, 1)} <= shapes and len(shapes) == 10
    numa = load_scenario(SCENARIOS / "numa-laptop.toml")
    assert {(p.spec.cpus, p.spec.nodes) for p in numa.points} == {
        (c, n) for c in (8, 16, 32) for n in (1, 2)}
    assert {p.spec.mem_bytes for p in scaling.points} == {16 << 30, 128 << 30, 1 << 40}
    assert {p.spec.mix for p in scaling.points} == {"kbuild", "purge", "exit", "filecache"}
    assert {p.spec.policy for p in scaling.points} == {"upstream", "pcp-buddy"}
    assert {p.replicate for p in scaling.points} == {0, 1, 2}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_malformed_scenario_on_the_command_line_exits_2_and_writes_nothing(name, tmp_path,
                                                                          capsys):
    from .cli_run import run

    results = tmp_path / "results"
    code, out, err = run(["run", str(BAD / name), "--results", str(results)], capsys)
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert EXPECTED[name] in err.replace("\n", "")
    assert not results.exists()
