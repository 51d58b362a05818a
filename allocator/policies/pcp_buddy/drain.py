"""free_pcppages_bulk() for pcp-buddy: merge, then whole blocks and fragments to the zone."""

from __future__ import annotations

from allocator.core.consts import (
    MIGRATE_PCPTYPES,
    PAGEBLOCK_ORDER,
)
from allocator.core.jit import njit
from allocator.core.layout import (
    EV_PCP_DRAIN,
    EV_PCP_DRAIN_PAGES,
    EV_ZONE_LOCK_PAGES,
    LK_OWNER,
    LOCK_ZONE,
    PCP_BATCH,
    PCP_COUNT,
    TR_PCPU_DRAIN,
)
from allocator.core.lists import list_last
from allocator.mm.buddy import (
    __free_one_page,
    node_pfn,
)
from allocator.mm.locks import (
    pcp_spin_relock,
    spin_unlock,
    zone_spin_lock,
)
from allocator.mm.pcp import pcp_list
from allocator.mm.tracepoints import trace_event
from allocator.params.costs import C_PCP_LOCK
from allocator.params.knobs import K_FREE_IN_BATCHES
from allocator.policies.pcp_buddy.config import EV_FRAG_RETURNED, EV_WHOLE_RETURNED, NR_BUDDY_ORDERS
from allocator.policies.pcp_buddy.lists import bpcp_take_entry, bpcp_unlink, bpindex, merge_fresh
from allocator.policies.pcp_buddy.owner import disown, mark_fragment

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
def drain_lists(z, ps, agent, count, disowning):
    """Return entries of at most `count` pages to the zone, largest first (whole blocks, then
    big chunks: the most pages per zone->lock hold), owned before cached, coldest first.
    Returns pages freed; the rest, if any, sits in entries larger than what is left."""
    freed = 0
    for i in range(NR_BUDDY_ORDERS):
        order = NR_BUDDY_ORDERS - 1 - i
        if (1 << order) > count:
            continue
        for owned in range(1, -1, -1):
            for mt in range(MIGRATE_PCPTYPES):
                lst = pcp_list(z, agent, bpindex(order, mt, owned))
                while count >= (1 << order):
                    node = list_last(z, lst)
                    if node < 0:
                        break
                    bpcp_unlink(z, ps, agent, node, order)
                    return_entry(z, ps, node, order, disowning)
                    count -= 1 << order
                    freed += 1 << order
    return freed


@njit
def split_for_drain(z, ps, agent, count, disowning):
    """Nothing left fits in `count`: split the smallest larger entry on the PCP (expand(),
    the upper halves stay listed) and return its lowest piece of the largest order that fits.
    Returns pages freed (0: the PCP is empty)."""
    top = 0
    while top + 1 < NR_BUDDY_ORDERS and (2 << top) <= count:
        top += 1
    for o in range(top + 1, NR_BUDDY_ORDERS):
        for owned in range(1, -1, -1):
            for mt in range(MIGRATE_PCPTYPES):
                node = list_last(z, pcp_list(z, agent, bpindex(o, mt, owned)))
                if node >= 0:
                    piece = bpcp_take_entry(z, ps, agent, node, o, top, mt)
                    return_entry(z, ps, piece, top, disowning)
                    return 1 << top
    return 0


@njit
def bpcp_drain(z, ps, agent, cpu, count, disowning):
    """free_pcppages_bulk() for pcp-buddy: the merge pass, then exactly `count` pages (or all
    the PCP has) back to the zone under one zone->lock hold, as the kernel frees the count it
    computed: entries no larger than what is left, splitting one when none fits. Returns
    pages freed."""
    count = min(count, z.pcp[agent, PCP_COUNT])
    if count <= 0:
        return 0
    merge_fresh(z, ps, agent, count)
    zone_spin_lock(z, cpu)
    freed = 0
    while freed < count:
        n = drain_lists(z, ps, agent, count - freed, disowning)
        if freed + n < count:
            n += split_for_drain(z, ps, agent, count - freed - n, disowning)
        if n == 0:
            break
        freed += n
    spin_unlock(z, LOCK_ZONE)
    z.ev[EV_PCP_DRAIN] += 1
    z.ev[EV_PCP_DRAIN_PAGES] += freed
    z.ev[EV_ZONE_LOCK_PAGES] += freed
    return freed


@njit
def bpcp_drain_chunked(z, ps, agent, cpu, to_free, disowning):
    """As pcp.free_pcp_chunked(): chunks of batch pages, each its own zone->lock hold, with
    `agent`'s pcp->lock (held by `cpu`) dropped and retaken by trylock between chunks, giving
    up when that fails (v6.19); or one chunk (commit c5ce37dd3564 reverted). Subtracts what each
    chunk freed. Returns whether the pcp->lock is still held."""
    if not z.knob[K_FREE_IN_BATCHES]:
        bpcp_drain(z, ps, agent, cpu, to_free, disowning)
        return True
    batch = z.pcp[agent, PCP_BATCH]
    while to_free > 0 and z.pcp[agent, PCP_COUNT] > 0:
        freed = bpcp_drain(z, ps, agent, cpu, min(to_free, batch), disowning)
        to_free -= freed
        if freed == 0 or to_free <= 0 or z.pcp[agent, PCP_COUNT] <= 0:
            break
        if not pcp_spin_relock(z, agent, cpu, z.cost[C_PCP_LOCK]):
            return False
    return True
