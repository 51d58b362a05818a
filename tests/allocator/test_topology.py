"""Topology (issue #14): nodes and zones, the zone the engine runs, the symmetric shortcut's
refusals, and what the record says of the machine."""

import pytest

from allocator import Spec, SpecError, simulate
from allocator.mm.machine import boot_zones, lowmem_reserve
from allocator.mm.topology import (
    ZONE_DMA,
    ZONE_DMA32,
    ZONE_NORMAL,
    build_topology,
    parse_zone_pages,
    topology_from_pages,
)

GIB = 1 << 30


def test_x86_64_layout_puts_the_lower_zones_on_node_0_only():
    t = build_topology(8, 64 * GIB, nodes=2)
    n0 = {z.idx: z.managed_pages for z in t.node_zones(0)}
    n1 = {z.idx: z.managed_pages for z in t.node_zones(1)}
    assert n0[ZONE_DMA] == 3840 and n0[ZONE_DMA32] == ((2 * GIB - (16 << 20)) >> 12)
    assert n0[ZONE_NORMAL] == (32 * GIB >> 12) - 4096 - n0[ZONE_DMA32]
    assert n1[ZONE_DMA] == n1[ZONE_DMA32] == 0 and n1[ZONE_NORMAL] == 32 * GIB >> 12
    sim = t.simulated()
    assert (sim.node, sim.idx) == (1, ZONE_NORMAL)
    assert t.alike() == ""  # node 0's lower zones are part of its memory, which is node 1's


def test_small_memory_runs_in_dma32():
    t = build_topology(2, 2 * GIB)
    assert t.simulated().idx == ZONE_DMA32  # 2 GiB is DMA and DMA32 only
    t = build_topology(2, 2 * GIB, layout="normal")
    assert t.simulated().idx == ZONE_NORMAL and t.simulated().managed_pages == 2 * GIB >> 12


def test_min_free_kbytes_counts_every_populated_zone_of_every_node():
    # four populated zones (DMA, DMA32, Normal on node 0; Normal on node 1): khugepaged asks
    # 4 * 512 * (2 + 9) pages = 22528 pages = 90112 kB
    boot = boot_zones(build_topology(8, 64 * GIB, nodes=2))
    assert boot.min_free_kbytes == 90112
    # pages_min is split over the zones by managed pages: the mins add up to it (to within a
    # page per zone, the divisions' remainders)
    lowmem = [z for z in boot.zones if z.idx <= ZONE_NORMAL]
    assert 90112 // 4 - len(lowmem) <= sum(z.min for z in lowmem) <= 90112 // 4


def test_lowmem_reserve_sums_the_zones_above():
    t = build_topology(2, 8 * GIB)
    dma32 = (2 * GIB - (16 << 20)) >> 12
    normal = (8 * GIB >> 12) - 4096 - dma32
    # setup_per_zone_lowmem_reserve(): DMA keeps back (DMA32 + ...) / 256, DMA32 Normal / 256
    assert lowmem_reserve(t, 0, ZONE_DMA)[:3] == (0, dma32 // 256, (dma32 + normal) // 256)
    assert lowmem_reserve(t, 0, ZONE_DMA32)[:3] == (0, 0, normal // 256)
    assert lowmem_reserve(t, 0, ZONE_NORMAL) == (0, 0, 0, 0, 0)


def test_the_shortcut_refuses_nodes_that_are_not_alike():
    with pytest.raises(SpecError, match="different memory.*set knob.symmetric_nodes = 0"):
        Spec.from_flat({"cpus": 8, "zone_pages": "3840,503771,507637;0,0,2020184"})
    # every node simulated: nodes that differ are fine
    Spec.from_flat({"cpus": 8, "zone_pages": "3840,503771,507637;0,0,2020184",
                    "knob.symmetric_nodes": 0})
    with pytest.raises(SpecError, match="must not exceed cpus"):
        Spec(cpus=2, mem_bytes=8 * GIB, nodes=4)
    with pytest.raises(SpecError, match="whole 2MiB pageblocks over 3 nodes"):
        Spec(cpus=3, mem_bytes=8 * GIB, nodes=3)


@pytest.mark.parametrize("bad", ["1,2", "a,b,c", "1,2,3;4", "-1,0,5000", ""])
def test_zone_pages_parse_errors(bad):
    with pytest.raises(SpecError, match="zone_pages is 'DMA,DMA32,Normal'"):
        parse_zone_pages(bad)


def test_zone_pages_needs_a_usable_zone():
    with pytest.raises(SpecError, match="at least 4 pageblocks"):
        topology_from_pages(2, ((3840, 100, 0),))


def test_flat_form_keeps_one_node_points_as_they_were():
    flat = Spec(cpus=4, mem_bytes=GIB).to_flat()
    assert "nodes" not in flat and "zones" not in flat and "zone_pages" not in flat
    two = Spec.from_flat({"cpus": 4, "mem": "2GiB", "nodes": 2, "zones": "normal"})
    assert two.to_flat()["nodes"] == 2 and Spec.from_flat(two.to_flat()) == two


def test_record_reports_the_simulated_node_and_the_machine():
    r = simulate(Spec(cpus=4, mem_bytes=2 * GIB, nodes=2, mix="page_fault1", seed=1,
                      duration_ns=3_000_000, zones="normal"))
    assert (r["nodes"], r["node_cpus"], r["node"], r["zone"]) == (2, 2, 1, "Normal")
    assert r["zone_managed_pages"] == GIB >> 12
    assert r["machine_throughput_ops_per_s"] == 2 * r["throughput_ops_per_s"]
