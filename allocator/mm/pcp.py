"""The per-CPU page lists' machinery as upstream has it (mm/page_alloc.c, v6.10 .. v7.0-rc).

Each upstream commit the model can revert (params/history.py) is a knob slot read here; where
one is reverted the code is as it was before that commit (the functions' docstrings say what
changes). With every slot at 1 this is v7.0.

Sizing (`nr_pcp_alloc`, `nr_pcp_high`, `nr_pcp_free`), the zone->lock transactions
(`rmqueue_bulk`, `free_pcppages_bulk`) and their helpers. Policies build on these; the
`upstream` policy is little more than the kernel's callers of them. Agents index PCPs: agent
`a < nr_cpus` is CPU a, the last agent is kswapd's CPU.
"""

from __future__ import annotations

from allocator.core.consts import (
    MIGRATE_MOVABLE,
    MIGRATE_PCPTYPES,
    NODE_PCP,
    NR_LOWORDER_PCP_LISTS,
    NR_PCP_LISTS,
    PAGE_ALLOC_COSTLY_ORDER,
    PAGEBLOCK_ORDER,
    PCPF_FREE_HIGH_BATCH,
    PCPF_PREV_FREE_HIGH_ORDER,
    ZONE_BELOW_HIGH,
    ZONE_RECLAIM_ACTIVE,
)
from allocator.core.jit import njit
from allocator.core.layout import (
    EV_DECAY,
    EV_FREE_HIGH,
    EV_PCP_DRAIN,
    EV_PCP_DRAIN_PAGES,
    EV_PCP_REFILL,
    EV_PCP_REFILL_PAGES,
    EV_ZONE_FREE_ONE,
    EV_ZONE_LOCK_PAGES,
    LOCK_ZONE,
    PCP_ALLOC_FACTOR,
    PCP_BATCH,
    PCP_COUNT,
    PCP_FLAGS,
    PCP_FREE_COUNT,
    PCP_HIGH,
    PCP_HIGH_MAX,
    PCP_HIGH_MIN,
    TR_PCPU_DRAIN,
    ZC_FLAGS,
    ZC_L_PCP0,
    ZC_PCP_NLISTS,
    ZC_PCP_PAGES,
    ZC_PCP_PAGES_PEAK,
)
from allocator.core.lists import list_add_tail, list_del, list_empty, list_last
from allocator.mm.buddy import __free_one_page, __rmqueue, node_pfn, pfn_node
from allocator.mm.locks import pcp_spin_relock, spin_unlock, zone_spin_lock
from allocator.mm.tracepoints import trace_event
from allocator.mm.watermark import wmark_pages, zone_watermark_ok
from allocator.params.costs import C_PCP_LOCK
from allocator.params.knobs import (
    K_ALLOC_FACTOR,
    K_BATCH_SCALE_MAX,
    K_DECAY_IN_BATCHES,
    K_FREE_COUNT,
    K_FREE_FACTOR,
    K_FREE_HIGH_BATCH,
    K_FREE_HIGH_PREV_ORDER,
    K_FREE_HIGH_THRESHOLD,
    K_FREE_IN_BATCHES,
    K_PCP_BATCH_SCALE_MAX,
    K_PCP_HIGH_AUTOTUNE,
    K_PCP_HIGH_ORDER,
    K_PCP_RECLAIM_LIMIT,
    K_RMQUEUE_MODE,
    K_THP,
    K_ZONE_BELOW_HIGH,
)

# --- list layout ---------------------------------------------------------------------------


@njit
def pcp_allowed_order(z, order):
    """pcp_allowed_order(): orders up to PAGE_ALLOC_COSTLY_ORDER, and THPs when enabled;
    before 44042b449872 (v5.14) order 0 only."""
    if not z.knob[K_PCP_HIGH_ORDER]:
        return order == 0
    if order <= PAGE_ALLOC_COSTLY_ORDER:
        return True
    return order == PAGEBLOCK_ORDER and z.knob[K_THP] != 0


@njit
def order_to_pindex(mt, order):
    """order_to_pindex(): 3 * order + migratetype; THPs on two lists of their own."""
    if order > PAGE_ALLOC_COSTLY_ORDER:
        return NR_LOWORDER_PCP_LISTS + (1 if mt == MIGRATE_MOVABLE else 0)
    return MIGRATE_PCPTYPES * order + mt


@njit
def pindex_to_order(pindex):
    if pindex >= NR_LOWORDER_PCP_LISTS:
        return PAGEBLOCK_ORDER
    return pindex // MIGRATE_PCPTYPES


@njit
def pcp_list(z, agent, pindex):
    """List id of `agent`'s pcp->lists[pindex]."""
    return z.zc[ZC_L_PCP0] + agent * z.zc[ZC_PCP_NLISTS] + pindex


@njit
def pcp_count_add(z, agent, pages):
    """pcp->count += pages, and the machine-wide total used for metrics."""
    z.pcp[agent, PCP_COUNT] += pages
    total = z.zc[ZC_PCP_PAGES] + pages
    z.zc[ZC_PCP_PAGES] = total
    if total > z.zc[ZC_PCP_PAGES_PEAK]:
        z.zc[ZC_PCP_PAGES_PEAK] = total


@njit
def pcp_high_clamp(z, agent):
    """pcp->high = clamp(pcp->high, high_min, high_max), as every reader does."""
    high = min(max(z.pcp[agent, PCP_HIGH], z.pcp[agent, PCP_HIGH_MIN]), z.pcp[agent, PCP_HIGH_MAX])
    z.pcp[agent, PCP_HIGH] = high
    return high


# --- sizing --------------------------------------------------------------------------------


@njit
def pcp_high_may_grow(z, agent):
    """nr_pcp_alloc() raises pcp->high only when auto-tuning is on (high_min != high_max)
    and the zone is not below its high watermark (ZONE_BELOW_HIGH); before 57c0419c5f0e
    (v6.7 8/9) the test was ZONE_RECLAIM_ACTIVE, as 51a755c56dc0 had it."""
    stop = ZONE_BELOW_HIGH if z.knob[K_ZONE_BELOW_HIGH] else ZONE_RECLAIM_ACTIVE
    return z.pcp[agent, PCP_HIGH_MIN] != z.pcp[agent, PCP_HIGH_MAX] and not (
        z.zc[ZC_FLAGS] & stop
    )


@njit
def nr_pcp_alloc(z, agent, order):
    """nr_pcp_alloc(): how many entries a refill takes; grows pcp->high and alloc_factor.
    Before c0a242394cb9 (v6.7 5/9) __rmqueue_pcplist() took batch >> order (at least 2)."""
    base_batch = z.pcp[agent, PCP_BATCH]
    if not z.knob[K_ALLOC_FACTOR]:
        return max(base_batch >> order, 2) if base_batch > 1 else base_batch
    high_max = z.pcp[agent, PCP_HIGH_MAX]
    high = pcp_high_clamp(z, agent)
    if high < base_batch:
        return 1
    if order:
        batch = base_batch
    else:
        batch = base_batch << z.pcp[agent, PCP_ALLOC_FACTOR]
    if pcp_high_may_grow(z, agent):
        high = min(high + batch, high_max)
        z.pcp[agent, PCP_HIGH] = high
    if order == 0:
        max_nr_alloc = max(high - z.pcp[agent, PCP_COUNT] - base_batch, base_batch)
        if batch <= max_nr_alloc and z.pcp[agent, PCP_ALLOC_FACTOR] < scale_max(z):
            z.pcp[agent, PCP_ALLOC_FACTOR] += 1
        batch = min(batch, max_nr_alloc)
    if batch > 1:
        batch = max(batch >> order, 2)
    return batch


@njit
def scale_max(z):
    """CONFIG_PCP_BATCH_SCALE_MAX; before 52166607ecc9 (v6.7 4/9) no cap: alloc_factor and
    free_factor grew while the batch fitted (63 bounds them)."""
    return z.knob[K_PCP_BATCH_SCALE_MAX] if z.knob[K_BATCH_SCALE_MAX] else 63


@njit
def freed_run(z, agent, batch):
    """The pages the CPU has freed since it last allocated, as the sizing reads them:
    max(free_count, batch) (6ccdcb6d3a74, v6.7 9/9), batch << free_factor before it."""
    if z.knob[K_FREE_COUNT]:
        return max(z.pcp[agent, PCP_FREE_COUNT], batch)
    return batch << z.pcp[agent, PCP_FREE_COUNT]  # the slot held free_factor


@njit
def nr_pcp_high(z, agent, batch, free_high):
    """nr_pcp_high(): the count above which a free drains; adjusts pcp->high on the way.
    Before 51a755c56dc0 (v6.7 7/9) it only read high: 0 for free_high, min(4 * batch, high)
    while kswapd reclaims (c49c2c47dab6, v5.14), else high. The ZONE_BELOW_HIGH branch is
    57c0419c5f0e's (v6.7 8/9)."""
    high_min = z.pcp[agent, PCP_HIGH_MIN]
    high_max = z.pcp[agent, PCP_HIGH_MAX]
    high = pcp_high_clamp(z, agent)
    if high == 0:
        return 0
    flags = z.zc[ZC_FLAGS]
    if not z.knob[K_PCP_HIGH_AUTOTUNE]:
        if free_high:
            return 0
        if (flags & ZONE_RECLAIM_ACTIVE) and z.knob[K_PCP_RECLAIM_LIMIT]:
            return min(batch << 2, high)
        return high
    scale = z.knob[K_PCP_BATCH_SCALE_MAX]
    if free_high:
        z.pcp[agent, PCP_HIGH] = max(high - (batch << scale), high_min)
        return 0
    if flags & ZONE_RECLAIM_ACTIVE:
        z.pcp[agent, PCP_HIGH] = max(high - freed_run(z, agent, batch), high_min)
        return min(batch << 2, z.pcp[agent, PCP_HIGH])
    if high_min == high_max:
        return high
    count = z.pcp[agent, PCP_COUNT]
    if flags & ZONE_BELOW_HIGH:
        z.pcp[agent, PCP_HIGH] = max(high - freed_run(z, agent, batch), high_min)
        high = max(count, high_min)
    elif count >= high:
        if z.knob[K_FREE_COUNT]:
            need_high = z.pcp[agent, PCP_FREE_COUNT] + batch
        else:
            need_high = (batch << z.pcp[agent, PCP_FREE_COUNT]) + batch
        if z.pcp[agent, PCP_HIGH] < need_high:
            z.pcp[agent, PCP_HIGH] = min(max(need_high, high_min), high_max)
    return high


@njit
def nr_pcp_free(z, agent, batch, high, free_high):
    """nr_pcp_free(): how many pages a drain frees. free_high frees batch << 5 (everything
    before 51a755c56dc0); otherwise clamp(free_count, batch, high - batch) (6ccdcb6d3a74),
    before it batch << free_factor in the same bounds, free_factor growing by one while
    batch << free_factor fit below high - batch (<= from 51a755c56dc0, < before), up to the
    scale maximum (52166607ecc9); before 3b12e7e97938 (v5.14) a drain freed batch pages."""
    count = z.pcp[agent, PCP_COUNT]
    if free_high:
        if z.knob[K_PCP_HIGH_AUTOTUNE]:
            return min(count, batch << z.knob[K_PCP_BATCH_SCALE_MAX])
        return count
    if not z.knob[K_FREE_FACTOR]:
        return batch
    if high < batch:
        return 1
    if z.knob[K_FREE_COUNT]:
        # clamp(free_count, batch, high - batch): leave at least batch, free at least batch
        return min(max(z.pcp[agent, PCP_FREE_COUNT], batch), high - batch)
    factor = z.pcp[agent, PCP_FREE_COUNT]  # the slot held free_factor
    max_nr_free = high - batch
    scaled = batch << factor
    fits = scaled <= max_nr_free if z.knob[K_PCP_HIGH_AUTOTUNE] else scaled < max_nr_free
    if fits and factor < scale_max(z):
        z.pcp[agent, PCP_FREE_COUNT] = factor + 1
    return min(max(scaled, batch), max_nr_free)


@njit
def pcp_free_accounting(z, agent, order):
    """The bookkeeping of free_frozen_page_commit() once the page is listed: halve
    alloc_factor (c0a242394cb9), decide free_high (a run of order 1..3 frees past the
    threshold), count the free. Returns free_high.

    free_high: free_count >= batch + high_min / 2 (c544a952ba61, v6.16), >= batch before
    it (6ccdcb6d3a74), free_factor != 0 before that; and the previous free was high-order
    too (ca71fe1ad922); and with PCPF_FREE_HIGH_BATCH, count >= batch (362d37a106dd)."""
    if z.knob[K_ALLOC_FACTOR]:
        z.pcp[agent, PCP_ALLOC_FACTOR] >>= 1
    batch = z.pcp[agent, PCP_BATCH]
    flags = z.pcp[agent, PCP_FLAGS]
    free_high = False
    if order and order <= PAGE_ALLOC_COSTLY_ORDER:
        if z.knob[K_FREE_COUNT]:
            threshold = batch
            if z.knob[K_FREE_HIGH_THRESHOLD]:
                threshold = batch + z.pcp[agent, PCP_HIGH_MIN] // 2
            free_high = z.pcp[agent, PCP_FREE_COUNT] >= threshold
        else:
            free_high = z.pcp[agent, PCP_FREE_COUNT] != 0  # free_factor
        if z.knob[K_FREE_HIGH_PREV_ORDER]:
            free_high = free_high and (flags & PCPF_PREV_FREE_HIGH_ORDER) != 0
        if z.knob[K_FREE_HIGH_BATCH] and (flags & PCPF_FREE_HIGH_BATCH):
            free_high = free_high and z.pcp[agent, PCP_COUNT] >= batch
        z.pcp[agent, PCP_FLAGS] = flags | PCPF_PREV_FREE_HIGH_ORDER
    elif flags & PCPF_PREV_FREE_HIGH_ORDER:
        z.pcp[agent, PCP_FLAGS] = flags & ~PCPF_PREV_FREE_HIGH_ORDER
    if z.knob[K_FREE_COUNT] and z.pcp[agent, PCP_FREE_COUNT] < (
        batch << z.knob[K_PCP_BATCH_SCALE_MAX]
    ):
        z.pcp[agent, PCP_FREE_COUNT] += 1 << order
    return free_high


@njit
def decay_high(z, agent):
    """The sizing half of decay_pcp_high(): lower high by 1/8 (never by more than count -
    batch << 5, never below high_min). Returns how many pages are now above it. No decay
    before 51a755c56dc0 (v6.7 7/9): returns 0."""
    if not z.knob[K_PCP_HIGH_AUTOTUNE]:
        return 0
    high_min = z.pcp[agent, PCP_HIGH_MIN]
    high = z.pcp[agent, PCP_HIGH]
    if high > high_min:
        batch = z.pcp[agent, PCP_BATCH]
        count = z.pcp[agent, PCP_COUNT]
        z.pcp[agent, PCP_HIGH] = max(
            count - (batch << z.knob[K_PCP_BATCH_SCALE_MAX]), high - (high >> 3), high_min
        )
        z.ev[EV_DECAY] += 1
    return z.pcp[agent, PCP_COUNT] - z.pcp[agent, PCP_HIGH]


@njit
def nr_pcp_to_free(z, agent, order):
    """The tail of free_frozen_page_commit() once the page is listed: the free accounting,
    nr_pcp_high(), and if count reached it, nr_pcp_free(). Returns (pages to free, or -1 when
    count is below high; the high to drain down to)."""
    free_high = pcp_free_accounting(z, agent, order)
    batch = z.pcp[agent, PCP_BATCH]
    high = nr_pcp_high(z, agent, batch, free_high)
    if z.pcp[agent, PCP_COUNT] < high:
        return -1, high
    if free_high:
        z.ev[EV_FREE_HIGH] += 1
    return nr_pcp_free(z, agent, batch, high, free_high), high


# --- zone->lock transactions --------------------------------------------------------------------


@njit
def rmqueue_bulk(z, cpu, order, count, lst, mt):
    """rmqueue_bulk(): take up to `count` entries of `order` under one zone->lock hold and
    append them to `lst` (tail, so split halves stay in pfn order). Returns entries taken.
    The rmqueue_mode carries over from page to page (90abee6d7895, v6.15); before it each
    page starts afresh."""
    zone_spin_lock(z, cpu)
    mode = 0
    got = 0
    for _ in range(count):
        if not z.knob[K_RMQUEUE_MODE]:
            mode = 0
        pfn, mode = __rmqueue(z, order, mt, mode)
        if pfn < 0:
            break
        node = pfn_node(z, pfn, order)
        z.nstate[node] = NODE_PCP
        z.norder[node] = order
        list_add_tail(z, lst, node)
        got += 1
    spin_unlock(z, LOCK_ZONE)
    z.ev[EV_PCP_REFILL] += 1
    z.ev[EV_PCP_REFILL_PAGES] += got << order
    return got


@njit
def free_pcppages_bulk(z, agent, cpu, count, pindex):
    """free_pcppages_bulk(): under one zone->lock hold, free `count` pages from `agent`'s
    lists round-robin, starting with `pindex`, coldest (tail) entries first."""
    count = min(count, z.pcp[agent, PCP_COUNT])
    if count <= 0:
        return
    zone_spin_lock(z, cpu)
    freed = 0
    pindex = pindex - 1
    while count > 0:
        while True:
            pindex += 1
            if pindex > NR_PCP_LISTS - 1:
                pindex = 0
            lst = pcp_list(z, agent, pindex)
            if not list_empty(z, lst):
                break
        order = pindex_to_order(pindex)
        nr_pages = 1 << order
        while True:
            node = list_last(z, lst)
            list_del(z, node)
            count -= nr_pages
            pcp_count_add(z, agent, -nr_pages)
            freed += nr_pages
            pfn = node_pfn(z, node)
            mt = int(z.pb_mt[pfn >> PAGEBLOCK_ORDER])
            __free_one_page(z, pfn, order, mt, False)
            if z.trace.shape[0]:
                trace_event(z, TR_PCPU_DRAIN, cpu, pfn, order, mt, 0)
            if count <= 0 or list_empty(z, lst):
                break
    spin_unlock(z, LOCK_ZONE)
    z.ev[EV_PCP_DRAIN] += 1
    z.ev[EV_PCP_DRAIN_PAGES] += freed
    z.ev[EV_ZONE_LOCK_PAGES] += freed


@njit
def free_pcp_chunked(z, agent, cpu, to_free, pindex):
    """The drain of free_frozen_page_commit() (v6.19: Joshua Hahn, "mm/page_alloc: Batch page
    freeing in free_frozen_page_commit", v5 as merged): while to_free > 0 and pcp->count > 0,
    free min(to_free, batch) pages under one zone->lock hold, then drop the pcp->lock and
    trylock it again, giving up when that fails. The drain frees all of nr_pcp_free(), not
    just down to high. Before it (commit c5ce37dd3564 reverted), one free_pcppages_bulk()
    call (v6.10 .. v6.18). Returns whether `agent`'s pcp->lock is still held by `cpu`."""
    if not z.knob[K_FREE_IN_BATCHES]:
        free_pcppages_bulk(z, agent, cpu, to_free, pindex)
        return True
    batch = z.pcp[agent, PCP_BATCH]
    while to_free > 0 and z.pcp[agent, PCP_COUNT] > 0:
        chunk = min(to_free, batch)
        free_pcppages_bulk(z, agent, cpu, chunk, pindex)
        to_free -= chunk
        if to_free <= 0 or z.pcp[agent, PCP_COUNT] <= 0:
            break
        if not pcp_spin_relock(z, agent, cpu, z.cost[C_PCP_LOCK]):
            return False
    return True


@njit
def decay_chunks(z, agent, to_drain):
    """decay_pcp_high()'s drain is `to_drain` pages in chunks of batch, each under its own
    pcp->lock hold (v6.19, 9adeb58feed4 "mm/page_alloc: batch page freeing in
    decay_pcp_high"), or one chunk before it. Returns the size of the next chunk (0: done)."""
    if to_drain <= 0:
        return 0
    if not z.knob[K_DECAY_IN_BATCHES]:
        return to_drain
    return min(to_drain, z.pcp[agent, PCP_BATCH])


@njit
def free_one_page(z, cpu, pfn, order):
    """free_one_page(): straight to the zone under zone->lock (non-PCP orders, or the local
    pcp->lock was busy)."""
    zone_spin_lock(z, cpu)
    __free_one_page(z, pfn, order, int(z.pb_mt[pfn >> PAGEBLOCK_ORDER]), False)
    spin_unlock(z, LOCK_ZONE)
    z.ev[EV_ZONE_FREE_ONE] += 1
    z.ev[EV_ZONE_LOCK_PAGES] += 1 << order


@njit
def clear_below_high(z):
    """free_frozen_page_commit() tail: once frees lift the zone over its high watermark,
    ZONE_BELOW_HIGH is cleared so PCPs may grow again."""
    if (z.zc[ZC_FLAGS] & ZONE_BELOW_HIGH) and zone_watermark_ok(z, 0, wmark_pages(z, 2)):
        z.zc[ZC_FLAGS] &= ~ZONE_BELOW_HIGH


@njit
def pcp_entry_take(z, agent, node, order):
    """Unlink an entry from a PCP list for an allocation."""
    list_del(z, node)
    pcp_count_add(z, agent, -(1 << order))
    return node
