"""Validation (issue 7, item 5): kernel behaviour the model must show, end to end, each with
its source. free_high draining on runs of high-order frees is pinned at unit level in
test_pcp_upstream.py (test_free_high_drains_a_run_of_high_order_frees)."""

import numpy as np
import pytest

from allocator import Spec, derive_machine, simulate
from allocator.core.consts import GFP_DIRECT_RECLAIM, GFP_MOVABLE_PAGE

GIB = 1 << 30


def test_pcp_high_rises_under_steady_frees_and_decays_when_idle(tmp_path):
    """mm/page_alloc.c nr_pcp_free()/nr_pcp_high() (v6.7+ auto-tuning: free_count raises high
    toward high_max while a CPU frees) and decay_pcp_high() (every vmstat interval, 1 s by
    default, an idle CPU's high falls by 1/8 toward high_min, draining what is above it).
    Each of 4 CPUs allocates 5000 pages and frees them, then idles 3 s."""
    rows = [(i * 2000, c, 12_000_000 + i * 2000, c) for c in range(4) for i in range(5000)]
    rows.append((3_400_000_000, 0, 3_400_000_100, 0))  # the trace's last event: 3.4 s
    t_alloc, cpu, t_free, cpu_free = (np.array(x) for x in zip(*rows, strict=True))
    n = len(rows)
    arrays = {"t_alloc_ns": t_alloc, "cpu": cpu, "order": np.zeros(n, int),
              "migratetype": np.ones(n, int), "t_free_ns": t_free, "cpu_free": cpu_free,
              "gfp_bits": np.full(n, GFP_MOVABLE_PAGE | GFP_DIRECT_RECLAIM)}
    (tmp_path / "p.parquet").write_bytes(b"")  # names the pattern; its arrays come as inputs
    r = simulate(Spec(cpus=4, mem_bytes=GIB, mix="trace", seed=1, duration_ns=3_500_000_000,
                      sample_ns=100_000_000,
                      mix_params={"pattern": str(tmp_path / "p.parquet"), "repeat": 1}),
                 inputs={"pattern": arrays})
    m = derive_machine(4, GIB)
    high = r.samples["pcp_high_mean"]
    peak = high.max()
    assert high[0] == m.high_min and peak > 2 * m.high_min  # rose under the frees
    assert peak <= m.high_max
    assert r["pcp_high_decays"] > 0
    # three vmstat intervals idle: at most (7/8)^2 of the peak is left (the third may fall
    # just after the last sample)
    assert high[-1] <= peak * (7 / 8) ** 2 + 1 and high[-1] >= m.high_min


def test_kswapd_keeps_free_memory_between_low_and_high():
    """mm/vmscan.c: kswapd is woken under the low watermark and reclaims until the high one
    (balance_pgdat()), so under a moderate allocation rate free memory stays between them and
    direct reclaim is rare. The pressure mix fills memory with page cache, then churns."""
    m = derive_machine(4, GIB)
    r = simulate(Spec(cpus=4, mem_bytes=GIB, mix="pressure", seed=1, duration_ns=300_000_000,
                      mix_params={"op_ns": "10us"}))
    free = r.samples["nr_free_pages"][r.samples["t_ns"] > 100_000_000]
    lo, hi = np.percentile(free, [5, 95])
    assert m.wmark_low - m.batch <= lo and hi <= m.wmark_high + m.batch * 4
    assert r["kswapd_wakeups"] > 1 and r["pgsteal_kswapd"] > 20 * r["pgsteal_direct"]


@pytest.fixture(scope="module")
def filling():
    """filecache: page cache grows through the run, with and without unmovable pages."""
    return {uf: simulate(Spec(cpus=4, mem_bytes=GIB, mix="filecache", seed=1,
                              duration_ns=400_000_000, sample_ns=10_000_000,
                              mix_params={"unmovable_frac": uf}))
            for uf in (0.0, 0.05)}


def test_unmovable_pages_in_file_cache_fragment_memory(filling):
    """Mansi & Swift, Contiguitas (calibration.md s7.5): unmovable allocations mixed into the
    page cache leave pageblocks that cannot be reassembled; fallbacks claim movable blocks
    (mm_page_alloc_extfrag). The unusable free space index at order 9 (Gorman) is higher."""
    clean, mixed = filling[0.0], filling[0.05]
    assert mixed["unusable_index_order9"] > 1.5 * clean["unusable_index_order9"]
    assert mixed["extfrag_claims"] > clean["extfrag_claims"]
    assert mixed["free_pageblocks"] < clean["free_pageblocks"]


def test_order9_availability_falls_as_memory_fills_and_fragments(filling):
    """As the page cache spreads over memory, whole free pageblocks (order-9 availability)
    become rarer and the unusable index at order 9 rises."""
    s = filling[0.05].samples
    fpb, ui = s["free_pageblocks"], s["unusable_index_order9_permille"]
    assert fpb[-1] < fpb[len(fpb) // 2] < fpb[1]
    assert ui[-1] > ui[len(ui) // 2] >= ui[1]
