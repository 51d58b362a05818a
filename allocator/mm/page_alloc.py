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
    PAGEBLOCK_ORDER,
    SWAP_CLUSTER_MAX,
    ZONE_BELOW_HIGH,
    ZONE_BOOSTED_WATERMARK,
)
from allocator.core.jit import njit, njit_hooked, njit_hooked_inline
from allocator.core.layout import (
    AG_BATCH_LOCK,
    AG_BATCH_ZONE,
    AG_IL_NEXT,
    AG_IN_BATCH,
    AG_NODE,
    AG_RECLAIM_NS,
    E_NOW,
    EV_ALLOCSTALL,
    EV_BUDDY_ALLOC,
    EV_DRAIN_ALL,
    EV_KSWAPD_WAKE,
    EV_NUMA_FOREIGN,
    EV_NUMA_HIT,
    EV_NUMA_LOCAL,
    EV_NUMA_MISS,
    EV_NUMA_OTHER,
    EV_PCP_ALLOC_MISS,
    EV_PGSTEAL_DIRECT,
    EV_ZONE_LOCK_PAGES,
    LOCK_ZONE,
    PCP_COUNT,
    PG_KSWAPD,
    PG_KSWAPD_AWAKE,
    PG_KSWAPD_FAILURES,
    PG_L_LRU,
    PG_NR_LRU,
    PG_ZONELIST,
    ZC_FLAGS,
    ZC_NODE,
    ZC_NR_AGENTS,
    ZC_NUMA_FOREIGN,
    ZC_NUMA_HIT,
    ZC_NUMA_LOCAL,
    ZC_NUMA_MISS,
    ZC_NUMA_OTHER,
    ZC_PB0,
    ZC_PB_FIRST,
    ZC_PG0,
)
from allocator.core.lists import list_del, list_first
from allocator.core.scheduler import tree_update
from allocator.core.zones import zone_at
from allocator.mm.buddy import __rmqueue, node_pfn, pfn_node
from allocator.mm.locks import batch_lock_release, spin_unlock, zone_spin_lock
from allocator.mm.pcp import free_one_page, pcp_allowed_order
from allocator.mm.watermark import wmark_pages, zone_watermark_ok
from allocator.params.costs import C_RECLAIM_PAGE
from allocator.params.knobs import K_INTERLEAVE, K_KSWAPD, K_ZONE_BELOW_HIGH


@njit
def wakeup_kswapd(z):
    """wakeup_kswapd(): the zone's node's kswapd becomes runnable at the waker's time, unless
    it is awake or has failed MAX_RECLAIM_RETRIES times in a row (pgdat->kswapd_failures)
    since reclaim last made progress."""
    nid = z.zc[ZC_NODE]
    if z.knob[K_KSWAPD] == 0 or z.pgdat[nid, PG_KSWAPD_AWAKE]:
        return
    if z.pgdat[nid, PG_KSWAPD_FAILURES] >= MAX_RECLAIM_RETRIES:
        return
    k = z.pgdat[nid, PG_KSWAPD]
    z.pgdat[nid, PG_KSWAPD_AWAKE] = 1
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


@njit_hooked_inline
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


@njit_hooked_inline
def zone_alloc(z, ps, cpu, order, mt, alloc_flags, pol):
    """get_page_from_freelist()'s body for one zone of the zonelist: above the high mark,
    take a page; else flag ZONE_BELOW_HIGH (so frees shrink the PCPs) and check the requested
    mark first (node_reclaim_mode 0: a zone under it is skipped). Before 57c0419c5f0e (v6.7
    8/9) only the requested mark was checked."""
    if z.knob[K_ZONE_BELOW_HIGH] and not (z.zc[ZC_FLAGS] & ZONE_BELOW_HIGH):
        if zone_watermark_ok(z, order, wmark_pages(z, ALLOC_WMARK_HIGH)):
            return rmqueue(z, ps, cpu, order, mt, pol)
        z.zc[ZC_FLAGS] |= ZONE_BELOW_HIGH
    if not zone_watermark_ok(z, order, wmark_pages(z, alloc_flags)):
        return -1
    return rmqueue(z, ps, cpu, order, mt, pol)


@njit(inline="always")
def zone_statistics(zs, preferred, k, cpu):
    """zone_statistics() (mm/page_alloc.c v6.18), one allocation: numa_hit when the zone's
    node is the preferred zone's, else numa_miss here and numa_foreign on the preferred;
    numa_local or numa_other by the allocating CPU's node. Machine-wide in Z.ev, per zone in
    zc (zoneinfo prints them per zone)."""
    z = zone_at(zs, k)
    nid = z.zc[ZC_NODE]
    if nid == zone_at(zs, preferred).zc[ZC_NODE]:
        z.ev[EV_NUMA_HIT] += 1
        z.zc[ZC_NUMA_HIT] += 1
    else:
        z.ev[EV_NUMA_MISS] += 1
        z.ev[EV_NUMA_FOREIGN] += 1
        z.zc[ZC_NUMA_MISS] += 1
        zone_at(zs, preferred).zc[ZC_NUMA_FOREIGN] += 1
    if nid == z.ag[cpu, AG_NODE]:
        z.ev[EV_NUMA_LOCAL] += 1
        z.zc[ZC_NUMA_LOCAL] += 1
    else:
        z.ev[EV_NUMA_OTHER] += 1
        z.zc[ZC_NUMA_OTHER] += 1


@njit_hooked_inline
def get_page_from_freelist(zs, pss, cpu, nid, order, mt, alloc_flags, pol):
    """get_page_from_freelist(): the zones of node `nid`'s zonelist in order (its zones from
    the highest down, then the other nodes' by node_distance; topology.zonelists), the first
    that passes its watermark serves. Returns (zone id, node), or (-1, -1).
    Not modelled: ALLOC_NOFRAGMENT, which before falling back to another migratetype in the
    local Normal zone tries the remote nodes (alloc_flags_nofragment())."""
    if len(zs) == 1:  # the shortcut's one zone: no zonelist to walk
        node = zone_alloc(zs[0], pss[0], cpu, order, mt, alloc_flags, pol)
        if node >= 0:
            zone_statistics(zs, 0, 0, cpu)
        return 0, node
    zl = zs[0].pgdat[nid, PG_ZONELIST:]
    for i in range(zl.shape[0]):
        k = zl[i]
        if k < 0:
            break
        node = zone_alloc(zone_at(zs, k), zone_at(pss, k), cpu, order, mt, alloc_flags, pol)
        if node >= 0:
            zone_statistics(zs, zl[0], k, cpu)
            return k, node
    return -1, -1


@njit
def wake_all_kswapds(zs, nid):
    """wake_all_kswapds(): wakeup_kswapd() of every zone in node `nid`'s zonelist (once per
    node: an awake kswapd is not woken again)."""
    zl = zs[0].pgdat[nid, PG_ZONELIST:]
    for i in range(zl.shape[0]):
        if zl[i] < 0:
            break
        wakeup_kswapd(zone_at(zs, zl[i]))


@njit(inline="always")
def preferred_node(z, cpu):
    """The node an allocation prefers: the CPU's (numa_node_id(), the default local policy),
    or with knob.interleave each node in turn per CPU (interleave_nodes(), mm/mempolicy.c
    v6.18: MPOL_INTERLEAVE over every node, as numactl --interleave=all)."""
    if not z.knob[K_INTERLEAVE]:
        return z.ag[cpu, AG_NODE]
    nid = z.ag[cpu, AG_IL_NEXT]
    z.ag[cpu, AG_IL_NEXT] = (nid + 1) % z.pgdat.shape[0]
    return nid


@njit_hooked_inline
def alloc_pages(zs, pss, cpu, order, mt, gfp, pol):
    """__alloc_pages(): the fast path at the low mark; the slow path wakes kswapd, retries at
    the min mark, then (if the caller may block) reclaims directly and drains all PCPs once,
    up to MAX_RECLAIM_RETRIES rounds (one for costly orders). Returns (zone id, node), node
    -1 when it failed."""
    nid = preferred_node(zs[0], cpu)
    k, node = get_page_from_freelist(zs, pss, cpu, nid, order, mt, ALLOC_WMARK_LOW, pol)
    if node >= 0:
        return k, node
    wake_all_kswapds(zs, nid)
    k, node = get_page_from_freelist(zs, pss, cpu, nid, order, mt, ALLOC_WMARK_MIN, pol)
    if node >= 0 or not (gfp & GFP_DIRECT_RECLAIM):
        return k, node
    z0 = zs[0]
    z0.ev[EV_ALLOCSTALL] += 1
    t0 = z0.eng[E_NOW]
    drained = False
    rounds = 1 if order > PAGE_ALLOC_COSTLY_ORDER else MAX_RECLAIM_RETRIES
    for _ in range(rounds):
        progress = shrink_zones(zs, pss, cpu, nid, SWAP_CLUSTER_MAX, pol)
        z0.ev[EV_PGSTEAL_DIRECT] += progress
        k, node = get_page_from_freelist(zs, pss, cpu, nid, order, mt, ALLOC_WMARK_MIN, pol)
        if node >= 0:
            break
        if not drained:
            drain_all_pages(zs, pss, cpu, pol)
            drained = True
            k, node = get_page_from_freelist(zs, pss, cpu, nid, order, mt, ALLOC_WMARK_MIN,
                                             pol)
            if node >= 0:
                break
        if progress == 0 and drained:
            break
    z0.ag[cpu, AG_RECLAIM_NS] += z0.eng[E_NOW] - t0
    return k, node


# --- free ------------------------------------------------------------------------------------


@njit(inline="always")
def page_zone_id(zs, node):
    """page_zone(): the zone of the entry headed by `node`, its pageblock's."""
    if len(zs) == 1:
        return 0
    z = zs[0]
    pg0 = z.zc[ZC_PG0]
    if node >= pg0:
        pb = z.slot_pb[(node - pg0) >> PAGEBLOCK_ORDER]
    else:
        pb = node - (z.zc[ZC_PB0] - z.zc[ZC_PB_FIRST])
    for k in range(len(zs) - 1):  # zones hold consecutive pageblocks, in zone order
        if pb < zone_at(zs, k + 1).zc[ZC_PB_FIRST]:
            return k
    return len(zs) - 1


@njit(inline="always")
def batch_release(zs, cpu):
    """Release the pcp->lock a free batch holds, in whichever zone it is."""
    z = zs[0]
    if z.ag[cpu, AG_BATCH_LOCK] > 0:
        batch_lock_release(zone_at(zs, z.ag[cpu, AG_BATCH_ZONE]), cpu)


@njit_hooked_inline
def free_pages(zs, pss, cpu, node, pol):
    """__free_pages(): to the page's zone, PCP-sized entries through the policy (onto the
    freeing CPU's PCP for that zone, or its owner's), others straight to the zone. A batch
    holding another zone's pcp->lock drops it first, as free_unref_folios() does."""
    k = page_zone_id(zs, node)
    z = zone_at(zs, k)
    if len(zs) > 1 and z.ag[cpu, AG_BATCH_LOCK] > 0 and z.ag[cpu, AG_BATCH_ZONE] != k:
        batch_release(zs, cpu)
    order = int(z.norder[node])
    pfn = node_pfn(z, node)
    if pcp_allowed_order(z, order):
        pol.free_pcp(z, zone_at(pss, k), cpu, pfn, order)
    else:
        free_one_page(z, cpu, pfn, order)


@njit_hooked
def drain_all_pages(zs, pss, cpu, pol):
    """drain_all_pages(NULL): every CPU's PCPs (and each kswapd's), every zone's, drained by
    `cpu` one after another (pcpu_drain_mutex serialises callers)."""
    zs[0].ev[EV_DRAIN_ALL] += 1
    for target in range(zs[0].zc[ZC_NR_AGENTS]):
        for k in range(len(zs)):
            if zone_at(zs, k).pcp[target, PCP_COUNT] > 0:
                pol.drain_pages(zone_at(zs, k), zone_at(pss, k), cpu, target)


# --- reclaim -----------------------------------------------------------------------------------


@njit_hooked
def shrink_lru(zs, pss, cpu, nid, nr_to_reclaim, pol):
    """shrink_inactive_list() on node `nid`'s file LRU: reclaim the oldest page-cache pages
    and free them through the normal free path (free_unref_folios), each to its zone.
    Anonymous memory is not reclaimed (no swap), as one folio batch: shrink_folio_list() frees
    its folios with free_unref_folios(), one pcp->lock hold for them (locks.batch_lock_*).
    Returns pages reclaimed."""
    z = zs[0]
    lru = z.pgdat[nid, PG_L_LRU]
    got = 0
    z.ag[cpu, AG_IN_BATCH] = 1
    while got < nr_to_reclaim:
        node = list_first(z, lru)
        if node < 0:
            break
        list_del(z, node)
        pages = 1 << int(z.norder[node])
        z.pgdat[nid, PG_NR_LRU] -= pages
        z.eng[E_NOW] += pages * z.cost[C_RECLAIM_PAGE]
        free_pages(zs, pss, cpu, node, pol)
        got += pages
    batch_release(zs, cpu)
    z.ag[cpu, AG_IN_BATCH] = 0
    if got:
        z.pgdat[nid, PG_KSWAPD_FAILURES] = 0  # shrink_node() made progress
    return got


@njit_hooked
def shrink_zones(zs, pss, cpu, nid, nr_to_reclaim, pol):
    """shrink_zones() of direct reclaim: the nodes of node `nid`'s zonelist in order, each
    node's LRU once, until `nr_to_reclaim` pages are reclaimed. Returns pages reclaimed."""
    z = zs[0]
    zl = z.pgdat[nid, PG_ZONELIST:]
    got = 0
    last = -1
    for i in range(zl.shape[0]):
        if zl[i] < 0 or got >= nr_to_reclaim:
            break
        nid = zone_at(zs, zl[i]).zc[ZC_NODE]
        if nid != last:
            got += shrink_lru(zs, pss, cpu, nid, nr_to_reclaim - got, pol)
            last = nid
    return got
