"""The discrete-event engine: the agent with the earliest clock runs its next step.

Agents are the workload CPUs (0 .. nr_cpus-1) and one kswapd per node (nr_cpus + node). A
CPU's step is one operation of its mix (an allocation, or a free or a batch of frees, through
the allocator, then user time), or its vmstat_update() when that is due. Lock requests are
therefore made in clock order and served FIFO (locks.py). Samples of the time series are taken
as the earliest clock passes each sample time; the warm-up, if any, ends the same way and
resets every accumulated counter.

`run` returns at the end time `Z.eng[E_END_NS]`; called again with a later end time it resumes
exactly where it stopped (checked runs use this to look at the state between two steps).
"""

from __future__ import annotations

from allocator.core.consts import (
    GFP_LRU,
    GFP_MOVABLE_PAGE,
    LIST_LRU,
    NODE_ALLOC,
    NODE_ALLOC_MOVABLE,
    OP_ALLOC,
    OP_FREE_NEWEST,
    OP_FREE_OLDEST,
    PAGEBLOCK_NR_PAGES,
    PAGEBLOCK_ORDER,
)
from allocator.core.jit import njit, njit_hooked, njit_hooked_inline
from allocator.core.layout import (
    AG_IN_BATCH,
    AG_LAST_OK,
    AG_LRU_NS,
    AG_NEXT_DECAY,
    AG_NODE,
    AG_OPS,
    AG_RECLAIM_NS,
    AG_SYS_NS,
    E_END_NS,
    E_GMIN,
    E_NEXT_SAMPLE,
    E_NOW,
    E_NSAMPLES,
    E_SAMPLE_NS,
    E_SLOTS_CAP,
    E_SLOTS_FREE,
    E_SLOTS_PEAK,
    E_STEPS,
    E_TRACE_LOST,
    E_TRACE_N,
    E_WARMUP_DONE,
    E_WARMUP_NS,
    EV_ALLOC_FAIL,
    EV_ALLOC_OPS,
    EV_FREE_OPS,
    EV_PGALLOC,
    EV_PGFREE,
    EV_THP_ALLOC,
    EV_THP_FAIL,
    H_ALLOC,
    H_FREE,
    HIST_SUB,
    HIST_SUB_BITS,
    LK_ACQ,
    LK_CONTENDED,
    LK_HOLD_NS,
    LK_WAIT_NS,
    LOCK_ZONE,
    NR_HIST_BUCKETS,
    PCP_HIGH,
    PG_L_LRU,
    PG_LRU_ZONE,
    PG_NR_LRU,
    PG_NR_LRU_PEAK,
    S_ALLOC_FAIL,
    S_FREE_PAGEBLOCKS,
    S_NR_FREE_PAGES,
    S_NR_LRU,
    S_OPS,
    S_PCP_HIGH_MEAN,
    S_PCP_PAGES,
    S_SYS_NS,
    S_T_NS,
    S_UNUSABLE_ORDER9_PERMILLE,
    S_WATERMARK_BOOST,
    S_ZONE_FLAGS,
    S_ZONE_LOCK_ACQ,
    S_ZONE_LOCK_WAIT_NS,
    TR_ALLOC,
    TR_FREE,
    ZC_FLAGS,
    ZC_L_MIX0,
    ZC_NODE,
    ZC_NR_CPUS,
    ZC_NR_FREE_PAGES,
    ZC_NUMA_FOREIGN,
    ZC_NUMA_HIT,
    ZC_NUMA_LOCAL,
    ZC_NUMA_MISS,
    ZC_NUMA_OTHER,
    ZC_PB_FIRST,
    ZC_PCP_PAGES,
    ZC_PCP_PAGES_PEAK,
    ZC_WATERMARK_BOOST,
)
from allocator.core.lists import list_add_tail, list_del, list_first, list_last
from allocator.core.scheduler import tree_update
from allocator.core.zones import zone_at
from allocator.mm.buddy import node_pfn
from allocator.mm.page_alloc import alloc_pages, batch_release, free_pages, page_zone_id
from allocator.mm.swap import folio_add_lru, folios_put_lru
from allocator.mm.tracepoints import trace_event
from allocator.mm.vmscan import kswapd_step
from allocator.mm.vmstat import free_blocks_suitable
from allocator.params.knobs import K_LRU_LOCK, K_VMSTAT_INTERVAL_MS

# --- statistics helpers (cached) -------------------------------------------------------------


@njit
def hist_bucket(v):
    """Log-linear bucket: exact below 64, then 32 sub-buckets per power of two."""
    if v < 2 * HIST_SUB:
        return v if v >= 0 else 0
    e = HIST_SUB_BITS + 1
    while (v >> (e + 1)) > 0:
        e += 1
    shift = e - HIST_SUB_BITS
    b = (shift + 1) * HIST_SUB + ((v >> shift) - HIST_SUB)
    return b if b < NR_HIST_BUCKETS else NR_HIST_BUCKETS - 1


@njit
def hist_record(z, h, v):
    z.hist[h, hist_bucket(v)] += 1
    if v > z.hmax[h]:
        z.hmax[h] = v


@njit
def take_sample(zs, t):
    """One row of the time series: the machine's (every zone's and node's counts summed; the
    unusable index over the summed free areas; pcp->high the mean over CPUs of each one's
    PCP in its node's highest zone; the zones' flags or'ed)."""
    z = zs[0]
    row = z.eng[E_NSAMPLES]
    if row >= z.samples.shape[0]:
        return False
    s = z.samples
    ncpu = z.zc[ZC_NR_CPUS]
    ops = 0
    sys_ns = 0
    high = 0
    for a in range(ncpu):
        ops += z.ag[a, AG_OPS]
        sys_ns += z.ag[a, AG_SYS_NS]
        high += zone_at(zs, home_zone(zs, a)).pcp[a, PCP_HIGH]
    free = 0
    pcp = 0
    blocks = 0
    acq = 0
    wait = 0
    flags = 0
    boost = 0
    for k in range(len(zs)):
        zk = zone_at(zs, k)
        free += zk.zc[ZC_NR_FREE_PAGES]
        pcp += zk.zc[ZC_PCP_PAGES]
        blocks += free_blocks_suitable(zk, PAGEBLOCK_ORDER)
        acq += zk.lk[LOCK_ZONE, LK_ACQ]
        wait += zk.lk[LOCK_ZONE, LK_WAIT_NS]
        flags |= zk.zc[ZC_FLAGS]
        boost += zk.zc[ZC_WATERMARK_BOOST]
    lru = 0
    for n in range(z.pgdat.shape[0]):
        lru += z.pgdat[n, PG_NR_LRU]
    s[row, S_T_NS] = t
    s[row, S_OPS] = ops
    s[row, S_SYS_NS] = sys_ns
    s[row, S_NR_FREE_PAGES] = free
    s[row, S_PCP_PAGES] = pcp
    s[row, S_FREE_PAGEBLOCKS] = blocks
    s[row, S_UNUSABLE_ORDER9_PERMILLE] = (
        (free - (blocks << PAGEBLOCK_ORDER)) * 1000 // free if free else 1000)
    s[row, S_NR_LRU] = lru
    s[row, S_ZONE_LOCK_ACQ] = acq
    s[row, S_ZONE_LOCK_WAIT_NS] = wait
    s[row, S_PCP_HIGH_MEAN] = high // ncpu
    s[row, S_ZONE_FLAGS] = flags
    s[row, S_WATERMARK_BOOST] = boost
    s[row, S_ALLOC_FAIL] = z.ev[EV_ALLOC_FAIL]
    z.eng[E_NSAMPLES] = row + 1
    return True


@njit
def end_warmup(zs):
    """Zero every accumulated counter: metrics cover [warmup, end)."""
    z = zs[0]
    z.ev[:] = 0
    z.hist[:, :] = 0
    z.hmax[:] = 0
    for k in range(len(zs)):
        zk = zone_at(zs, k)
        for lock in range(zk.lk.shape[0]):
            zk.lk[lock, LK_ACQ] = 0
            zk.lk[lock, LK_CONTENDED] = 0
            zk.lk[lock, LK_WAIT_NS] = 0
            zk.lk[lock, LK_HOLD_NS] = 0
        zk.zc[ZC_PCP_PAGES_PEAK] = zk.zc[ZC_PCP_PAGES]
        zk.zc[ZC_NUMA_HIT] = 0
        zk.zc[ZC_NUMA_MISS] = 0
        zk.zc[ZC_NUMA_FOREIGN] = 0
        zk.zc[ZC_NUMA_LOCAL] = 0
        zk.zc[ZC_NUMA_OTHER] = 0
    for a in range(z.ag.shape[0]):
        z.ag[a, AG_SYS_NS] = 0
        z.ag[a, AG_LRU_NS] = 0
        z.ag[a, AG_OPS] = 0
        z.ag[a, AG_RECLAIM_NS] = 0
    for n in range(z.pgdat.shape[0]):
        z.pgdat[n, PG_NR_LRU_PEAK] = z.pgdat[n, PG_NR_LRU]
    z.eng[E_SLOTS_PEAK] = z.eng[E_SLOTS_CAP] - z.eng[E_SLOTS_FREE]
    z.eng[E_TRACE_N] = 0
    z.eng[E_TRACE_LOST] = 0
    z.eng[E_WARMUP_DONE] = 1


@njit(inline="always")
def home_zone(zs, cpu):
    """The zone a CPU's node-local allocations land in first: its node's highest (the first of
    its zonelist), whose last lock row is the node's lru_lock."""
    z = zs[0]
    return z.pgdat[z.ag[cpu, AG_NODE], PG_LRU_ZONE]


# --- one workload operation (calls hooks: compiled into engine_cache.py's engine) -----------


@njit_hooked_inline
def do_alloc(zs, pss, cpu, order, mt, gfp, lst, pol):
    """One allocation; the page goes on the mix's list `lst`, or, for a page-cache page
    (GFP_LRU), on its node's LRU. Returns the zone id it came from, -1 if it failed."""
    z = zs[0]
    z.ev[EV_ALLOC_OPS] += 1
    if order == PAGEBLOCK_ORDER:
        z.ev[EV_THP_ALLOC] += 1
    k, node = alloc_pages(zs, pss, cpu, order, mt, gfp, pol)
    if z.trace.shape[0]:
        pfn = -1
        if node >= 0:
            zk = zone_at(zs, k)
            pfn = node_pfn(zk, node) + zk.zc[ZC_PB_FIRST] * PAGEBLOCK_NR_PAGES
        trace_event(z, TR_ALLOC, cpu, pfn, order, mt, gfp)
    if node < 0:
        z.ev[EV_ALLOC_FAIL] += 1
        if order == PAGEBLOCK_ORDER:
            z.ev[EV_THP_FAIL] += 1
        z.ag[cpu, AG_LAST_OK] = 0
        return -1
    z.ag[cpu, AG_LAST_OK] = 1
    z.ev[EV_PGALLOC] += 1 << order
    z.nstate[node] = NODE_ALLOC_MOVABLE if gfp & GFP_MOVABLE_PAGE else NODE_ALLOC
    z.norder[node] = order
    if gfp & GFP_LRU:
        nid = zone_at(zs, k).zc[ZC_NODE]
        list_add_tail(z, z.pgdat[nid, PG_L_LRU], node)
        lru = z.pgdat[nid, PG_NR_LRU] + (1 << order)
        z.pgdat[nid, PG_NR_LRU] = lru
        if lru > z.pgdat[nid, PG_NR_LRU_PEAK]:
            z.pgdat[nid, PG_NR_LRU_PEAK] = lru
    else:
        list_add_tail(z, z.zc[ZC_L_MIX0] + lst, node)
    return k


@njit(inline="always")
def mix_list(z, cpu, lst):
    """The sentinel of mix list `lst`, or of the CPU's node's file LRU for LIST_LRU."""
    return z.pgdat[z.ag[cpu, AG_NODE], PG_L_LRU] if lst == LIST_LRU else z.zc[ZC_L_MIX0] + lst


@njit_hooked_inline
def do_free(zs, pss, cpu, lst, newest, pol):
    """Free the newest or oldest entry of mix list `lst`, or, for LIST_LRU, of the file LRU of
    the CPU's node: a truncation (truncate_inode_pages_range() -> folios_put() ->
    free_unref_folios(), mm/truncate.c and mm/swap.c, v6.18) takes the page out of the page
    cache and off the LRU."""
    z = zs[0]
    sentinel = mix_list(z, cpu, lst)
    node = list_last(z, sentinel) if newest else list_first(z, sentinel)
    if node < 0:
        return False
    list_del(z, node)
    if lst == LIST_LRU:
        z.pgdat[z.ag[cpu, AG_NODE], PG_NR_LRU] -= 1 << int(z.norder[node])
    if z.trace.shape[0]:
        zk = zone_at(zs, page_zone_id(zs, node))
        pfn = node_pfn(zk, node) + zk.zc[ZC_PB_FIRST] * PAGEBLOCK_NR_PAGES
        trace_event(z, TR_FREE, cpu, pfn, int(z.norder[node]), 0, 0)
    z.ev[EV_FREE_OPS] += 1
    z.ev[EV_PGFREE] += 1 << int(z.norder[node])
    free_pages(zs, pss, cpu, node, pol)
    return True


@njit_hooked_inline
def free_batch(zs, pss, cpu, lst, newest, nr, pol):
    """Free `nr` entries of a mix list (nr <= 1: one), as release_pages() /
    folios_put_refs() hand a folio batch to free_unref_folios(), which keeps one pcp->lock
    across the batch (locks.batch_lock_*). Each page is a completed operation with its own
    latency; the batch's lock is released after its last page."""
    z = zs[0]
    batched = nr > 1
    if batched:
        z.ag[cpu, AG_IN_BATCH] = 1
    for _ in range(max(nr, 1)):
        t = z.eng[E_NOW]
        if not do_free(zs, pss, cpu, lst, newest, pol):
            break
        hist_record(z, H_FREE, z.eng[E_NOW] - t)
        z.ag[cpu, AG_OPS] += 1
    if batched:
        batch_release(zs, cpu)
        z.ag[cpu, AG_IN_BATCH] = 0


@njit_hooked
def run(zs, pss, ms, pol, next_op):
    """Run until the earliest agent's clock reaches the end time. `zs`: the machine's zones
    (node, then zone order), `pss` each one's policy state. Policy gauges are sampled in the
    last zone, the last node's highest: the zone the symmetric shortcut simulates."""
    z = zs[0]
    last = len(zs) - 1
    end = z.eng[E_END_NS]
    ncpu = z.zc[ZC_NR_CPUS]
    interval = z.knob[K_VMSTAT_INTERVAL_MS] * 1_000_000
    lru_lock = z.knob[K_LRU_LOCK]
    while True:
        a = z.tree[1]
        t = z.clock[a]
        while z.eng[E_NEXT_SAMPLE] <= t and z.eng[E_NEXT_SAMPLE] <= end:
            if not z.eng[E_WARMUP_DONE] and z.eng[E_NEXT_SAMPLE] >= z.eng[E_WARMUP_NS]:
                end_warmup(zs)
            if take_sample(zs, z.eng[E_NEXT_SAMPLE]):
                pol.sample(zone_at(zs, last), zone_at(pss, last), z.eng[E_NSAMPLES] - 1)
            z.eng[E_NEXT_SAMPLE] += z.eng[E_SAMPLE_NS]
        if not z.eng[E_WARMUP_DONE] and t >= z.eng[E_WARMUP_NS]:
            end_warmup(zs)
        if t >= end:
            return
        z.eng[E_STEPS] += 1
        z.eng[E_NOW] = t
        z.eng[E_GMIN] = t
        if a >= ncpu:
            kswapd_step(zs, pss, a - ncpu, pol)
        elif t >= z.ag[a, AG_NEXT_DECAY]:
            for k in range(len(zs)):  # refresh_cpu_vm_stats(): every populated zone
                pol.decay_pcp_high(zone_at(zs, k), zone_at(pss, k), a)
            z.ag[a, AG_NEXT_DECAY] += interval
            z.ag[a, AG_SYS_NS] += z.eng[E_NOW] - t
            z.clock[a] = z.eng[E_NOW]
        else:
            home = zone_at(zs, home_zone(zs, a))
            op, order, mt, gfp, lst, user_ns = next_op(home, ms, a)
            lru_ns = z.ag[a, AG_LRU_NS]  # LRU time is kernel time, not the allocator's
            if op == OP_ALLOC:
                k = do_alloc(zs, pss, a, order, mt, gfp, lst, pol)
                hist_record(z, H_ALLOC, z.eng[E_NOW] - t)
                z.ag[a, AG_OPS] += 1
                if lru_lock and gfp & GFP_MOVABLE_PAGE and k >= 0:
                    lru_zone = z.pgdat[zone_at(zs, k).zc[ZC_NODE], PG_LRU_ZONE]
                    folio_add_lru(zone_at(zs, lru_zone), a, order)
            elif op == OP_FREE_OLDEST or op == OP_FREE_NEWEST:
                if lru_lock:
                    folios_put_lru(home, a, mix_list(z, a, lst), op == OP_FREE_NEWEST,
                                   max(order, 1))
                free_batch(zs, pss, a, lst, op == OP_FREE_NEWEST, order, pol)
            z.ag[a, AG_SYS_NS] += z.eng[E_NOW] - t - (z.ag[a, AG_LRU_NS] - lru_ns)
            z.clock[a] = z.eng[E_NOW] + user_ns
        tree_update(z, a)
