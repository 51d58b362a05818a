"""`sweep trace import` on fixtures of every format variant (calibration.md s6): ftrace with 5-
and 4-character flags, trace-cmd with and without the tgid column, perf script with and
without a period column, hex and decimal pfns, symbolic and raw-hex gfp_flags, hashed and plain
page pointers, failed allocations, the old event names, other events, malformed lines."""

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sweep.cli import main
from sweep.trace.pattern import import_trace

TRACES = Path(__file__).with_name("traces")


def load(tmp_path, name):
    out = tmp_path / f"{name}.parquet"
    summary = import_trace(TRACES / name, out)
    table = pq.read_table(out)
    return summary, table.to_pylist(), table.schema.metadata


def by_order(rows):
    return sorted(rows, key=lambda r: (r["t_alloc_ns"], r["order"]))


def test_ftrace_modern(tmp_path):
    s, rows, meta = load(tmp_path, "ftrace_modern.txt")
    assert dict(s.stats.events) == {"mm_page_alloc": 4, "mm_page_free": 2,
                                    "mm_page_free_batched": 1}
    assert dict(s.stats.skipped) == {"mm_page_alloc_zone_locked": 1, "mm_page_pcpu_drain": 1}
    assert (s.allocations, s.paired, s.unfreed, s.prologue, s.failed_allocs) == (4, 2, 1, 1, 1)
    assert json.loads(meta[b"pcp_sweep.trace_cpus"]) == [3, 10]
    o2 = next(r for r in rows if r["order"] == 2)  # kworker on CPU 10 allocates and frees
    assert (o2["cpu"], o2["cpu_free"], o2["migratetype"]) == (1, 1, 0)
    assert o2["t_free_ns"] - o2["t_alloc_ns"] == 905_000
    assert o2["gfp_flags"] == "GFP_KERNEL|__GFP_COMP"
    movable = next(r for r in rows if r["order"] == 0 and not r["prologue"])
    assert (movable["cpu"], movable["cpu_free"]) == (1, 0)  # freed on another CPU
    thp = next(r for r in rows if r["order"] == 9)
    assert thp["t_free_ns"] == -1 and thp["cpu_free"] == -1
    prologue = next(r for r in rows if r["prologue"])
    assert prologue["t_alloc_ns"] == 0 and prologue["cpu_free"] == 0


def test_ftrace_old_decimal_pfns_raw_gfp_old_names(tmp_path):
    s, rows, _ = load(tmp_path, "ftrace_old.txt")
    assert dict(s.stats.events) == {"mm_page_alloc": 2, "mm_page_free": 1,
                                    "mm_page_free_direct": 1, "mm_pagevec_free": 1}
    assert dict(s.stats.skipped) == {"mm_page_alloc_extfrag": 1}
    assert (s.paired, s.unfreed, s.prologue) == (2, 0, 1)
    o1 = next(r for r in rows if r["order"] == 1)
    assert o1["gfp_flags"] == "0x140cca" and (o1["cpu"], o1["cpu_free"]) == (0, 1)
    assert o1["t_free_ns"] - o1["t_alloc_ns"] == 1_000_000


def test_trace_cmd_with_and_without_tgid(tmp_path):
    s, rows, meta = load(tmp_path, "trace_cmd.txt")
    assert (s.allocations, s.paired, s.unfreed, s.prologue) == (3, 2, 1, 0)
    assert json.loads(meta[b"pcp_sweep.trace_cpus"]) == [1, 3, 7]
    o1 = next(r for r in rows if r["order"] == 1)
    assert (o1["cpu"], o1["cpu_free"]) == (1, 2)  # freed by kswapd on CPU 7
    assert {r["migratetype"] for r in rows} == {0, 1, 2}


def test_perf_script_with_and_without_period(tmp_path):
    s, rows, _ = load(tmp_path, "perf_script.txt")
    assert dict(s.stats.events) == {"mm_page_alloc": 3, "mm_page_free_batched": 2}
    assert dict(s.stats.skipped) == {"sched_switch": 1}
    assert (s.paired, s.unfreed) == (2, 1)
    freed = [r for r in rows if r["t_free_ns"] >= 0]
    assert all((r["cpu"], r["cpu_free"]) == (0, 1) for r in freed)
    assert sorted(r["t_free_ns"] - r["t_alloc_ns"] for r in freed) == [99_991_000, 100_000_000]


def test_malformed_lines_are_counted_with_their_numbers(tmp_path, capsys):
    out = tmp_path / "m.parquet"
    with pytest.raises(SystemExit) as info:
        main(["trace", "import", str(TRACES / "malformed.txt"), "-o", str(out)])
        raise SystemExit(0)
    assert info.value.code == 0
    err = capsys.readouterr().err
    assert "4 malformed line(s), first at line(s) 2, 3, 4, 5" in err
    assert pq.read_table(out).num_rows == 1


def test_a_file_without_kmem_events_is_an_error_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "none.parquet"
    with pytest.raises(SystemExit) as info:
        main(["trace", "import", str(TRACES / "no_kmem.txt"), "-o", str(out)])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "no kmem mm_page_alloc/mm_page_free event" in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()
    assert not list(tmp_path.iterdir())


def test_missing_file_is_an_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["trace", "import", str(tmp_path / "nope.txt")])
    assert info.value.code == 2 and "no such file" in capsys.readouterr().err


def test_a_duplicated_free_is_dropped_and_counted(tmp_path):
    """Each pfn is live once at a time: a second free without an allocation between is a
    duplicate, not one more page allocated before the trace."""
    s, rows, _ = load(tmp_path, "duplicate_free.txt")
    assert (s.paired, s.prologue, s.duplicate_frees) == (2, 1, 2)
    assert len(rows) == 3
    assert sum(r["prologue"] for r in rows) == 1
    assert any("2 duplicate frees" in line for line in s.lines())
    # no pfn is live twice: the replayed intervals of the same pfn do not overlap
    spans = sorted((r["t_alloc_ns"], r["t_free_ns"]) for r in rows if not r["prologue"])
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_the_reader_gives_the_mix_its_arrays_or_a_clear_error(tmp_path):
    """sweep reads the pattern file (the allocator reads none): gfp_flags become the mix's
    gfp bits, a migratetype the replay has no list for becomes MOVABLE, and a file that is
    not a pattern is a one-line SpecError."""
    import numpy as np
    import pyarrow as pa

    from allocator import SpecError
    from allocator.core.consts import GFP_DIRECT_RECLAIM, GFP_MOVABLE_PAGE
    from allocator.mixes.trace import PATTERN_ARRAYS
    from sweep.trace.pattern import read_pattern, write_pattern

    path = tmp_path / "p.parquet"
    write_pattern(path, {"t_alloc_ns": [0, 10], "cpu": [0, 1], "order": [0, 3],
                         "migratetype": [1, 4], "gfp_flags": ["GFP_HIGHUSER_MOVABLE",
                                                              "GFP_ATOMIC"],
                         "t_free_ns": [5, -1], "cpu_free": [1, -1]})
    p = read_pattern(str(path))
    assert tuple(p) == PATTERN_ARRAYS
    assert p["migratetype"].tolist() == [1, 1]
    assert p["gfp_bits"].tolist() == [GFP_MOVABLE_PAGE | GFP_DIRECT_RECLAIM, GFP_MOVABLE_PAGE]
    assert np.array_equal(p["t_free_ns"], [5, -1])
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"x": [1]}), bad)
    with pytest.raises(SpecError, match="not a pattern"):
        read_pattern(str(bad))
