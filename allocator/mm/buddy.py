"""The zone's buddy free lists: split, merge, and the migratetype fallback (mm/page_alloc.c).

Every function here runs with zone->lock held (the caller takes it) and charges its work to the
running agent's time cursor `Z.eng[E_NOW]`. Free entries are heads of 2^order pages on
`free_area[order].free_list[migratetype]`; entries of pageblock order and above use pageblock
nodes, smaller ones use the page nodes of the block's slot (see `state.py`).

Version: v6.15+ fallback (`__rmqueue_claim` then `__rmqueue_steal`, with the rmqueue_mode that
`rmqueue_bulk` keeps across its loop), as in the v7.0-rc tree the RFC is based on; with commit
c2f6ea38fc1b reverted, the v6.10 .. v6.14 `__rmqueue_fallback` (params/history.py). ALLOC_NOFRAGMENT
is off: with one zone there is no lower zone to prefer (kernel-model.md 2.4, item 11).
"""

from __future__ import annotations

from allocator.core.consts import (
    MAX_PAGE_ORDER,
    MIGRATE_MOVABLE,
    MIGRATE_PCPTYPES,
    MIGRATE_RECLAIMABLE,
    MIGRATE_UNMOVABLE,
    NODE_ALLOC_MOVABLE,
    NODE_BUDDY,
    NODE_NONE,
    PAGEBLOCK_NR_PAGES,
    PAGEBLOCK_ORDER,
    ZONE_BOOSTED_WATERMARK,
)
from allocator.core.jit import njit
from allocator.core.layout import (
    E_NOW,
    E_SLOTS_CAP,
    E_SLOTS_FREE,
    E_SLOTS_PEAK,
    EV_BOOST,
    EV_EXTFRAG_CLAIM,
    EV_EXTFRAG_FRAGMENTING,
    EV_EXTFRAG_STEAL,
    EV_MERGE_STEPS,
    EV_SPLIT_STEPS,
    EV_ZONE_LOCK_PAGES,
    ZC_FLAGS,
    ZC_L_ZONE0,
    ZC_MANAGED,
    ZC_NR_FREE_PAGES,
    ZC_NR_PAGEBLOCKS,
    ZC_PB0,
    ZC_PB_FIRST,
    ZC_PG0,
    ZC_WATERMARK_BOOST,
    ZC_WMARK_HIGH,
)
from allocator.core.lists import list_add, list_add_tail, list_del, list_first
from allocator.mm.tracepoints import trace_extfrag, trace_zone_locked
from allocator.params.costs import C_MERGE_STEP, C_PAGEBLOCK_SCAN, C_SPLIT_STEP, C_ZONE_PAGE
from allocator.params.knobs import K_FALLBACK_CLAIM_STEAL, K_WATERMARK_BOOST_FACTOR

RMQUEUE_NORMAL = 0
RMQUEUE_CLAIM = 1
RMQUEUE_STEAL = 2

# --- nodes, pfns and slots -----------------------------------------------------------------


@njit
def pfn_node(z, pfn, order):
    """Node id of the entry of `order` whose head is `pfn` (its block must be split if
    order < pageblock_order)."""
    pb = pfn >> PAGEBLOCK_ORDER
    if order >= PAGEBLOCK_ORDER:
        return z.zc[ZC_PB0] + pb
    return z.zc[ZC_PG0] + int(z.pb_slot[pb]) * PAGEBLOCK_NR_PAGES + (pfn & (PAGEBLOCK_NR_PAGES - 1))


@njit
def node_pfn(z, node):
    pg0 = z.zc[ZC_PG0]
    if node >= pg0:
        off = node - pg0
        pb = z.slot_pb[off >> PAGEBLOCK_ORDER] - z.zc[ZC_PB_FIRST]
        return pb * PAGEBLOCK_NR_PAGES + (off & (PAGEBLOCK_NR_PAGES - 1))
    return (node - z.zc[ZC_PB0]) * PAGEBLOCK_NR_PAGES


@njit
def split_pageblock(z, pb):
    """Lend a slot of per-page nodes to pageblock `pb`, which is being split below
    pageblock_order. There is a slot for every pageblock up to the int32 node space; the pool
    is the machine's, shared by its zones (its stack top is an engine scalar)."""
    nfree = z.eng[E_SLOTS_FREE]
    if nfree <= 0:
        raise MemoryError("more than 2^31 page nodes split at once (8 TiB of split pageblocks)")
    nfree -= 1
    slot = z.slot_free[nfree]
    z.eng[E_SLOTS_FREE] = nfree
    z.slot_pb[slot] = z.zc[ZC_PB_FIRST] + pb
    z.pb_slot[pb] = slot
    used = z.eng[E_SLOTS_CAP] - nfree
    if used > z.eng[E_SLOTS_PEAK]:
        z.eng[E_SLOTS_PEAK] = used
    base = z.zc[ZC_PG0] + int(slot) * PAGEBLOCK_NR_PAGES
    for i in range(PAGEBLOCK_NR_PAGES):
        z.nstate[base + i] = NODE_NONE
        z.norder[base + i] = 0
        z.nlist[base + i] = -1


@njit
def unsplit_pageblock(z, pb):
    """The whole block is one entry again: return its slot."""
    slot = z.pb_slot[pb]
    z.pb_slot[pb] = -1
    z.slot_pb[slot] = -1
    nfree = z.eng[E_SLOTS_FREE]
    z.slot_free[nfree] = slot
    z.eng[E_SLOTS_FREE] = nfree + 1


@njit
def set_pageblock_migratetype(z, pfn, order, mt):
    """change_pageblock_range(): retag every pageblock an entry of `order` covers."""
    first = pfn >> PAGEBLOCK_ORDER
    n = 1
    if order > PAGEBLOCK_ORDER:
        n = 1 << (order - PAGEBLOCK_ORDER)
    for pb in range(first, first + n):
        z.pb_mt[pb] = mt


# --- free lists ------------------------------------------------------------------------------


@njit
def add_to_free_list(z, node, order, mt, tail):
    """__add_to_free_list() + account_freepages(): the node becomes PageBuddy of `order`."""
    lst = z.zc[ZC_L_ZONE0] + order * MIGRATE_PCPTYPES + mt
    z.nstate[node] = NODE_BUDDY
    z.norder[node] = order
    if tail:
        list_add_tail(z, lst, node)
    else:
        list_add(z, lst, node)
    z.nr_free[order, mt] += 1
    z.zc[ZC_NR_FREE_PAGES] += 1 << order


@njit
def del_from_free_list(z, node, order):
    lst = z.nlist[node]
    mt = (lst - z.zc[ZC_L_ZONE0]) % MIGRATE_PCPTYPES
    list_del(z, node)
    z.nstate[node] = NODE_NONE
    z.nr_free[order, mt] -= 1
    z.zc[ZC_NR_FREE_PAGES] -= 1 << order


@njit
def is_free_buddy(z, pfn, order):
    """page_is_buddy(): is there a free entry of exactly `order` with head `pfn`?"""
    pb = pfn >> PAGEBLOCK_ORDER
    if pb >= z.zc[ZC_NR_PAGEBLOCKS]:
        return False
    if order >= PAGEBLOCK_ORDER:
        if z.pb_slot[pb] >= 0:
            return False
    elif z.pb_slot[pb] < 0:
        return False
    node = pfn_node(z, pfn, order)
    return z.nstate[node] == NODE_BUDDY and z.norder[node] == order


# --- split and merge ---------------------------------------------------------------------------


@njit
def expand(z, pfn, low, high, mt):
    """expand(): the entry (pfn, high) is split down to (pfn, low); the upper halves go on the
    free lists of `mt`, at the head, as the kernel does."""
    steps = 0
    while high > low:
        high -= 1
        size = 1 << high
        if high < PAGEBLOCK_ORDER and z.pb_slot[pfn >> PAGEBLOCK_ORDER] < 0:
            split_pageblock(z, pfn >> PAGEBLOCK_ORDER)
        add_to_free_list(z, pfn_node(z, pfn + size, high), high, mt, False)
        steps += 1
    if steps:
        z.ev[EV_SPLIT_STEPS] += steps
        z.eng[E_NOW] += steps * z.cost[C_SPLIT_STEP]


@njit
def page_del_and_expand(z, node, order, pfn, want_order, mt):
    """page_del_and_expand(): unlink a free entry and split it down to `want_order`."""
    del_from_free_list(z, node, order)
    expand(z, pfn, want_order, order, mt)
    z.ev[EV_ZONE_LOCK_PAGES] += 1 << want_order
    z.eng[E_NOW] += z.cost[C_ZONE_PAGE]


@njit
def __rmqueue_smallest(z, order, mt):
    """__rmqueue_smallest(): the first entry of the smallest order >= `order` on `mt`'s lists.
    Returns the pfn of an entry of `order`, or -1."""
    for o in range(order, MAX_PAGE_ORDER + 1):
        node = list_first(z, z.zc[ZC_L_ZONE0] + o * MIGRATE_PCPTYPES + mt)
        if node < 0:
            continue
        pfn = node_pfn(z, node)
        page_del_and_expand(z, node, o, pfn, order, mt)
        # percpu_refill as the kernel computes it: pcp_allowed_order(order)
        trace_zone_locked(z, pfn, order, mt, order <= 3 or order == PAGEBLOCK_ORDER)
        return pfn
    return -1


@njit
def __free_one_page(z, pfn, order, mt, to_tail):
    """__free_one_page(): merge with free buddies while possible, then list the result.

    At pageblock order and above, a buddy block of another migratetype takes the freed
    block's type, as in v6.10+. Placement: tail if the caller asks (FPI_TO_TAIL), else tail
    when buddy_merge_likely(), else head. Returns the final order."""
    z.nstate[pfn_node(z, pfn, order)] = NODE_NONE
    steps = 0
    buddy_pfn = pfn
    while order < MAX_PAGE_ORDER:
        buddy_pfn = pfn ^ (1 << order)
        if not is_free_buddy(z, buddy_pfn, order):
            break
        del_from_free_list(z, pfn_node(z, buddy_pfn, order), order)
        if order >= PAGEBLOCK_ORDER:
            set_pageblock_migratetype(z, buddy_pfn, order, mt)
        pfn &= buddy_pfn
        order += 1
        steps += 1
        if order == PAGEBLOCK_ORDER:
            unsplit_pageblock(z, pfn >> PAGEBLOCK_ORDER)
    if not to_tail and order < MAX_PAGE_ORDER - 1:
        # buddy_merge_likely(): if the buddy of the next order up is free, this entry is likely
        # to merge soon once its own buddy frees; keep it at the tail, away from allocations.
        higher = buddy_pfn & pfn
        to_tail = is_free_buddy(z, higher ^ (1 << (order + 1)), order + 1)
    add_to_free_list(z, pfn_node(z, pfn, order), order, mt, to_tail)
    z.ev[EV_MERGE_STEPS] += steps
    z.eng[E_NOW] += z.cost[C_ZONE_PAGE] + steps * z.cost[C_MERGE_STEP]
    return order


# --- fallback ----------------------------------------------------------------------------------


@njit
def fallback_type(mt, i):
    """fallbacks[mt][i] (mm/page_alloc.c)."""
    if mt == MIGRATE_UNMOVABLE:
        return MIGRATE_RECLAIMABLE if i == 0 else MIGRATE_MOVABLE
    if mt == MIGRATE_MOVABLE:
        return MIGRATE_RECLAIMABLE if i == 0 else MIGRATE_UNMOVABLE
    return MIGRATE_UNMOVABLE if i == 0 else MIGRATE_MOVABLE


@njit
def should_try_claim_block(order, start_mt):
    """should_try_claim_block(): whole blocks, big chunks, or unmovable/reclaimable requests."""
    if order >= PAGEBLOCK_ORDER:
        return True
    return (
        order >= PAGEBLOCK_ORDER // 2
        or start_mt == MIGRATE_RECLAIMABLE
        or start_mt == MIGRATE_UNMOVABLE
    )


@njit
def find_suitable_fallback(z, order, mt, claimable):
    """find_suitable_fallback(): -2 when claiming is pointless at this order, -1 for none."""
    if claimable and not should_try_claim_block(order, mt):
        return -2
    for i in range(2):
        fmt = fallback_type(mt, i)
        if z.nr_free[order, fmt] > 0:
            return fmt
    return -1


@njit
def boost_watermark(z):
    """boost_watermark(): raise the boost by a pageblock, up to the factor's cap."""
    factor = z.knob[K_WATERMARK_BOOST_FACTOR]
    if factor == 0 or z.zc[ZC_MANAGED] < PAGEBLOCK_NR_PAGES * 4:
        return False
    high = z.zc[ZC_WMARK_HIGH]
    max_boost = (high // 10000) * factor + ((high % 10000) * factor) // 10000
    if max_boost == 0:
        return False
    max_boost = max(PAGEBLOCK_NR_PAGES, max_boost)
    z.zc[ZC_WATERMARK_BOOST] = min(z.zc[ZC_WATERMARK_BOOST] + PAGEBLOCK_NR_PAGES, max_boost)
    z.ev[EV_BOOST] += 1
    return True


@njit
def prep_move_freepages_block(z, pb):
    """prep_move_freepages_block(): count free pages and movable (LRU) pages in a split
    block. Returns (free_pages, movable_pages)."""
    base = z.zc[ZC_PG0] + int(z.pb_slot[pb]) * PAGEBLOCK_NR_PAGES
    free = 0
    movable = 0
    i = 0
    while i < PAGEBLOCK_NR_PAGES:
        st = z.nstate[base + i]
        step = 1
        if st != NODE_NONE:
            step = 1 << int(z.norder[base + i])
            if st == NODE_BUDDY:
                free += step
            elif st == NODE_ALLOC_MOVABLE:
                movable += step
        i += step
    z.eng[E_NOW] += z.cost[C_PAGEBLOCK_SCAN]
    return free, movable


@njit
def move_freepages_block(z, pb, new_mt):
    """__move_freepages_block(): every free entry of the block to `new_mt`'s lists (tail)."""
    base = z.zc[ZC_PG0] + int(z.pb_slot[pb]) * PAGEBLOCK_NR_PAGES
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
            add_to_free_list(z, node, order, new_mt, True)
            z.eng[E_NOW] += z.cost[C_ZONE_PAGE]
        i += 1 << order
    z.pb_mt[pb] = new_mt


@njit
def try_to_claim_block(z, node, current_order, order, start_mt, block_mt):
    """try_to_claim_block() (v6.15+): take whole blocks outright; otherwise claim the block
    only if free + compatible pages reach half of it, else give up (no single-page steal)."""
    pfn = node_pfn(z, node)
    if current_order >= PAGEBLOCK_ORDER:
        del_from_free_list(z, node, current_order)
        set_pageblock_migratetype(z, pfn, current_order, start_mt)
        expand(z, pfn, order, current_order, start_mt)
        z.ev[EV_ZONE_LOCK_PAGES] += 1 << order
        z.eng[E_NOW] += z.cost[C_ZONE_PAGE]
        return pfn
    # ALLOC_KSWAPD is set for every allocation the mixes make (GFP_KERNEL and friends).
    if boost_watermark(z):
        z.zc[ZC_FLAGS] |= ZONE_BOOSTED_WATERMARK
    pb = pfn >> PAGEBLOCK_ORDER
    free, movable = prep_move_freepages_block(z, pb)
    if start_mt == MIGRATE_MOVABLE:
        alike = movable
    elif block_mt == MIGRATE_MOVABLE:
        alike = PAGEBLOCK_NR_PAGES - (free + movable)
    else:
        alike = 0
    if free + alike >= PAGEBLOCK_NR_PAGES // 2:
        move_freepages_block(z, pb, start_mt)
        return __rmqueue_smallest(z, order, start_mt)
    return -1


@njit
def __rmqueue_claim(z, order, mt):
    """__rmqueue_claim(): search the other types' lists from the largest order down."""
    for co in range(MAX_PAGE_ORDER, order - 1, -1):
        fmt = find_suitable_fallback(z, co, mt, True)
        if fmt == -1:
            continue
        if fmt == -2:
            break
        node = list_first(z, z.zc[ZC_L_ZONE0] + co * MIGRATE_PCPTYPES + fmt)
        pfn = try_to_claim_block(z, node, co, order, mt, fmt)
        if pfn >= 0:
            trace_extfrag(z, pfn, order, mt, co, fmt, int(z.pb_mt[pfn >> PAGEBLOCK_ORDER]) == mt)
            z.ev[EV_EXTFRAG_CLAIM] += 1
            if co < PAGEBLOCK_ORDER:
                z.ev[EV_EXTFRAG_FRAGMENTING] += 1
            return pfn
    return -1


@njit
def __rmqueue_steal(z, order, mt):
    """__rmqueue_steal(): the smallest fallback entry, split in place; the block keeps its
    type."""
    for co in range(order, MAX_PAGE_ORDER + 1):
        fmt = find_suitable_fallback(z, co, mt, False)
        if fmt < 0:
            continue
        node = list_first(z, z.zc[ZC_L_ZONE0] + co * MIGRATE_PCPTYPES + fmt)
        pfn = node_pfn(z, node)
        page_del_and_expand(z, node, co, pfn, order, fmt)
        trace_extfrag(z, pfn, order, mt, co, fmt, 0)
        z.ev[EV_EXTFRAG_STEAL] += 1
        if co < PAGEBLOCK_ORDER:
            z.ev[EV_EXTFRAG_FRAGMENTING] += 1
        return pfn
    return -1


@njit
def steal_suitable_fallback(z, node, current_order, order, start_mt, block_mt, whole_block):
    """steal_suitable_fallback() (v6.10 .. v6.14, before c2f6ea38fc1b): claim the block as
    try_to_claim_block() does when whole blocks may be taken (or the buddy is one), else, or
    when the claim fails, take `order` out of this buddy in place, the block keeping its
    type. Returns (pfn, claimed)."""
    if whole_block or current_order >= PAGEBLOCK_ORDER:
        pfn = try_to_claim_block(z, node, current_order, order, start_mt, block_mt)
        if pfn >= 0:
            return pfn, True
    elif boost_watermark(z):
        z.zc[ZC_FLAGS] |= ZONE_BOOSTED_WATERMARK
    pfn = node_pfn(z, node)
    page_del_and_expand(z, node, current_order, pfn, order, block_mt)
    return pfn, False


@njit
def __rmqueue_fallback(z, order, mt):
    """__rmqueue_fallback() (v6.10 .. v6.14): the largest fallback buddy (top-down), except
    that a movable request whose order cannot claim a block takes the smallest instead; then
    steal_suitable_fallback()."""
    for co in range(MAX_PAGE_ORDER, order - 1, -1):
        fmt = find_suitable_fallback(z, co, mt, False)
        if fmt < 0:
            continue
        whole_block = should_try_claim_block(co, mt)
        if not whole_block and mt == MIGRATE_MOVABLE and co > order:
            for co in range(order, MAX_PAGE_ORDER + 1):  # find_smallest
                fmt = find_suitable_fallback(z, co, mt, False)
                if fmt >= 0:
                    break
            whole_block = should_try_claim_block(co, mt)
        node = list_first(z, z.zc[ZC_L_ZONE0] + co * MIGRATE_PCPTYPES + fmt)
        pfn, claimed = steal_suitable_fallback(z, node, co, order, mt, fmt, whole_block)
        trace_extfrag(z, pfn, order, mt, co, fmt, int(z.pb_mt[pfn >> PAGEBLOCK_ORDER]) == mt)
        z.ev[EV_EXTFRAG_CLAIM if claimed else EV_EXTFRAG_STEAL] += 1
        if co < PAGEBLOCK_ORDER:
            z.ev[EV_EXTFRAG_FRAGMENTING] += 1
        return pfn
    return -1


@njit
def __rmqueue(z, order, mt, mode):
    """__rmqueue(): normal, then claim, then steal, resuming at `mode` (the rmqueue_mode that
    rmqueue_bulk keeps across its loop, v6.15+). Returns (pfn or -1, new mode). Before
    c2f6ea38fc1b: __rmqueue_smallest(), then __rmqueue_fallback()."""
    if not z.knob[K_FALLBACK_CLAIM_STEAL]:
        pfn = __rmqueue_smallest(z, order, mt)
        if pfn < 0:
            pfn = __rmqueue_fallback(z, order, mt)
        return pfn, RMQUEUE_NORMAL
    if mode == RMQUEUE_NORMAL:
        pfn = __rmqueue_smallest(z, order, mt)
        if pfn >= 0:
            return pfn, mode
    if mode <= RMQUEUE_CLAIM:
        pfn = __rmqueue_claim(z, order, mt)
        if pfn >= 0:
            return pfn, RMQUEUE_NORMAL
    pfn = __rmqueue_steal(z, order, mt)
    if pfn >= 0:
        return pfn, RMQUEUE_STEAL
    return -1, mode


@njit
def zone_init(z):
    """memblock_free_all(): all memory goes to the free lists in MAX_PAGE_ORDER chunks, in
    ascending pfn order at the tail (__free_pages_core uses FPI_TO_TAIL). Blocks are MOVABLE."""
    nr_pb = z.zc[ZC_NR_PAGEBLOCKS]
    per_max = 1 << (MAX_PAGE_ORDER - PAGEBLOCK_ORDER)
    pb = 0
    while pb < nr_pb:
        order = MAX_PAGE_ORDER if pb + per_max <= nr_pb else PAGEBLOCK_ORDER
        add_to_free_list(z, z.zc[ZC_PB0] + pb, order, MIGRATE_MOVABLE, True)
        pb += 1 << (order - PAGEBLOCK_ORDER)
