"""rmqueue_bulk() in the RFC's four phases."""

from __future__ import annotations

from allocator.core.consts import (
    MAX_PAGE_ORDER,
    MIGRATE_PCPTYPES,
    NODE_BUDDY,
    NODE_NONE,
    NODE_PCP,
    NODE_PCP_OWNED,
    PAGEBLOCK_NR_PAGES,
    PAGEBLOCK_ORDER,
)
from allocator.core.jit import njit
from allocator.core.layout import (
    E_NOW,
    EV_PCP_REFILL,
    EV_PCP_REFILL_PAGES,
    EV_ZONE_LOCK_PAGES,
    LOCK_ZONE,
    PCP_COUNT,
    PCP_HIGH,
    PCP_HIGH_MAX,
    ZC_L_ZONE0,
    ZC_PB0,
    ZC_PG0,
)
from allocator.core.lists import list_first
from allocator.mm.buddy import (
    __rmqueue,
    __rmqueue_smallest,
    add_to_free_list,
    del_from_free_list,
    node_pfn,
    pfn_node,
)
from allocator.mm.locks import (
    spin_unlock,
    zone_spin_lock,
)
from allocator.mm.tracepoints import trace_zone_locked
from allocator.params.costs import (
    C_PAGEBLOCK_SCAN,
    C_ZONE_PAGE,
)
from allocator.params.knobs import K_RMQUEUE_MODE
from allocator.policies.pcp_buddy.config import (
    EV_CLAIMED,
    EV_P0,
    EV_P1,
    EV_P2,
    EV_P3,
    EV_RECOVERED,
    K_BLOCK_FIT,
    K_PHASE2,
)
from allocator.policies.pcp_buddy.lists import add_freed_owned, bpcp_add
from allocator.policies.pcp_buddy.owner import leave_owned_list, owned_head, take_ownership

# --- refill: rmqueue_bulk in four phases ------------------------------------------------------


@njit
def recover_block(z, ps, agent, pb):
    """Phase 0 on one fragment block: its free pages come back from the zone to the PCP,
    owned. A block that became whole in the zone comes back whole (the other half of an
    order-10 chunk goes back on the free list). Returns pages recovered."""
    leave_owned_list(ps, pb)
    mt = int(z.pb_mt[pb])
    pb0 = z.zc[ZC_PB0]
    if z.pb_slot[pb] < 0:
        node = pb0 + pb
        if z.nstate[node] == NODE_BUDDY and z.norder[node] == PAGEBLOCK_ORDER:
            del_from_free_list(z, node, PAGEBLOCK_ORDER)
        else:
            head = pb0 + (pb & ~1)
            if z.nstate[head] != NODE_BUDDY or z.norder[head] != MAX_PAGE_ORDER:
                return 0  # allocated whole, or on a PCP: nothing in the zone
            del_from_free_list(z, head, MAX_PAGE_ORDER)
            other = pb ^ 1
            z.pb_mt[other] = mt
            add_to_free_list(z, pb0 + other, PAGEBLOCK_ORDER, mt, False)
        trace_zone_locked(z, pb * PAGEBLOCK_NR_PAGES, PAGEBLOCK_ORDER, mt, 1)
        bpcp_add(z, ps, agent, node, PAGEBLOCK_ORDER, mt, NODE_PCP_OWNED, True)
        z.eng[E_NOW] += z.cost[C_ZONE_PAGE]
        return PAGEBLOCK_NR_PAGES
    base = z.zc[ZC_PG0] + int(z.pb_slot[pb]) * PAGEBLOCK_NR_PAGES
    pages = 0
    i = 0
    while i < PAGEBLOCK_NR_PAGES:
        node = base + i
        st = z.nstate[node]
        if st == NODE_NONE:
            i += 1
            continue
        order = int(z.norder[node])
        if st == NODE_BUDDY:
            del_from_free_list(z, node, order)
            trace_zone_locked(z, pb * PAGEBLOCK_NR_PAGES + i, order, mt, 1)
            # like a free: its buddy may be an owned page freed on the PCP meanwhile
            add_freed_owned(z, ps, agent, node, order, mt)
            pages += 1 << order
            z.eng[E_NOW] += z.cost[C_ZONE_PAGE]
        i += 1 << order
    z.eng[E_NOW] += z.cost[C_PAGEBLOCK_SCAN]
    return pages


@njit
def refill_phase0(z, ps, agent, mt, want):
    got = 0
    head = owned_head(ps, agent, mt)
    node = ps.onxt[head]
    while node != head and got < want:
        following = ps.onxt[node]
        pb = node - len(ps.olen)
        if z.pb_mt[pb] == mt:
            got += recover_block(z, ps, agent, pb)
        node = following
    return got


@njit
def block_fits(z, agent):
    if z.knob[K_BLOCK_FIT]:
        return z.pcp[agent, PCP_HIGH_MAX] >= PAGEBLOCK_NR_PAGES
    return z.pcp[agent, PCP_COUNT] + PAGEBLOCK_NR_PAGES <= z.pcp[agent, PCP_HIGH]


@njit
def refill_phase1(z, ps, agent, mt, want):
    got = 0
    while got < want and block_fits(z, agent):
        pfn = __rmqueue_smallest(z, PAGEBLOCK_ORDER, mt)
        if pfn < 0:
            break
        pb = pfn >> PAGEBLOCK_ORDER
        take_ownership(z, ps, pb, agent)
        node = pfn_node(z, pfn, PAGEBLOCK_ORDER)
        bpcp_add(z, ps, agent, node, PAGEBLOCK_ORDER, mt, NODE_PCP_OWNED, True)
        z.ev[EV_CLAIMED] += 1
        got += PAGEBLOCK_NR_PAGES
    return got


@njit
def refill_phase2(z, ps, agent, order, mt, want):
    """Chunks above the request and below a pageblock, from `mt`'s own lists: the largest
    that does not overshoot what is still wanted, else the smallest larger one."""
    got = 0
    if order + 1 >= PAGEBLOCK_ORDER:
        return 0
    while got < want:
        left = want - got
        top = order + 1
        while top < PAGEBLOCK_ORDER - 1 and (2 << top) <= left:
            top += 1
        pick = -1
        for o in range(top, order, -1):
            if z.nr_free[o, mt] > 0:
                pick = o
                break
        if pick < 0:
            for o in range(top + 1, PAGEBLOCK_ORDER):
                if z.nr_free[o, mt] > 0:
                    pick = o
                    break
        if pick < 0:
            break
        node = list_first(z, z.zc[ZC_L_ZONE0] + pick * MIGRATE_PCPTYPES + mt)
        del_from_free_list(z, node, pick)
        trace_zone_locked(z, node_pfn(z, node), pick, mt, 1)
        bpcp_add(z, ps, agent, node, pick, mt, NODE_PCP, True)
        z.ev[EV_ZONE_LOCK_PAGES] += 1 << pick
        z.eng[E_NOW] += z.cost[C_ZONE_PAGE]
        got += 1 << pick
    return got


@njit
def refill_phase3(z, ps, agent, order, mt, want):
    """Phase 3: classic __rmqueue() as rmqueue_bulk() calls it (the rmqueue_mode kept across
    the loop since 90abee6d7895)."""
    got = 0
    mode = 0
    while got < want:
        if not z.knob[K_RMQUEUE_MODE]:
            mode = 0
        pfn, mode = __rmqueue(z, order, mt, mode)
        if pfn < 0:
            break
        bpcp_add(z, ps, agent, pfn_node(z, pfn, order), order, mt, NODE_PCP, True)
        got += 1 << order
    return got


@njit
def bpcp_refill(z, ps, agent, order, mt, want):
    """rmqueue_bulk() with the RFC's four phases, under one zone->lock hold."""
    zone_spin_lock(z, agent)
    got = refill_phase0(z, ps, agent, mt, want)
    if got:
        z.ev[EV_P0] += 1
        z.ev[EV_RECOVERED] += got
    if got < want:
        n = refill_phase1(z, ps, agent, mt, want - got)
        if n:
            z.ev[EV_P1] += 1
        got += n
    if got < want and z.knob[K_PHASE2]:
        n = refill_phase2(z, ps, agent, order, mt, want - got)
        if n:
            z.ev[EV_P2] += 1
        got += n
    if got < want:
        n = refill_phase3(z, ps, agent, order, mt, want - got)
        if n:
            z.ev[EV_P3] += 1
        got += n
    spin_unlock(z, LOCK_ZONE)
    z.ev[EV_PCP_REFILL] += 1
    z.ev[EV_PCP_REFILL_PAGES] += got
    return got
