"""The PCP's own buddy lists: owned and cached entries of orders 0..9, split and merge."""

from __future__ import annotations

from allocator.core.consts import (
    MIGRATE_PCPTYPES,
    NODE_NONE,
    NODE_PCP,
    NODE_PCP_FRESH,
    NODE_PCP_OWNED,
    PAGEBLOCK_ORDER,
)
from allocator.core.jit import njit
from allocator.core.layout import E_NOW
from allocator.core.lists import list_add, list_add_tail, list_del, list_first
from allocator.mm.buddy import (
    node_pfn,
    pfn_node,
    split_pageblock,
    unsplit_pageblock,
)
from allocator.mm.pcp import (
    pcp_count_add,
    pcp_list,
)
from allocator.params.costs import (
    C_MERGE_STEP,
    C_SPLIT_STEP,
)
from allocator.policies.pcp_buddy.config import (
    EV_MERGES,
    EV_SPLITS,
    K_MERGE_MODE,
    K_MERGE_SCOPE,
    MERGE_SCOPE_TARGET,
    MERGE_SCOPE_WHOLE,
    NR_BUDDY_ORDERS,
)
from allocator.policies.pcp_buddy.owner import disown

# --- the PCP's own buddy lists -----------------------------------------------------------------
# Per agent: lists [0, 30) hold cached (unowned) entries, [30, 60) owned ones, each indexed
# order * 3 + migratetype. On an owned list the fresh entries (freed since the last merge pass)
# are a prefix: they alone are added at the head; split pieces, merge results and claimed
# blocks go to the tail. Allocations take heads, cached lists first: unowned pages cannot merge
# on the PCP, so holding them only ties memory up, while owned pages left alone can reassemble.

OWNED_LISTS = NR_BUDDY_ORDERS * MIGRATE_PCPTYPES


@njit
def is_owned_state(state):
    return state == NODE_PCP_OWNED or state == NODE_PCP_FRESH


@njit
def bpindex(order, mt, owned):
    """PCP list index for (order, migratetype), owned or cached, orders 0..9."""
    return (OWNED_LISTS if owned else 0) + order * MIGRATE_PCPTYPES + mt


@njit
def bpcp_add(z, ps, agent, node, order, mt, state, tail):
    z.nstate[node] = state
    z.norder[node] = order
    owned = is_owned_state(state)
    lst = pcp_list(z, agent, bpindex(order, mt, owned))
    if tail:
        list_add_tail(z, lst, node)
    else:
        list_add(z, lst, node)
    pcp_count_add(z, agent, 1 << order)
    if owned:
        ps.pfree[node_pfn(z, node) >> PAGEBLOCK_ORDER] += 1 << order


@njit
def bpcp_unlink(z, ps, agent, node, order):
    list_del(z, node)
    pcp_count_add(z, agent, -(1 << order))
    if is_owned_state(z.nstate[node]):
        ps.pfree[node_pfn(z, node) >> PAGEBLOCK_ORDER] -= 1 << order


@njit
def bpcp_take(z, ps, agent, order, mt):
    """The head of an (order, mt) list, cached before owned, else the smallest larger entry
    of that type on this PCP, split down (expand() on the PCP); the pieces keep the entry's
    owned-ness. A whole owned block handed out as a THP leaves its owner."""
    for o in range(order, NR_BUDDY_ORDERS):
        for owned in range(2):
            node = list_first(z, pcp_list(z, agent, bpindex(o, mt, owned)))
            if node >= 0:
                return bpcp_take_entry(z, ps, agent, node, o, order, mt)
    return -1


@njit
def bpcp_take_entry(z, ps, agent, node, o, order, mt):
    state = NODE_PCP_OWNED if is_owned_state(z.nstate[node]) else NODE_PCP
    pfn = node_pfn(z, node)
    pb = pfn >> PAGEBLOCK_ORDER
    bpcp_unlink(z, ps, agent, node, o)
    z.nstate[node] = NODE_NONE
    if o == PAGEBLOCK_ORDER:
        if order == PAGEBLOCK_ORDER:
            if state == NODE_PCP_OWNED:
                disown(z, ps, pb)
            return node
        split_pageblock(z, pb)
    steps = o - order
    while o > order:
        o -= 1
        bpcp_add(z, ps, agent, pfn_node(z, pfn + (1 << o), o), o, mt, state, True)
    if steps:
        z.ev[EV_SPLITS] += steps
        z.eng[E_NOW] += steps * z.cost[C_SPLIT_STEP]
    return pfn_node(z, pfn, order)


@njit
def owned_buddy(z, pfn, order):
    """Node of the free owned buddy of (pfn, order), or -1. Buddies below pageblock order
    share the block, hence the owner: a free owned page is on that owner's PCP."""
    if order >= PAGEBLOCK_ORDER:
        return -1
    bnode = pfn_node(z, pfn ^ (1 << order), order)
    if not is_owned_state(z.nstate[bnode]) or z.norder[bnode] != order:
        return -1
    return bnode


@njit
def merge_owned(z, ps, agent, node, order):
    """Merge an owned entry (not listed) with its free owned buddies on this PCP, as far up as
    they go. Returns (node, order) of the result; the caller lists it."""
    pfn = node_pfn(z, node)
    steps = 0
    bnode = owned_buddy(z, pfn, order)
    while bnode >= 0:
        bpcp_unlink(z, ps, agent, bnode, order)
        z.nstate[bnode] = NODE_NONE
        z.nstate[node] = NODE_NONE
        pfn &= pfn ^ (1 << order)
        order += 1
        steps += 1
        if order == PAGEBLOCK_ORDER:
            unsplit_pageblock(z, pfn >> PAGEBLOCK_ORDER)
        node = pfn_node(z, pfn, order)
        bnode = owned_buddy(z, pfn, order)
    z.ev[EV_MERGES] += steps
    z.eng[E_NOW] += steps * z.cost[C_MERGE_STEP]
    return node, order


@njit
def merge_fresh(z, ps, agent, count):
    """The bottom-up merge pass before a drain of `count` pages, under pcp->lock: orders 0 to
    8, each page freed since the last pass checks its buddy and merges as far up as the buddies
    allow. Entries that were on the PCP at the last pass were merged then, so only the fresh
    ones can have found a buddy since. Only a merge is charged (merge_step_ns): the buddy probe
    that finds nothing is part of the free's own list operation, as a failed probe in
    __free_one_page() is part of zone_page_ns. How far the pass goes is knob merge_scope."""
    scope = z.knob[K_MERGE_SCOPE]
    visited = 0
    for order in range(PAGEBLOCK_ORDER):
        for mt in range(MIGRATE_PCPTYPES):
            lst = pcp_list(z, agent, bpindex(order, mt, 1))
            node = z.nxt[lst]
            while node != lst and z.nstate[node] == NODE_PCP_FRESH:
                if scope == MERGE_SCOPE_TARGET and visited >= count:
                    return
                following = z.nxt[node]
                pfn = node_pfn(z, node)
                if scope == MERGE_SCOPE_WHOLE and ps.pfree[pfn >> PAGEBLOCK_ORDER] < (
                    1 << PAGEBLOCK_ORDER
                ):
                    node = following  # stays fresh until its whole block is on the PCP
                    continue
                z.nstate[node] = NODE_PCP_OWNED
                visited += 1 << order
                bnode = owned_buddy(z, pfn, order)
                if bnode >= 0:
                    if following == bnode:
                        following = z.nxt[bnode]
                    bpcp_unlink(z, ps, agent, node, order)
                    merged, new_order = merge_owned(z, ps, agent, node, order)
                    mt_now = int(z.pb_mt[pfn >> PAGEBLOCK_ORDER])
                    bpcp_add(z, ps, agent, merged, new_order, mt_now, NODE_PCP_OWNED, True)
                node = following


@njit
def add_freed_owned(z, ps, agent, node, order, mt):
    """An owned page arrives on its owner's PCP (a free, or phase 0 taking a fragment back):
    at the head, fresh for the next merge pass (merge_mode 0), or merged at once (merge_mode
    1). Returns the order listed."""
    if z.knob[K_MERGE_MODE] == 1:
        node, order = merge_owned(z, ps, agent, node, order)
        bpcp_add(z, ps, agent, node, order, mt, NODE_PCP_OWNED, False)
    else:
        bpcp_add(z, ps, agent, node, order, mt, NODE_PCP_FRESH, False)
    return order
