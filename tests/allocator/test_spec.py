"""Bad input is refused before anything runs, with a message naming the field."""

import pytest

from allocator import Spec, SpecError
from allocator.params.units import parse_duration, parse_size

GIB = 1 << 30


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cpus": 0, "mem_bytes": GIB}, "cpus must be between 1 and 4096"),
        ({"cpus": 5000, "mem_bytes": GIB}, "cpus must be between 1 and 4096"),
        ({"cpus": 2, "mem_bytes": 32 << 20}, "mem must be between 64MiB and 16TiB"),
        ({"cpus": 2, "mem_bytes": 17 << 40}, "mem must be between 64MiB and 16TiB"),
        ({"cpus": 2, "mem_bytes": GIB + 4096}, "whole number of 2MiB pageblocks"),
        ({"cpus": 2, "mem_bytes": GIB, "mix": "nope"}, "unknown mix 'nope'"),
        ({"cpus": 2, "mem_bytes": GIB, "policy": "nope"}, "unknown policy 'nope'"),
        ({"cpus": 2, "mem_bytes": GIB, "costs": {"nope_ns": 1}}, "unknown cost 'cost.nope_ns'"),
        ({"cpus": 2, "mem_bytes": GIB, "costs": {"zone_page_ns": -1}}, "cost.zone_page_ns"),
        ({"cpus": 2, "mem_bytes": GIB, "knobs": {"nope": 1}}, "unknown knob 'knob.nope'"),
        ({"cpus": 2, "mem_bytes": GIB, "knobs": {"thp": 2}}, "knob.thp must be in [0, 1]"),
        (
            {"cpus": 2, "mem_bytes": GIB, "knobs": {"percpu_pagelist_high_fraction": 4}},
            "must be 0 or at least 8",
        ),
        ({"cpus": 2, "mem_bytes": GIB, "duration_ns": 0}, "duration must be positive"),
        ({"cpus": 2, "mem_bytes": GIB, "duration_ns": -5}, "duration must be positive"),
        ({"cpus": 2, "mem_bytes": GIB, "warmup_ns": 10**9}, "warmup must be"),
        ({"cpus": 2, "mem_bytes": GIB, "mix_params": {"nope": 1}}, "mix.kbuild.nope"),
        (
            {"cpus": 2, "mem_bytes": GIB, "mix": "page_fault1", "mix_params": {"map_bytes": "x"}},
            "mix.page_fault1.map_bytes must be a size",
        ),
        (
            {"cpus": 2, "mem_bytes": GIB, "mix": "kbuild", "mix_params": {"churn_frac": 1.5}},
            "fraction in [0, 1]",
        ),
        ({"cpus": True, "mem_bytes": GIB}, "cpus must be an integer"),
    ],
)
def test_bad_specs_name_the_field(kwargs, message):
    with pytest.raises(SpecError, match=None) as info:
        Spec(**kwargs)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_from_flat_parses_units_and_namespaces():
    spec = Spec.from_flat(
        {
            "cpus": "8",
            "mem": "2GiB",
            "mix": "page_fault1",
            "duration": "20ms",
            "cost.zone_page_ns": "30",
            "knob.thp": "0",
            "mix.page_fault1.map_bytes": "16MiB",
        }
    )
    assert spec.cpus == 8 and spec.mem_bytes == 2 * GIB and spec.duration_ns == 20_000_000
    assert dict(spec.costs) == {"zone_page_ns": 30}
    assert dict(spec.knobs) == {"thp": 0}
    assert dict(spec.mix_params) == {"map_bytes": "16MiB"}
    assert Spec.from_flat(spec.to_flat()) == spec


@pytest.mark.parametrize(
    ("flat", "message"),
    [
        ({"cpus": 2}, "cpus and mem are required"),
        ({"cpus": 2, "mem": "1GiB", "bogus": 1}, "unknown key 'bogus'"),
        ({"cpus": 2, "mem": "1GiB", "mix.purge.purger_cpus": 2}, "not of 'kbuild'"),
        ({"cpus": 2, "mem": "1GiB", "mix.x": 2}, "mix.<mix>.<param>"),
        ({"cpus": "two", "mem": "1GiB"}, "cpus must be an integer"),
        ({"cpus": 2, "mem": "1GB2"}, "mem must be a size"),
        ({"cpus": 2, "mem": "1GiB", "duration": "10 fortnights"}, "duration must be a duration"),
    ],
)
def test_bad_flat_keys(flat, message):
    with pytest.raises(SpecError) as info:
        Spec.from_flat(flat)
    assert message in str(info.value)


def test_units():
    assert parse_size("64GiB") == 64 * GIB
    assert parse_size("1TiB") == 1 << 40
    assert parse_size("512MiB") == 512 << 20
    assert parse_size("1.5GiB") == 3 * GIB // 2
    assert parse_duration("100ms") == 100_000_000
    assert parse_duration("2s") == 2_000_000_000
    assert parse_duration("750us") == 750_000
    assert parse_duration("42") == 42
    with pytest.raises(SpecError):
        parse_duration("-1s")
    with pytest.raises(SpecError):
        parse_size("12 bananas")
