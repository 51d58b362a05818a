"""The `trace` mix replays a pattern: measured from the replay's own kmem events, the orders,
CPUs, cross-CPU frees, lifetimes and gaps are the pattern's; spread tiles it over a larger
machine, repeat runs it again, unfreed decides the fate of what the trace never frees."""

from collections import Counter
from statistics import median

import numpy as np
import pytest

from allocator import Spec, simulate
from allocator.core.consts import GFP_DIRECT_RECLAIM, GFP_MOVABLE_PAGE
from allocator.core.layout import T_CPU, T_EVENT, T_ORDER, T_PFN, T_TIME, TR_ALLOC, TR_FREE
from allocator.mixes.trace import PATTERN_ARRAYS
from allocator.params.errors import SpecError

US = 1000


@pytest.fixture(scope="module")
def pattern(tmp_path_factory):
    """Trace CPU 0 faults in 200 order-0 MOVABLE pages, one every 10 us, that CPU 1 frees
    300 us later (a purger); CPU 1 allocates 20 order-2 UNMOVABLE pages it frees itself after
    50 us, and 10 order-0 pages nobody frees."""
    movable, kernel = GFP_MOVABLE_PAGE | GFP_DIRECT_RECLAIM, GFP_DIRECT_RECLAIM
    rows = []
    for i in range(200):
        rows.append((i * 10 * US, 0, 0, 1, movable, i * 10 * US + 300 * US, 1))
    for i in range(20):
        rows.append((i * 97 * US, 1, 2, 0, kernel, i * 97 * US + 50 * US, 1))
    for i in range(10):
        rows.append((5 * US + i * 150 * US, 1, 0, 0, kernel, -1, -1))
    arrays = {c: np.array(v) for c, v in zip(PATTERN_ARRAYS, zip(*rows, strict=True),
                                             strict=True)}
    # the spec names the pattern by a file; the allocator takes its arrays (sweep reads files)
    path = tmp_path_factory.mktemp("pattern") / "p.parquet"
    path.write_bytes(b"")
    return str(path), arrays


def replay(pattern, cpus=2, duration_us=2400, policy="upstream", **params):
    path, arrays = pattern
    r = simulate(Spec(cpus=cpus, mem_bytes=1 << 30, mix="trace", policy=policy, seed=1,
                      duration_ns=duration_us * US, mix_params={"pattern": path, **params}),
                 trace_events=200_000, inputs={"pattern": arrays})
    assert r.trace_lost == 0
    tr = r.trace
    allocs = tr[(tr[:, T_EVENT] == TR_ALLOC) & (tr[:, T_PFN] >= 0)]
    frees = tr[tr[:, T_EVENT] == TR_FREE]
    born, pairs = {}, []
    for row in tr:
        if row[T_EVENT] == TR_ALLOC and row[T_PFN] >= 0:
            born[row[T_PFN]] = row
        elif row[T_EVENT] == TR_FREE and row[T_PFN] in born:
            a = born.pop(row[T_PFN])
            pairs.append((a[T_CPU], row[T_CPU], row[T_TIME] - a[T_TIME], a[T_ORDER]))
    return r, allocs, frees, pairs


def test_one_pass_replays_the_pattern(pattern):
    r, allocs, frees, pairs = replay(pattern, repeat=1, unfreed=0)
    assert Counter(zip(allocs[:, T_CPU].tolist(), allocs[:, T_ORDER].tolist(), strict=True)) \
        == {(0, 0): 200, (1, 2): 20, (1, 0): 10}
    assert Counter(frees[:, T_CPU].tolist()) == {1: 220}
    cross = [p for p in pairs if p[0] != p[1]]
    assert len(cross) == 200 and all(p[3] == 0 for p in cross)
    assert abs(median(p[2] for p in cross) - 300 * US) < 5 * US
    assert abs(median(p[2] for p in pairs if p[3] == 2) - 50 * US) < 5 * US
    # the gaps: CPU 0 allocates every 10 us, as traced
    t0 = np.sort(allocs[allocs[:, T_CPU] == 0][:, T_TIME])
    assert abs(np.median(np.diff(t0)) - 10 * US) < 1 * US


def test_unfreed_pages_are_freed_at_the_end_of_each_pass(pattern):
    _, allocs, frees, _ = replay(pattern, repeat=2, unfreed=1, duration_us=5000)
    assert len(allocs) == 2 * 230 and len(frees) == 2 * 230


def test_spread_tiles_the_trace_over_a_larger_machine(pattern):
    _, allocs, frees, pairs = replay(pattern, cpus=8, repeat=1, unfreed=0, duration_us=5000)
    per_cpu = Counter(allocs[:, T_CPU].tolist())
    assert per_cpu == {0: 200, 2: 200, 4: 200, 6: 200, 1: 30, 3: 30, 5: 30, 7: 30}
    assert all(f == a + 1 for a, f, _, o in pairs if o == 0 and a % 2 == 0)
    _, allocs, _, _ = replay(pattern, cpus=8, repeat=1, spread=0, duration_us=5000)
    assert set(allocs[:, T_CPU].tolist()) == {0, 1}


def test_a_smaller_machine_folds_the_trace(pattern):
    _, allocs, frees, _ = replay(pattern, cpus=1, repeat=1, unfreed=0)
    assert set(allocs[:, T_CPU].tolist()) == {0} and len(allocs) == 230 and len(frees) == 220


def test_replay_is_deterministic_under_both_policies(pattern):
    for policy in ("upstream", "pcp-buddy"):
        a = replay(pattern, cpus=4, policy=policy)[0]
        b = replay(pattern, cpus=4, policy=policy)[0]
        assert dict(a) == dict(b) and a["alloc_ops"] > 0


def test_a_missing_or_wrong_pattern_is_a_clear_error(tmp_path, pattern):
    with pytest.raises(SpecError, match="no such file"):
        Spec(cpus=2, mem_bytes=1 << 30, mix="trace",
             mix_params={"pattern": str(tmp_path / "nope.parquet")})
    path, arrays = pattern
    spec = Spec(cpus=2, mem_bytes=1 << 30, mix="trace", duration_ns=1000,
                mix_params={"pattern": path})
    with pytest.raises(SpecError, match="reads no file"):
        simulate(spec)
    with pytest.raises(SpecError, match="arrays missing: gfp_bits"):
        simulate(spec, inputs={"pattern": {k: v for k, v in arrays.items() if k != "gfp_bits"}})
    with pytest.raises(SpecError, match="migratetype must be"):
        simulate(spec, inputs={"pattern": {**arrays, "migratetype": arrays["migratetype"] + 5}})
    with pytest.raises(SpecError, match="not parameters of mix trace"):
        simulate(spec, inputs={"pattern": arrays, "nope": 1})
