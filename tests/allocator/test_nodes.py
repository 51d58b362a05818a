"""Every node simulated at once (knob.symmetric_nodes = 0): the zonelist, fallback and its numa
counters, frees of another node's pages, one kswapd per node, and the symmetric shortcut held
against the full run."""

import numpy as np
import pytest

from allocator import Spec, simulate
from allocator.core.consts import GFP_LRU, GFP_MOVABLE_PAGE, MIGRATE_MOVABLE
from allocator.core.layout import (
    AG_NODE,
    EV_NUMA_FOREIGN,
    EV_NUMA_HIT,
    EV_NUMA_MISS,
    EV_NUMA_OTHER,
    PCP_COUNT,
    PG_NR_LRU,
    PG_ZONELIST,
    ZC_NODE,
    ZC_NUMA_FOREIGN,
    ZC_NUMA_MISS,
    ZC_WMARK_HIGH,
    ZC_WMARK_LOW,
    ZC_WMARK_MIN,
    ZC_ZONE_IDX,
)
from allocator.core.state import INF_NS
from allocator.mm.invariants import check_invariants
from allocator.mm.page_alloc import wakeup_kswapd
from allocator.mm.topology import ZONE_DMA, ZONE_DMA32, ZONE_NORMAL, node_order
from allocator.mm.vmscan import kswapd_step
from allocator.params.errors import SpecError
from allocator.sim.engine import do_alloc, do_free
from tests.conftest import make_box

GIB = 1 << 30
MOVABLE = MIGRATE_MOVABLE
FULL = {"symmetric_nodes": 0}


def _starve(z):
    """Put the zone's marks above anything it holds: every watermark check fails."""
    z.zc[ZC_WMARK_MIN] = z.zc[ZC_WMARK_LOW] = z.zc[ZC_WMARK_HIGH] = 1 << 40


def _sleeping(b, node):
    return int(b.z.clock[b.machine.cpus + node]) == INF_NS


def test_node_order_prefers_the_next_nodes_at_equal_distance():
    """find_next_best_node(): local first; at equal distance a node numbered below the local
    one comes after those above it."""
    assert node_order(4, 2) == [2, 3, 0, 1]
    assert node_order(4, 0) == [0, 1, 2, 3]
    far = ((10, 20, 30), (20, 10, 20), (30, 20, 10))
    assert node_order(3, 0, far) == [0, 1, 2]
    assert node_order(3, 2, far) == [2, 1, 0]


def test_zonelists_go_down_the_local_zones_then_to_the_next_node():
    """build_zonelists(): node 0 of an x86-64 two-node machine tries Normal, DMA32, DMA, then
    node 1's Normal; node 1 its Normal, then node 0's from the top."""
    b = make_box(cpus=4, mem=8 * GIB, nodes=2, zones="x86_64", knobs=FULL)
    idx = [(int(z.zc[ZC_NODE]), int(z.zc[ZC_ZONE_IDX])) for z in b.zs]
    assert idx == [(0, ZONE_DMA), (0, ZONE_DMA32), (0, ZONE_NORMAL), (1, ZONE_NORMAL)]
    assert b.z.pgdat[:, PG_ZONELIST:].tolist() == [[2, 1, 0, 3], [3, 2, 1, 0]]
    assert b.z.ag[: b.machine.cpus, AG_NODE].tolist() == [0, 0, 1, 1]


def test_a_failing_zone_falls_back_to_the_next_node_and_counts_it():
    """get_page_from_freelist(): with node 0's zone under its low mark a CPU of node 0 gets
    node 1's page on the fast path (no kswapd woken): numa_miss on node 1's zone,
    numa_foreign on node 0's, numa_other for the CPU."""
    b = make_box(cpus=4, mem=256 << 20, nodes=2, knobs=FULL)
    b.tick()
    assert do_alloc(b.zs, b.pss, 0, 0, MOVABLE, GFP_MOVABLE_PAGE, 0, b.pol) == 0
    _starve(b.zs[0])
    b.tick()
    assert do_alloc(b.zs, b.pss, 1, 0, MOVABLE, GFP_MOVABLE_PAGE, 0, b.pol) == 1
    ev = b.z.ev
    counts = [ev[EV_NUMA_HIT], ev[EV_NUMA_MISS], ev[EV_NUMA_FOREIGN], ev[EV_NUMA_OTHER]]
    assert counts == [1, 1, 1, 1]
    assert b.zs[1].zc[ZC_NUMA_MISS] == 1 and b.zs[0].zc[ZC_NUMA_FOREIGN] == 1
    assert _sleeping(b, 0) and _sleeping(b, 1)
    assert check_invariants(b.zs) == []
    # every zone of the zonelist under its marks: the slow path wakes both nodes' kswapd
    _starve(b.zs[1])
    b.tick()
    assert do_alloc(b.zs, b.pss, 1, 0, MOVABLE, GFP_MOVABLE_PAGE, 0, b.pol) == -1
    assert not _sleeping(b, 0) and not _sleeping(b, 1)


def test_lowmem_reserve_keeps_movable_allocations_out_of_dma():
    """One x86-64 node: with Normal under its marks the page comes from DMA32 (the same node:
    a numa_hit); DMA's lowmem_reserve for Normal allocations exceeds its 3840 pages, so it
    never serves them."""
    b = make_box(cpus=2, mem=8 * GIB, zones="x86_64", knobs=FULL)
    dma, dma32, normal = b.zs
    _starve(normal)
    b.tick()
    assert do_alloc(b.zs, b.pss, 0, 0, MOVABLE, GFP_MOVABLE_PAGE, 0, b.pol) == 1
    assert b.z.ev[EV_NUMA_HIT] == 1 and b.z.ev[EV_NUMA_MISS] == 0
    _starve(dma32)
    b.tick()
    assert do_alloc(b.zs, b.pss, 0, 0, MOVABLE, GFP_MOVABLE_PAGE, 0, b.pol) == -1
    assert dma.pcp[:, PCP_COUNT].sum() == 0


def test_a_page_of_another_node_is_freed_onto_the_freeing_cpus_pcp_for_its_zone():
    """free_unref_folios(): the page goes to the freeing CPU's PCP of the page's zone
    (zone->per_cpu_pageset), not to its own node's."""
    b = make_box(cpus=4, mem=256 << 20, nodes=2, knobs=FULL)
    b.tick()
    assert do_alloc(b.zs, b.pss, 2, 0, MOVABLE, GFP_MOVABLE_PAGE, 0, b.pol) == 1  # node 1
    before = [int(z.pcp[0, PCP_COUNT]) for z in b.zs]
    b.tick()
    assert do_free(b.zs, b.pss, 0, 0, True, b.pol)  # CPU 0, on node 0
    assert [int(z.pcp[0, PCP_COUNT]) for z in b.zs] == [before[0], before[1] + 1]
    assert check_invariants(b.zs) == []


def test_each_node_has_its_kswapd_reclaiming_its_own_lru():
    b = make_box(cpus=4, mem=256 << 20, nodes=2, knobs=FULL)
    for i in range(20):  # page cache on both nodes: CPUs 0 and 2
        b.tick()
        assert do_alloc(b.zs, b.pss, 2 * (i % 2), 0, MOVABLE, GFP_LRU, -1, b.pol) == i % 2
    assert b.z.pgdat[:, PG_NR_LRU].tolist() == [10, 10]
    wakeup_kswapd(b.zs[1])
    assert _sleeping(b, 0) and not _sleeping(b, 1)
    _starve(b.zs[1])
    kswapd_step(b.zs, b.pss, 1, b.pol)
    assert b.z.pgdat[:, PG_NR_LRU].tolist() == [10, 0]
    assert b.zs[1].pcp[b.machine.cpus + 1, PCP_COUNT] > 0  # freed through node 1's kswapd PCP
    assert check_invariants(b.zs) == []


def test_interleave_takes_the_nodes_in_turn():
    """MPOL_INTERLEAVE: each CPU's allocations prefer node 0, 1, 0, 1...: all numa_hit (the
    preferred node served), half of them numa_other for a CPU of node 0."""
    b = make_box(cpus=4, mem=256 << 20, nodes=2, knobs={**FULL, "interleave": 1})
    got = []
    for _ in range(4):
        b.tick()
        got.append(do_alloc(b.zs, b.pss, 0, 0, MOVABLE, GFP_MOVABLE_PAGE, 0, b.pol))
    assert got == [0, 1, 0, 1]
    assert b.z.ev[EV_NUMA_HIT] == 4 and b.z.ev[EV_NUMA_OTHER] == 2
    with pytest.raises(SpecError, match="interleave = 1 .* needs knob.symmetric_nodes = 0"):
        Spec(cpus=4, mem_bytes=GIB, nodes=2, knobs={"interleave": 1})


def _point(sym, mix, seed=3, cpus_per_node=2, duration="40ms"):
    flat = {"cpus": 2 * cpus_per_node, "mem": "512MiB", "nodes": 2, "zones": "normal",
            "mix": mix, "duration": duration, "warmup": "10ms", "seed": seed,
            "knob.symmetric_nodes": sym}
    return simulate(Spec.from_flat(flat), check_every_ns=10_000_000)


@pytest.mark.slow
@pytest.mark.parametrize("mix", ["page_fault1", "kbuild"])
def test_the_symmetric_shortcut_is_the_full_runs_node_0(mix):
    """Alike nodes, node-local work: the shortcut's node is the full run's node 0, count for
    count (the same CPUs and random streams, and nothing crosses between the nodes)."""
    short, full = _point(1, mix), _point(0, mix)
    node0 = full.end_state["zones"][0]
    assert node0["numa_hit"] == short["numa_hit"] and node0["numa_miss"] == 0
    assert full["numa_miss"] == 0 and full["simulated_nodes"] == 2
    assert full["node_cpus"] == short["node_cpus"] == 2


@pytest.mark.slow
def test_the_shortcut_and_the_full_run_agree_on_the_machine():
    """The other nodes differ from node 0 only by their random streams: page_fault1's machine
    throughput within 3%; kbuild's (a noisy mix at four CPUs a node) within three standard
    errors of the difference over six seeds."""
    short, full = _point(1, "page_fault1"), _point(0, "page_fault1")
    assert full["machine_throughput_ops_per_s"] == pytest.approx(
        short["machine_throughput_ops_per_s"], rel=0.03)
    assert full["sys_frac"] == pytest.approx(short["sys_frac"], rel=0.05)
    runs = {sym: np.array([_point(sym, "kbuild", seed, 4, "200ms")["machine_throughput_ops_per_s"]
                           for seed in range(1, 7)]) for sym in (0, 1)}
    diff = runs[0].mean() - runs[1].mean()
    se = np.sqrt(runs[0].var(ddof=1) / 6 + runs[1].var(ddof=1) / 6)
    assert abs(diff) < 3 * se, (runs, diff, se)
