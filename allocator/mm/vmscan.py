"""kswapd (mm/vmscan.c balance_pgdat), as an agent with its own clock and its own PCP.

Woken when an allocation finds the zone under its low mark (or after a watermark boost), it
reclaims file LRU pages in SWAP_CLUSTER_MAX batches until free pages reach the high mark plus
the boost, with ZONE_RECLAIM_ACTIVE set meanwhile (which caps every PCP's high, nr_pcp_high()).
Then it clears the boost and sleeps. With nothing left to reclaim it gives up and sleeps too;
after MAX_RECLAIM_RETRIES such failures it is not woken again until reclaim makes progress.
The pages it frees go through its own CPU's PCP, as free_unref_folios() does in the kernel.
"""

from __future__ import annotations

from allocator.core.consts import ALLOC_WMARK_HIGH, SWAP_CLUSTER_MAX, ZONE_RECLAIM_ACTIVE
from allocator.core.jit import njit_hooked
from allocator.core.layout import (
    AG_RECLAIM_NS,
    E_NOW,
    EV_PGSTEAL_KSWAPD,
    ZC_FLAGS,
    ZC_KSWAPD,
    ZC_KSWAPD_AWAKE,
    ZC_KSWAPD_FAILURES,
    ZC_WATERMARK_BOOST,
)
from allocator.core.state import INF_NS
from allocator.mm.page_alloc import shrink_lru
from allocator.mm.watermark import wmark_pages, zone_watermark_ok


@njit_hooked
def kswapd_step(z, ps, pol):
    """One batch of balance_pgdat(); sets kswapd's next clock (INF_NS when it sleeps)."""
    k = z.zc[ZC_KSWAPD]
    t0 = z.eng[E_NOW]
    if zone_watermark_ok(z, 0, wmark_pages(z, ALLOC_WMARK_HIGH)):
        got = -1  # balanced
    else:
        z.zc[ZC_FLAGS] |= ZONE_RECLAIM_ACTIVE
        got = shrink_lru(z, ps, k, SWAP_CLUSTER_MAX, pol)
        z.ev[EV_PGSTEAL_KSWAPD] += got
    z.ag[k, AG_RECLAIM_NS] += z.eng[E_NOW] - t0
    if got == 0:
        z.zc[ZC_KSWAPD_FAILURES] += 1  # balance_pgdat() reclaimed nothing
    if got <= 0:
        z.zc[ZC_FLAGS] &= ~ZONE_RECLAIM_ACTIVE
        z.zc[ZC_WATERMARK_BOOST] = 0
        z.zc[ZC_KSWAPD_AWAKE] = 0
        z.clock[k] = INF_NS
    else:
        z.clock[k] = z.eng[E_NOW]
