"""kswapd (mm/vmscan.c balance_pgdat), one per node, as an agent with its own clock and its
own PCP in every zone.

Woken when an allocation finds every zone of its zonelist under its low mark (or after a
watermark boost), it reclaims the node's file LRU pages in SWAP_CLUSTER_MAX batches until one
of the node's zones has free pages above its high mark plus the boost, with
ZONE_RECLAIM_ACTIVE set on the node's zones meanwhile (which caps every PCP's high,
nr_pcp_high()).
Then it clears the boost and sleeps. With nothing left to reclaim it gives up and sleeps too;
after MAX_RECLAIM_RETRIES such failures it is not woken again until reclaim makes progress.
The pages it frees go through its own CPU's PCP, as free_unref_folios() does in the kernel.
"""

from __future__ import annotations

from allocator.core.consts import ALLOC_WMARK_HIGH, SWAP_CLUSTER_MAX, ZONE_RECLAIM_ACTIVE
from allocator.core.jit import njit, njit_hooked
from allocator.core.layout import (
    AG_RECLAIM_NS,
    E_NOW,
    EV_PGSTEAL_KSWAPD,
    PG_KSWAPD,
    PG_KSWAPD_AWAKE,
    PG_KSWAPD_FAILURES,
    ZC_FLAGS,
    ZC_NODE,
    ZC_WATERMARK_BOOST,
)
from allocator.core.state import INF_NS
from allocator.core.zones import zone_at
from allocator.mm.page_alloc import shrink_lru
from allocator.mm.watermark import wmark_pages, zone_watermark_ok


@njit
def pgdat_balanced(zs, nid):
    """pgdat_balanced(): the node is balanced when any of its zones meets its high mark
    (plus boost, plus the lowmem_reserve the allocations' highest zone leaves in it)."""
    for k in range(len(zs)):
        z = zone_at(zs, k)
        if z.zc[ZC_NODE] == nid and zone_watermark_ok(z, 0, wmark_pages(z, ALLOC_WMARK_HIGH)):
            return True
    return False


@njit
def set_reclaim_active(zs, nid, on):
    """set_reclaim_active() / clear_reclaim_active() on the node's zones; clearing also ends
    the boost (balance_pgdat() resets zone->watermark_boost once balanced)."""
    for k in range(len(zs)):
        z = zone_at(zs, k)
        if z.zc[ZC_NODE] != nid:
            continue
        if on:
            z.zc[ZC_FLAGS] |= ZONE_RECLAIM_ACTIVE
        else:
            z.zc[ZC_FLAGS] &= ~ZONE_RECLAIM_ACTIVE
            z.zc[ZC_WATERMARK_BOOST] = 0


@njit_hooked
def kswapd_step(zs, pss, nid, pol):
    """One batch of balance_pgdat() for node `nid`; sets its kswapd's next clock (INF_NS when
    it sleeps)."""
    z = zs[0]
    k = z.pgdat[nid, PG_KSWAPD]
    t0 = z.eng[E_NOW]
    if pgdat_balanced(zs, nid):
        got = -1  # balanced
    else:
        set_reclaim_active(zs, nid, True)
        got = shrink_lru(zs, pss, k, nid, SWAP_CLUSTER_MAX, pol)
        z.ev[EV_PGSTEAL_KSWAPD] += got
    z.ag[k, AG_RECLAIM_NS] += z.eng[E_NOW] - t0
    if got == 0:
        z.pgdat[nid, PG_KSWAPD_FAILURES] += 1  # balance_pgdat() reclaimed nothing
    if got <= 0:
        set_reclaim_active(zs, nid, False)
        z.pgdat[nid, PG_KSWAPD_AWAKE] = 0
        z.clock[k] = INF_NS
    else:
        z.clock[k] = z.eng[E_NOW]
