"""`sweep compare`: compare-kernels' table on two small stores, and on two policies of one."""

from __future__ import annotations

import re

import pytest

from .cli_run import run
from .synth import write_sweep


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    base = tmp_path_factory.mktemp("base")
    cand = tmp_path_factory.mktemp("cand")
    kw = dict(mixes=("flat",), cpus=(8, 16), mems=(16 << 30,), seeds=3)
    write_sweep(base, **kw)
    # the candidate: 10% slower upstream at 16 CPUs (throughput / 1.1, %sys x 1.1), the rest
    # the very same points (same seeds, same noise)
    write_sweep(cand, scale=lambda mix, pol, c, m: 1.1 if (pol, c) == ("upstream", 16) else 1.0,
                **kw)
    return base, cand


def _line(out, where, metric):
    return next(line for line in out.splitlines()
                if line.startswith(where) and f" {metric} " in line)


def test_two_stores_side_by_side(stores, tmp_path, capsys):
    base, cand = stores
    md = tmp_path / "compare.md"
    code, out, _ = run(["compare", "--baseline", str(base), "--candidate", str(cand),
                        "--markdown", str(md)], capsys)
    assert code == 0
    assert re.search(r"\*\s+-9\.09%\*", _line(out, "flat 16 CPUs/16GiB upstream", "ops/s"))
    assert re.search(r"\*\s+-10\.00%\*", _line(out, "flat 16 CPUs/16GiB upstream", "%sys"))
    same = _line(out, "flat 8 CPUs/16GiB upstream", "ops/s")
    assert "0.00%" in same.split("(  0.00%)")[1] and "*" not in same
    assert "| flat 16 CPUs/16GiB upstream | throughput ops/s |" in md.read_text()


def test_two_policies_of_one_store(stores, capsys):
    base, _ = stores
    code, out, _ = run(["compare", "--results", str(base), "--policies", "upstream,pcp-buddy"],
                       capsys)
    assert code == 0
    assert out.splitlines()[0].split() == ["upstream", "pcp-buddy"]
    assert len([line for line in out.splitlines() if line.startswith("flat ")]) >= 6


def test_bad_compare_arguments_are_one_line(stores, capsys):
    base, _ = stores
    for argv, msg in (
        (["compare", "--baseline", str(base)], "give --baseline and --candidate"),
        (["compare", "--results", str(base), "--policies", "upstream"], "BASE,CANDIDATE"),
        (["compare", "--results", str(base), "--policies", "upstream,nope"],
         "no workload was run with both"),
    ):
        code, _, err = run(argv, capsys)
        assert code == 2 and msg in err and err.count("\n") == 1
