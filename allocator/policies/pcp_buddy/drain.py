"""free_pcppages_bulk() for pcp-buddy: merge, then whole blocks and fragments to the zone."""

from __future__ import annotations

from ..._jit import njit
from ...buddy import (
    __free_one_page,
    node_pfn,
)
from ...consts import (
    MIGRATE_PCPTYPES,
    PAGEBLOCK_ORDER,
)
from ...costs import C_ZONE_LOCK
from ...knobs import K_DRAIN_IN_BATCHES
from ...layout import (
    EV_PCP_DRAIN,
    EV_PCP_DRAIN_PAGES,
    EV_ZONE_LOCK_PAGES,
    LK_OWNER,
    LOCK_ZONE,
    PCP_BATCH,
    PCP_COUNT,
    TR_PCPU_DRAIN,
)
from ...lists import list_last
from ...locks import (
    spin_lock,
    spin_unlock,
)
from ...pcp import pcp_list
from ...tracepoints import trace_event
from .config import EV_FRAG_RETURNED, EV_WHOLE_RETURNED, NR_BUDDY_ORDERS
from .lists import bpcp_unlink, bpindex, merge_fresh
from .owner import disown, mark_fragment

# --- drain -------------------------------------------------------------------------------------


@njit
def return_entry(z, ps, node, order, disowning):
    """Give one PCP entry back to the zone (zone->lock held)."""
    pfn = node_pfn(z, node)
    pb = pfn >> PAGEBLOCK_ORDER
    mt = int(z.pb_mt[pb])
    if z.trace.shape[0]:
        trace_event(z, TR_PCPU_DRAIN, z.lk[LOCK_ZONE, LK_OWNER], pfn, order, mt, 0)
    if ps.owner[pb] < 0:
        __free_one_page(z, pfn, order, mt, False)
    elif order >= PAGEBLOCK_ORDER:
        __free_one_page(z, pfn, order, mt, False)
        disown(z, ps, pb)
        z.ev[EV_WHOLE_RETURNED] += 1
    else:
        __free_one_page(z, pfn, order, mt, True)
        z.ev[EV_FRAG_RETURNED] += 1
        if disowning:
            disown(z, ps, pb)
        else:
            mark_fragment(z, ps, pb)


@njit
def bpcp_drain(z, ps, agent, cpu, count, disowning):
    """free_pcppages_bulk() for pcp-buddy: the merge pass, then `count` pages back to the zone
    under one zone->lock hold, largest entries first (whole blocks, then big chunks: the most
    pages per zone->lock hold, whole blocks back first), owned before cached, coldest first."""
    count = min(count, z.pcp[agent, PCP_COUNT])
    if count <= 0:
        return
    merge_fresh(z, agent)
    spin_lock(z, LOCK_ZONE, cpu, z.cost[C_ZONE_LOCK])
    freed = 0
    for i in range(NR_BUDDY_ORDERS):
        order = NR_BUDDY_ORDERS - 1 - i
        for owned in range(1, -1, -1):
            for mt in range(MIGRATE_PCPTYPES):
                lst = pcp_list(z, agent, bpindex(order, mt, owned))
                while count > 0:
                    node = list_last(z, lst)
                    if node < 0:
                        break
                    bpcp_unlink(z, agent, node, order)
                    return_entry(z, ps, node, order, disowning)
                    count -= 1 << order
                    freed += 1 << order
    spin_unlock(z, LOCK_ZONE)
    z.ev[EV_PCP_DRAIN] += 1
    z.ev[EV_PCP_DRAIN_PAGES] += freed
    z.ev[EV_ZONE_LOCK_PAGES] += freed


@njit
def bpcp_drain_chunked(z, ps, agent, cpu, to_free, stop_below, disowning):
    """As pcp.free_pcp_chunked(): batch-sized zone->lock holds (v6.19), or one."""
    if not z.knob[K_DRAIN_IN_BATCHES]:
        bpcp_drain(z, ps, agent, cpu, to_free, disowning)
        return
    batch = z.pcp[agent, PCP_BATCH]
    while to_free > 0 and z.pcp[agent, PCP_COUNT] > 0:
        chunk = min(to_free, batch)
        bpcp_drain(z, ps, agent, cpu, chunk, disowning)
        to_free -= chunk
        if z.pcp[agent, PCP_COUNT] < stop_below:
            break
