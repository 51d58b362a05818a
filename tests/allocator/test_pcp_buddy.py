"""pcp-buddy on hand-built situations: remote frees, merging back to a whole block, fragment
blocks recovered first, degradation when a block does not fit pcp->high. A 1 GiB, 4-CPU machine:
batch 63, high_min 1760 (test_machine.py), so a block fits once nr_pcp_alloc() runs."""

from allocator.core.consts import MIGRATE_MOVABLE, NODE_BUDDY, PAGEBLOCK_NR_PAGES
from allocator.core.layout import (
    EV_PCP_LOCK_REMOTE,
    EV_REMOTE_FREE,
    PCP_COUNT,
    ZC_L_ZONE0,
    ZC_NR_FREE_PAGES,
    ZC_PG0,
)
from allocator.core.lists import list_last
from allocator.mm.buddy import node_pfn
from allocator.policies.pcp_buddy.config import (
    EV_CLAIMED,
    EV_FRAG_RETURNED,
    EV_P0,
    EV_P1,
    EV_RECOVERED,
    EV_WHOLE_RETURNED,
)
from allocator.policies.pcp_buddy.drain import bpcp_drain
from tests.conftest import alloc_page, free_page, make_box

MOVABLE = MIGRATE_MOVABLE


def buddy_box(**knobs):
    return make_box(cpus=4, mem=1 << 30, policy="pcp-buddy", knobs=knobs)


alloc = alloc_page
free = free_page


def drain(b, cpu):
    b.tick()
    bpcp_drain(b.z, b.ps, cpu, cpu, int(b.z.pcp[cpu, PCP_COUNT]), False)


def test_first_refill_claims_a_whole_block():
    b = buddy_box()
    pfn = alloc(b, 0)
    pb = pfn // PAGEBLOCK_NR_PAGES
    assert b.ps.owner[pb] == 0
    assert b.z.ev[EV_CLAIMED] == 1 and b.z.ev[EV_P1] == 1
    assert b.z.pcp[0, PCP_COUNT] == PAGEBLOCK_NR_PAGES - 1  # the rest of the block, split


def test_a_page_freed_on_another_cpu_goes_back_to_its_owner():
    b = buddy_box()
    pfn = alloc(b, 0)
    free(b, 1, pfn)
    assert b.z.ev[EV_REMOTE_FREE] == 1
    assert b.z.ev[EV_PCP_LOCK_REMOTE] == 1  # CPU 1 took CPU 0's pcp->lock
    assert b.z.pcp[1, PCP_COUNT] == 0
    assert b.z.pcp[0, PCP_COUNT] == PAGEBLOCK_NR_PAGES


def test_a_block_whose_pages_all_return_goes_back_whole_and_unowned():
    b = buddy_box()
    pages = [alloc(b, 0) for _ in range(40)]
    for i, pfn in enumerate(pages):
        free(b, 1 + i % 3, pfn)  # freed on the three other CPUs
    pb = pages[0] // PAGEBLOCK_NR_PAGES
    free_before = b.z.zc[ZC_NR_FREE_PAGES]
    drain(b, 0)
    # the merge pass rebuilt the block; the drain gave it back as one order-9 chunk
    assert b.z.ev[EV_WHOLE_RETURNED] == 1 and b.z.ev[EV_FRAG_RETURNED] == 0
    assert b.ps.owner[pb] == -1
    assert b.z.zc[ZC_NR_FREE_PAGES] == free_before + PAGEBLOCK_NR_PAGES
    assert b.z.pb_slot[pb] == -1  # whole again


def test_a_partial_block_becomes_a_fragment_and_is_recovered_first():
    b = buddy_box()
    kept = alloc(b, 0)
    other = alloc(b, 0)
    free(b, 0, other)
    pb = kept // PAGEBLOCK_NR_PAGES
    drain(b, 0)
    # 511 free pages of the block went to the zone, at the tail; the block stays owned
    assert b.z.ev[EV_FRAG_RETURNED] > 0 and b.z.ev[EV_WHOLE_RETURNED] == 0
    assert b.ps.owner[pb] == 0
    assert b.ps.olist[len(b.ps.olen) + pb] >= 0  # on CPU 0's owned_blocks
    tail0 = list_last(b.z, b.z.zc[ZC_L_ZONE0] + 0 * 3 + MOVABLE)
    assert node_pfn(b.z, tail0) // PAGEBLOCK_NR_PAGES == pb
    claimed = b.z.ev[EV_CLAIMED]
    alloc(b, 0)  # the next refill recovers the fragments before claiming anything
    assert b.z.ev[EV_P0] == 1
    assert b.z.ev[EV_RECOVERED] == PAGEBLOCK_NR_PAGES - 1
    assert b.z.ev[EV_CLAIMED] == claimed
    assert b.ps.olist[len(b.ps.olen) + pb] == -1  # off the list once recovered
    base = b.z.zc[ZC_PG0] + int(b.z.pb_slot[pb]) * PAGEBLOCK_NR_PAGES
    assert not (b.z.nstate[base : base + PAGEBLOCK_NR_PAGES] == NODE_BUDDY).any()


def test_no_block_is_owned_when_high_is_below_a_block():
    # managed / 1024 / 4 CPUs = 64, raised to 4 * batch = 252 < 512: blocks never fit
    b = buddy_box(percpu_pagelist_high_fraction=1024)
    assert b.machine.high_max == 252
    pages = [alloc(b, cpu) for cpu in range(4) for _ in range(300)]
    for i, pfn in enumerate(pages):
        free(b, (i + 1) % 4, pfn)
    assert b.z.ev[EV_CLAIMED] == 0
    assert (b.ps.owner == -1).all()
    assert b.z.ev[EV_REMOTE_FREE] == 0  # degraded: frees stay on the freeing CPU


def test_owned_block_gauges_are_sampled():
    from allocator import Spec, simulate

    r = simulate(Spec(cpus=4, mem_bytes=1 << 30, mix="kbuild", policy="pcp-buddy", seed=2,
                      duration_ns=20_000_000))
    owned = r.samples["owned_blocks"]
    assert owned.max() > 0
    assert owned.max() <= r["owned_blocks_peak"]
    assert r["owned_blocks_mean"] == owned.mean()
    assert "fragment_blocks_mean" in r
