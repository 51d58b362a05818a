"""The model held to mm/page_alloc.c (v6.19 .. v7.0-rc) where an earlier version of it
deviated, and the RFC's open choices as knobs. Each test fails on the deviation it names.
A 1 GiB, 4-CPU machine: batch 63, high_min 1760, high_max 8192 (test_machine.py)."""

from allocator import Spec, simulate
from allocator.core.consts import MIGRATE_MOVABLE
from allocator.core.layout import (
    AG_IN_BATCH,
    E_NOW,
    EV_PCP_DRAIN,
    EV_PCP_DRAIN_PAGES,
    EV_PCP_LOCK_REMOTE,
    EV_REMOTE_FREE,
    LK_ACQ,
    PCP_COUNT,
    PCP_HIGH,
    PCP_HIGH_MIN,
)
from allocator.mm.locks import batch_lock_release, pcp_lock_id, pcp_spin_lock, spin_unlock
from allocator.policies.pcp_buddy.config import EV_MERGES
from allocator.policies.pcp_buddy.drain import bpcp_drain, bpcp_drain_chunked
from allocator.policies.pcp_buddy.lists import merge_fresh
from tests.conftest import alloc_page, free_page, make_box

MOVABLE = MIGRATE_MOVABLE


def box(policy="upstream", **knobs):
    return make_box(cpus=4, mem=1 << 30, policy=policy, knobs=knobs)


alloc = alloc_page
free = free_page


# --- 1. upstream: a drain frees nr_pcp_free(), not just down to high ------------------------


def test_upstream_drain_frees_nr_pcp_free_pages():
    """free_frozen_page_commit() (v6.19, the merged v5): `while (to_free > 0 && pcp->count >
    0)`. CPU 1 only frees: when count reaches high (1760) free_count is 1760 too, so
    nr_pcp_free() = clamp(1760, batch, 1760 - batch) = 1697 pages, freed in 27 batch-sized
    chunks (an earlier revision stopped once count < high: one chunk of 63)."""
    b = box()
    z = b.z
    pfns = [alloc(b, 0) for _ in range(3000)]
    frees = 0
    for pfn in pfns:
        free(b, 1, pfn)
        frees += 1
        if z.ev[EV_PCP_DRAIN]:
            break
    assert frees == 1760
    assert z.ev[EV_PCP_DRAIN_PAGES] == 1697
    assert z.ev[EV_PCP_DRAIN] == 27  # one zone->lock hold per chunk
    assert z.pcp[1, PCP_COUNT] == 1760 - 1697
    # the pcp->lock was dropped and retaken between chunks: 26 relocks besides the frees'
    assert z.lk[pcp_lock_id(1), LK_ACQ] == frees + 26


def test_upstream_decay_takes_the_pcp_lock_per_chunk():
    """decay_pcp_high() (v6.19, "Batch page freeing in decay_pcp_high"): spin_lock() around
    each free_pcppages_bulk() of batch pages."""
    b = box()
    z = b.z
    pfns = [alloc(b, 0) for _ in range(1700)]
    for pfn in pfns:
        free(b, 3, pfn)  # 1700 pages, below high (1760): no drain yet
    z.pcp[3, PCP_HIGH_MIN] = 100  # so that decay's 1/8 cut (to 1540) is below count
    count = int(z.pcp[3, PCP_COUNT])
    acq = int(z.lk[pcp_lock_id(3), LK_ACQ])
    drains = int(z.ev[EV_PCP_DRAIN])
    b.pol.decay_pcp_high(z, b.ps, 3)
    to_drain = count - int(z.pcp[3, PCP_HIGH])
    assert to_drain > 63
    chunks = -(-to_drain // 63)
    assert z.lk[pcp_lock_id(3), LK_ACQ] - acq == chunks
    assert z.ev[EV_PCP_DRAIN] - drains == chunks


# --- 2. pcp-buddy: a drain frees exactly what it computed ----------------------------------


def test_pcp_buddy_drain_frees_exactly_the_count():
    """After one order-0 allocation from a claimed block the PCP holds one entry of each order
    8..0 (511 pages). A drain of 63 frees the order 5..0 entries, not the order-8 one."""
    b = box("pcp-buddy")
    z = b.z
    alloc(b, 0)
    assert z.pcp[0, PCP_COUNT] == 511
    b.tick()
    assert bpcp_drain(z, b.ps, 0, 0, 63, False) == 63
    assert z.pcp[0, PCP_COUNT] == 511 - 63


def test_pcp_buddy_drain_splits_an_entry_larger_than_the_count():
    """Only entries larger than the count left: one is split on the PCP and exactly the count
    goes back; the rest stays."""
    b = box("pcp-buddy")
    z = b.z
    alloc(b, 0)
    b.tick()
    assert bpcp_drain(z, b.ps, 0, 0, 255, False) == 255  # orders 7..0: the order-8 entry stays
    assert z.pcp[0, PCP_COUNT] == 256
    b.tick()
    assert bpcp_drain(z, b.ps, 0, 0, 63, False) == 63
    assert z.pcp[0, PCP_COUNT] == 256 - 63


def test_pcp_buddy_chunked_drain_subtracts_what_was_freed():
    b = box("pcp-buddy")
    z = b.z
    alloc(b, 0)
    b.tick()
    pcp_spin_lock(z, 0, 0, 0)
    assert bpcp_drain_chunked(z, b.ps, 0, 0, 200, False)
    spin_unlock(z, pcp_lock_id(0))
    assert z.pcp[0, PCP_COUNT] == 511 - 200
    assert z.ev[EV_PCP_DRAIN_PAGES] == 200


# --- 3. the merge pass charges merges, not probes -------------------------------------------


def test_merge_pass_charges_no_time_when_nothing_merges():
    """Two freed pages whose buddies are still allocated: the pass finds nothing to merge and
    costs nothing beyond the frees' own list operations (as a failed buddy probe in
    __free_one_page() is part of zone_page_ns)."""
    b = box("pcp-buddy")
    z = b.z
    pfns = [alloc(b, 0) for _ in range(4)]
    free(b, 0, pfns[0])
    free(b, 0, pfns[2])
    t = int(z.eng[E_NOW])
    merges = int(z.ev[EV_MERGES])
    merge_fresh(z, b.ps, 0, int(z.pcp[0, PCP_COUNT]))
    assert z.ev[EV_MERGES] == merges
    assert z.eng[E_NOW] == t


# --- 4. remote frees in folio batches; lines moved only when another CPU touched them -------


def test_remote_free_batch_takes_the_owners_lock_once():
    """free_unref_folios(): one pcp->lock round trip for a batch of 31 pages of one owner."""
    b = box("pcp-buddy")
    z = b.z
    pfns = [alloc(b, 0) for _ in range(31)]
    z.ag[1, AG_IN_BATCH] = 1
    for pfn in pfns:
        free(b, 1, pfn)
    batch_lock_release(z, 1)
    z.ag[1, AG_IN_BATCH] = 0
    assert z.ev[EV_REMOTE_FREE] == 31
    assert z.ev[EV_PCP_LOCK_REMOTE] == 1


def test_second_remote_free_pays_no_line_transfer():
    """The first remote free moves the owner's lock line and PCP lines to CPU 1; the next one
    from CPU 1 finds them there (cacheline_near_ns = 40 each; remote_free_lines = 2)."""
    b = box("pcp-buddy")
    z = b.z
    pfns = [alloc(b, 0) for _ in range(4)]
    cost = []
    for pfn in (pfns[0], pfns[2]):
        b.tick()
        t = int(z.eng[E_NOW])
        b.pol.free_pcp(z, b.ps, 1, pfn, 0)
        cost.append(int(z.eng[E_NOW]) - t)
    assert cost[0] - cost[1] == 3 * 40


def test_purge_remote_frees_share_lock_round_trips():
    r = simulate(
        Spec(cpus=8, mem_bytes=1 << 30, mix="purge", policy="pcp-buddy", seed=1,
             duration_ns=40_000_000)
    )
    assert r["remote_frees"] > 1000
    assert r["pcp_lock_remote_acquisitions"] < r["remote_frees"] / 10
    one = simulate(
        Spec(cpus=8, mem_bytes=1 << 30, mix="purge", policy="pcp-buddy", seed=1,
             duration_ns=40_000_000, knobs={"folio_batch": 1})
    )
    assert one["pcp_lock_remote_acquisitions"] > 0.9 * one["remote_frees"]


# --- 5. the exit mix draws from the seed -----------------------------------------------------


def test_exit_mix_differs_between_seeds():
    def run(seed):
        return simulate(
            Spec(cpus=4, mem_bytes=256 << 20, mix="exit", seed=seed, duration_ns=40_000_000,
                 mix_params={"rss_bytes": "8MiB", "life_ns": "1ms"})
        )

    a, b = run(1), run(2)
    assert a["pgalloc"] != b["pgalloc"]
    assert a["sys_frac"] != b["sys_frac"]
    assert run(1)["pgalloc"] == a["pgalloc"]


# --- the RFC's open choices ----------------------------------------------------------------


def test_high_growth_by_pages_obtained():
    """high_growth=1: a refill that claims a block raises pcp->high by the 512 pages it got;
    0 (nr_pcp_alloc() as it is): by batch = 63."""
    b = box("pcp-buddy")
    alloc(b, 0)
    assert b.z.pcp[0, PCP_HIGH] == 1760 + 63
    b = box("pcp-buddy", high_growth=1)
    alloc(b, 0)
    assert b.z.pcp[0, PCP_HIGH] == 1760 + 512


def _freed_pairs_box(**knobs):
    b = box("pcp-buddy", **knobs)
    pfns = [alloc(b, 0) for _ in range(64)]
    for pfn in pfns:
        free(b, 0, pfn)
    return b


def test_merge_scope_all_target_whole():
    """64 pages of one owned block freed on its PCP: scope 0 merges all of them (into the
    entries split off the block), scope 1 only until the drain's count (8 pages) is visited,
    scope 2 none while the rest of the block (448 pages) is still allocated... here it is not:
    all 512 are on the PCP, so scope 2 merges as 0 does."""
    merged = {}
    for scope in (0, 1, 2):
        b = _freed_pairs_box(merge_scope=scope)
        merge_fresh(b.z, b.ps, 0, 8)
        merged[scope] = int(b.z.ev[EV_MERGES])
    assert merged[0] > merged[1] > 0
    assert merged[2] == merged[0]
    b = box("pcp-buddy", merge_scope=2)
    pfns = [alloc(b, 0) for _ in range(64)]
    for pfn in pfns[:-1]:  # one page of the block stays allocated
        free(b, 0, pfn)
    merge_fresh(b.z, b.ps, 0, 8)
    assert b.z.ev[EV_MERGES] == 0
