"""The page allocator's entry points: __alloc_pages() with its slow path, and the free path.

These call the policy's hooks (`pol`, a policy.PolicyHooks of compiled functions), so they are
compiled inside the engine of each (policy, mix), which engine_cache.py caches on disk (see
core.jit.njit_hooked).
"""

from __future__ import annotations

from allocator.core.consts import (
    ALLOC_WMARK_HIGH,
    ALLOC_WMARK_LOW,
    ALLOC_WMARK_MIN,
    GFP_DIRECT_RECLAIM,
    MAX_RECLAIM_RETRIES,
    PAGE_ALLOC_COSTLY_ORDER,
    SWAP_CLUSTER_MAX,
    ZONE_BELOW_HIGH,
    ZONE_BOOSTED_WATERMARK,
)
from allocator.core.jit import njit, njit_hooked
from allocator.core.layout import (
    AG_IN_BATCH,
    AG_RECLAIM_NS,
    E_NOW,
    EV_ALLOCSTALL,
    EV_BUDDY_ALLOC,
    EV_DRAIN_ALL,
    EV_KSWAPD_WAKE,
    EV_PCP_ALLOC_MISS,
    EV_PGSTEAL_DIRECT,
    EV_ZONE_LOCK_PAGES,
    LOCK_ZONE,
    PCP_COUNT,
    ZC_FLAGS,
    ZC_KSWAPD,
    ZC_KSWAPD_AWAKE,
    ZC_KSWAPD_FAILURES,
    ZC_L_LRU,
    ZC_NR_CPUS,
    ZC_NR_LRU,
)
from allocator.core.lists import list_del, list_first
from allocator.core.scheduler import tree_update
from allocator.mm.buddy import __rmqueue, node_pfn, pfn_node
from allocator.mm.locks import batch_lock_release, spin_unlock, zone_spin_lock
from allocator.mm.pcp import free_one_page, pcp_allowed_order
from allocator.mm.watermark import wmark_pages, zone_watermark_ok
from allocator.params.costs import C_RECLAIM_PAGE
from allocator.params.knobs import K_KSWAPD, K_ZONE_BELOW_HIGH


@njit
def wakeup_kswapd(z):
    """wakeup_kswapd(): kswapd becomes runnable at the waker's time, unless it is awake or has
    failed MAX_RECLAIM_RETRIES times in a row (pgdat->kswapd_failures) since reclaim last
    made progress."""
    if z.knob[K_KSWAPD] == 0 or z.zc[ZC_KSWAPD_AWAKE]:
        return
    if z.zc[ZC_KSWAPD_FAILURES] >= MAX_RECLAIM_RETRIES:
        return
    k = z.zc[ZC_KSWAPD]
    z.zc[ZC_KSWAPD_AWAKE] = 1
    z.clock[k] = z.eng[E_NOW]
    z.ev[EV_KSWAPD_WAKE] += 1
    tree_update(z, k)


# --- allocation ------------------------------------------------------------------------------


@njit
def rmqueue_buddy(z, cpu, order, mt):
    """rmqueue_buddy(): one entry straight from the zone under zone->lock."""
    zone_spin_lock(z, cpu)
    pfn, _ = __rmqueue(z, order, mt, 0)
    spin_unlock(z, LOCK_ZONE)
    if pfn < 0:
        return -1
    z.ev[EV_BUDDY_ALLOC] += 1
    z.ev[EV_ZONE_LOCK_PAGES] += 1 << order
    return pfn_node(z, pfn, order)


@njit_hooked
def rmqueue(z, ps, cpu, order, mt, pol):
    """rmqueue(): the PCP for pcp_allowed_order(), else (or if the PCP fails) the buddy."""
    node = -1
    if pcp_allowed_order(z, order):
        node = pol.rmqueue_pcplist(z, ps, cpu, order, mt)
    else:
        z.ev[EV_PCP_ALLOC_MISS] += 1
    if node < 0:
        node = rmqueue_buddy(z, cpu, order, mt)
    if z.zc[ZC_FLAGS] & ZONE_BOOSTED_WATERMARK:
        z.zc[ZC_FLAGS] &= ~ZONE_BOOSTED_WATERMARK
        wakeup_kswapd(z)
    return node


@njit_hooked
def get_page_from_freelist(z, ps, cpu, order, mt, alloc_flags, pol):
    """get_page_from_freelist() for the one zone: above the high mark, take a page; else flag
    ZONE_BELOW_HIGH (so frees shrink the PCPs) and check the requested mark first. Before
    57c0419c5f0e (v6.7 8/9) only the requested mark was checked."""
    if z.knob[K_ZONE_BELOW_HIGH] and not (z.zc[ZC_FLAGS] & ZONE_BELOW_HIGH):
        if zone_watermark_ok(z, order, wmark_pages(z, ALLOC_WMARK_HIGH)):
            return rmqueue(z, ps, cpu, order, mt, pol)
        z.zc[ZC_FLAGS] |= ZONE_BELOW_HIGH
    if not zone_watermark_ok(z, order, wmark_pages(z, alloc_flags)):
        return -1
    return rmqueue(z, ps, cpu, order, mt, pol)


@njit_hooked
def alloc_pages(z, ps, cpu, order, mt, gfp, pol):
    """__alloc_pages(): the fast path at the low mark; the slow path wakes kswapd, retries at
    the min mark, then (if the caller may block) reclaims directly and drains all PCPs once,
    up to MAX_RECLAIM_RETRIES rounds (one for costly orders). Returns a node or -1."""
    node = get_page_from_freelist(z, ps, cpu, order, mt, ALLOC_WMARK_LOW, pol)
    if node >= 0:
        return node
    wakeup_kswapd(z)
    node = get_page_from_freelist(z, ps, cpu, order, mt, ALLOC_WMARK_MIN, pol)
    if node >= 0 or not (gfp & GFP_DIRECT_RECLAIM):
        return node
    z.ev[EV_ALLOCSTALL] += 1
    t0 = z.eng[E_NOW]
    drained = False
    rounds = 1 if order > PAGE_ALLOC_COSTLY_ORDER else MAX_RECLAIM_RETRIES
    for _ in range(rounds):
        progress = shrink_lru(z, ps, cpu, SWAP_CLUSTER_MAX, pol)
        z.ev[EV_PGSTEAL_DIRECT] += progress
        node = get_page_from_freelist(z, ps, cpu, order, mt, ALLOC_WMARK_MIN, pol)
        if node >= 0:
            break
        if not drained:
            drain_all_pages(z, ps, cpu, pol)
            drained = True
            node = get_page_from_freelist(z, ps, cpu, order, mt, ALLOC_WMARK_MIN, pol)
            if node >= 0:
                break
        if progress == 0 and drained:
            break
    z.ag[cpu, AG_RECLAIM_NS] += z.eng[E_NOW] - t0
    return node


# --- free ------------------------------------------------------------------------------------


@njit_hooked
def free_pages(z, ps, cpu, node, pol):
    """__free_pages(): PCP-sized entries through the policy, others to the zone."""
    order = int(z.norder[node])
    pfn = node_pfn(z, node)
    if pcp_allowed_order(z, order):
        pol.free_pcp(z, ps, cpu, pfn, order)
    else:
        free_one_page(z, cpu, pfn, order)


@njit_hooked
def drain_all_pages(z, ps, cpu, pol):
    """drain_all_pages(): every CPU's PCP (and kswapd's) drained by `cpu`, one after another
    (pcpu_drain_mutex serialises callers)."""
    z.ev[EV_DRAIN_ALL] += 1
    for target in range(z.zc[ZC_NR_CPUS] + 1):
        if z.pcp[target, PCP_COUNT] > 0:
            pol.drain_pages(z, ps, cpu, target)


# --- reclaim -----------------------------------------------------------------------------------


@njit_hooked
def shrink_lru(z, ps, cpu, nr_to_reclaim, pol):
    """shrink_inactive_list() on the one file LRU: reclaim the oldest page-cache pages and free
    them through the normal free path (free_unref_folios). Anonymous memory is not reclaimed
    (no swap), as one folio batch: shrink_folio_list() frees its folios with
    free_unref_folios(), one pcp->lock hold for them (locks.batch_lock_*). Returns pages
    reclaimed."""
    got = 0
    z.ag[cpu, AG_IN_BATCH] = 1
    while got < nr_to_reclaim:
        node = list_first(z, z.zc[ZC_L_LRU])
        if node < 0:
            break
        list_del(z, node)
        pages = 1 << int(z.norder[node])
        z.zc[ZC_NR_LRU] -= pages
        z.eng[E_NOW] += pages * z.cost[C_RECLAIM_PAGE]
        free_pages(z, ps, cpu, node, pol)
        got += pages
    batch_lock_release(z, cpu)
    z.ag[cpu, AG_IN_BATCH] = 0
    if got:
        z.zc[ZC_KSWAPD_FAILURES] = 0  # shrink_node() made progress
    return got
