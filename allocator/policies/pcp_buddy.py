"""`pcp-buddy`: the RFC "mm: page_alloc: pcp buddy allocator" (Johannes Weiner, April 2026).

Per-CPU lists grab whole pageblocks, own them, and take back the frees of their pages, so that
buddies meet again in one place and merge under pcp->lock (../shared/rfc/rfc-thread.txt and
../shared/reference/kernel-model.md, part 1). In this model:

- RFC 1/2, struct pageblock_data: the block's migratetype (Z.pb_mt) sits beside its owner CPU
  (`ps.owner`) and its place on the owner's `owned_blocks` list (`ps.olist`, the `cpu_node`).
- Refill (rmqueue_bulk) in four phases, one zone->lock hold: 0) recover this CPU's fragment
  blocks of the wanted migratetype from the zone free lists; 1) claim whole free pageblocks
  while one fits under pcp->high; 2) take free chunks larger than the request but smaller than a
  pageblock, from the wanted migratetype only (no stealing), unowned; 3) classic __rmqueue()
  with fallback. Pages of phases 0 and 1 are owned (PagePCPBuddy: NODE_PCP_OWNED); the rest
  are only cached (NODE_PCP).
- The PCP keeps lists for orders 0..9 per migratetype, one set for owned entries and one for
  cached ones; allocations split larger entries on the PCP (expand() under pcp->lock, outside
  zone->lock). Freshly freed owned pages go to the head of the owned lists, marked fresh, so the
  drain's merge pass visits only them: what was on the PCP at the last pass is merged already.
- A free of a page of an owned block goes to the owner's PCP under the owner's pcp->lock, from
  any CPU; unowned pages free locally as upstream.
- Drain (free_pcppages_bulk): a bottom-up merge pass over the owned entries, under pcp->lock,
  then the chunks go to the zone: a whole reassembled block as one order-9 chunk, which loses
  its owner; a part of an owned block to the tail of the zone free list (FPI_TO_TAIL), its block
  staying owned and going on `owned_blocks` as a fragment block for phase 0.
- Degradation: when no block fits under pcp->high or none is free, phases 2 and 3 fill the
  refill with unowned chunks, and frees of those go to the local PCP as before.

Every point the RFC text leaves open is a knob below, with its default and the reason.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

from .._jit import njit
from ..buddy import (
    __free_one_page,
    __rmqueue,
    __rmqueue_smallest,
    add_to_free_list,
    del_from_free_list,
    node_pfn,
    pfn_node,
    split_pageblock,
    unsplit_pageblock,
)
from ..consts import (
    MAX_PAGE_ORDER,
    MIGRATE_PCPTYPES,
    NODE_BUDDY,
    NODE_NONE,
    NODE_PCP,
    NODE_PCP_FRESH,
    NODE_PCP_OWNED,
    PAGEBLOCK_NR_PAGES,
    PAGEBLOCK_ORDER,
)
from ..costs import (
    C_MERGE_STEP,
    C_PAGEBLOCK_SCAN,
    C_PCP_LIST,
    C_PCP_LOCK,
    C_SPLIT_STEP,
    C_ZONE_LOCK,
    C_ZONE_PAGE,
)
from ..knobs import K_DRAIN_IN_BATCHES, NR_ENGINE_KNOBS, Knob
from ..layout import (
    E_NOW,
    EV_PCP_ALLOC_HIT,
    EV_PCP_ALLOC_MISS,
    EV_PCP_DRAIN,
    EV_PCP_DRAIN_PAGES,
    EV_PCP_REFILL,
    EV_PCP_REFILL_PAGES,
    EV_PCP_TRYLOCK_FAIL,
    EV_POLICY0,
    EV_REMOTE_FREE,
    EV_ZONE_LOCK_PAGES,
    L_ZONE0,
    LOCK_ZONE,
    PCP_BATCH,
    PCP_COUNT,
    PCP_FREE_COUNT,
    PCP_HIGH,
    PCP_HIGH_MAX,
    S_POLICY0,
    ZC_PB0,
    ZC_PG0,
)
from ..lists import link_add, link_del, list_add, list_add_tail, list_del, list_first, list_last
from ..locks import (
    line_transfer_ns,
    pcp_lock_id,
    pcp_spin_lock,
    spin_lock,
    spin_trylock,
    spin_unlock,
)
from ..pcp import (
    clear_below_high,
    decay_high,
    free_one_page,
    nr_pcp_alloc,
    nr_pcp_free,
    nr_pcp_high,
    pcp_count_add,
    pcp_free_accounting,
    pcp_list,
)
from ..policy import Policy, PolicyHooks, register_policy

NR_BUDDY_ORDERS = PAGEBLOCK_ORDER + 1  # PCP lists for orders 0..9, per migratetype

# --- knobs (indices after the engine's) -----------------------------------------------------
KNOBS = (
    Knob(
        "block_fit",
        0,
        0,
        1,
        "How 'a whole block fits the pcp->high limit' is read. 0: count + 512 <= high, with "
        "high as nr_pcp_alloc() just raised it (the cover letter's wording, and it makes small "
        "or pressured machines degrade); 1: 512 <= high_max, whatever the current count.",
    ),
    Knob(
        "remote_free_trylock",
        0,
        0,
        1,
        "How a free reaches a remote owner's PCP. 0: spin on the owner's pcp->lock (a real "
        "spinlock since v6.0, which remote drains already take); 1: trylock, and on failure "
        "free the page straight to the zone.",
    ),
    Knob(
        "remote_free_lines",
        2,
        0,
        16,
        "Cache lines a remote free moves besides the lock's (the list head and pcp->count).",
    ),
    Knob(
        "merge_mode",
        0,
        0,
        1,
        "When owned buddies merge on the PCP. 0: RFC 2/2, 'on drain, a bottom-up merge pass "
        "runs first under pcp->lock, and only then are the (now larger) chunks freed': every "
        "owned page freed since the last pass checks its buddy, merges climbing as far as they "
        "go; between drains, allocations reuse the freed (cache-hot) pages as they are. 1: "
        "eager merging on every free, as __free_one_page() does in the zone.",
    ),
    Knob(
        "owned_list_per_mt",
        0,
        0,
        1,
        "0: one owned_blocks list per CPU, phase 0 skipping blocks of other types (the patch; "
        "Johannes: the list is short); 1: one list per migratetype (Rik van Riel's suggestion).",
    ),
    Knob(
        "drain_all_disowns",
        1,
        0,
        1,
        "drain_all_pages() (reclaim retries, and in the kernel isolation and CPU hotplug): 1 "
        "disowns every block whose pages it returns and empties the CPU's owned_blocks, so the "
        "zone can merge and hand them out (the caller wants memory back); 0 keeps ownership.",
    ),
    Knob(
        "phase2",
        1,
        0,
        1,
        "Phase 2 of the refill (sub-pageblock chunks of the wanted type, split on the PCP); "
        "0 skips it, for comparison.",
    ),
)
K_BLOCK_FIT = NR_ENGINE_KNOBS + 0
K_REMOTE_FREE_TRYLOCK = NR_ENGINE_KNOBS + 1
K_REMOTE_FREE_LINES = NR_ENGINE_KNOBS + 2
K_MERGE_MODE = NR_ENGINE_KNOBS + 3
K_OWNED_LIST_PER_MT = NR_ENGINE_KNOBS + 4
K_DRAIN_ALL_DISOWNS = NR_ENGINE_KNOBS + 5
K_PHASE2 = NR_ENGINE_KNOBS + 6

# --- counters (EV_POLICY0 + i) and gauges (S_POLICY0 + i) -----------------------------------
EVENT_NAMES = (
    "refills_phase0",  # refills in which phase 0 recovered pages
    "refills_phase1",
    "refills_phase2",
    "refills_phase3",
    "recovered_pages",  # pages phase 0 took back from the zone
    "claimed_blocks",  # whole pageblocks phase 1 claimed
    "whole_blocks_returned",  # reassembled blocks a drain gave back (and disowned)
    "fragment_chunks_returned",  # partial chunks of owned blocks a drain sent to the zone tail
    "blocks_disowned",
    "pcp_merges",  # buddy merges on a PCP
    "pcp_splits",  # expand() levels done on a PCP
    "owned_blocks_peak",
    "fragment_blocks_peak",
    "remote_free_fallbacks",  # remote frees that found the owner's lock busy (trylock knob)
)
(
    EV_P0,
    EV_P1,
    EV_P2,
    EV_P3,
    EV_RECOVERED,
    EV_CLAIMED,
    EV_WHOLE_RETURNED,
    EV_FRAG_RETURNED,
    EV_DISOWNED,
    EV_MERGES,
    EV_SPLITS,
    EV_OWNED_PEAK,
    EV_FRAG_PEAK,
    EV_REMOTE_FALLBACK,
) = (EV_POLICY0 + i for i in range(len(EVENT_NAMES)))
GAUGE_NAMES = ("owned_blocks", "fragment_blocks")

PcpBuddyState = namedtuple(
    "PcpBuddyState",
    [
        "owner",  # int32[nr_pageblocks]  owning agent, -1 if none
        "onxt",  # int32[H + nr_pageblocks]  owned_blocks links: H sentinels, then one per block
        "oprv",
        "olist",  # int32[H + nr_pageblocks]  which owned_blocks list holds the block, -1 none
        "olen",  # int64[H]
        "nl",  # owned_blocks lists per agent: 1, or 3 (one per migratetype)
        "owned",  # int64[agents + 1]  blocks owned per agent; [agents] is the total
    ],
)

# --- ownership ---------------------------------------------------------------------------------


@njit
def owned_head(ps, agent, mt):
    return agent * ps.nl + (mt if ps.nl > 1 else 0)


@njit
def block_node(ps, pb):
    return len(ps.olen) + pb


@njit
def fragment_total(ps):
    return ps.olen.sum()


@njit
def leave_owned_list(ps, pb):
    node = block_node(ps, pb)
    if ps.olist[node] >= 0:
        link_del(ps.onxt, ps.oprv, ps.olist, ps.olen, node)


@njit
def disown(z, ps, pb):
    agent = ps.owner[pb]
    if agent < 0:
        return
    leave_owned_list(ps, pb)
    ps.owner[pb] = -1
    ps.owned[agent] -= 1
    ps.owned[len(ps.owned) - 1] -= 1
    z.ev[EV_DISOWNED] += 1


@njit
def take_ownership(z, ps, pb, agent):
    old = ps.owner[pb]
    if old == agent:
        return
    if old >= 0:
        disown(z, ps, pb)
    ps.owner[pb] = agent
    ps.owned[agent] += 1
    total = ps.owned[len(ps.owned) - 1] + 1
    ps.owned[len(ps.owned) - 1] = total
    if total > z.ev[EV_OWNED_PEAK]:
        z.ev[EV_OWNED_PEAK] = total


@njit
def mark_fragment(z, ps, pb):
    """An owned block has pages in the zone: remember it on its owner's owned_blocks."""
    node = block_node(ps, pb)
    if ps.owner[pb] < 0 or ps.olist[node] >= 0:
        return
    head = owned_head(ps, ps.owner[pb], int(z.pb_mt[pb]))
    link_add(ps.onxt, ps.oprv, ps.olist, ps.olen, head, node, True)
    total = fragment_total(ps)
    if total > z.ev[EV_FRAG_PEAK]:
        z.ev[EV_FRAG_PEAK] = total


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
def bpcp_add(z, agent, node, order, mt, state, tail):
    z.nstate[node] = state
    z.norder[node] = order
    lst = pcp_list(z, agent, bpindex(order, mt, is_owned_state(state)))
    if tail:
        list_add_tail(z, lst, node)
    else:
        list_add(z, lst, node)
    pcp_count_add(z, agent, 1 << order)


@njit
def bpcp_unlink(z, agent, node, order):
    list_del(z, node)
    pcp_count_add(z, agent, -(1 << order))


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
    bpcp_unlink(z, agent, node, o)
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
        bpcp_add(z, agent, pfn_node(z, pfn + (1 << o), o), o, mt, state, True)
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
def merge_owned(z, agent, node, order):
    """Merge an owned entry (not listed) with its free owned buddies on this PCP, as far up as
    they go. Returns (node, order) of the result; the caller lists it."""
    pfn = node_pfn(z, node)
    steps = 0
    bnode = owned_buddy(z, pfn, order)
    while bnode >= 0:
        bpcp_unlink(z, agent, bnode, order)
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
def merge_fresh(z, agent):
    """The bottom-up merge pass before a drain, under pcp->lock: orders 0 to 8, each page
    freed since the last pass checks its buddy (one struct page read: a merge step) and
    merges as far up as the buddies allow. Entries that were on the PCP at the last pass were
    merged then, so only the fresh ones can have found a buddy since."""
    checks = 0
    for order in range(PAGEBLOCK_ORDER):
        for mt in range(MIGRATE_PCPTYPES):
            lst = pcp_list(z, agent, bpindex(order, mt, 1))
            node = z.nxt[lst]
            while node != lst and z.nstate[node] == NODE_PCP_FRESH:
                following = z.nxt[node]
                z.nstate[node] = NODE_PCP_OWNED
                checks += 1
                pfn = node_pfn(z, node)
                bnode = owned_buddy(z, pfn, order)
                if bnode >= 0:
                    if following == bnode:
                        following = z.nxt[bnode]
                    bpcp_unlink(z, agent, node, order)
                    merged, new_order = merge_owned(z, agent, node, order)
                    mt_now = int(z.pb_mt[pfn >> PAGEBLOCK_ORDER])
                    bpcp_add(z, agent, merged, new_order, mt_now, NODE_PCP_OWNED, True)
                node = following
    z.eng[E_NOW] += checks * z.cost[C_MERGE_STEP]


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
        bpcp_add(z, agent, node, PAGEBLOCK_ORDER, mt, NODE_PCP_OWNED, True)
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
            # fresh: its buddy may be an owned page freed on the PCP meanwhile
            bpcp_add(z, agent, node, order, mt, NODE_PCP_FRESH, False)
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
        bpcp_add(z, agent, node, PAGEBLOCK_ORDER, mt, NODE_PCP_OWNED, True)
        z.ev[EV_CLAIMED] += 1
        got += PAGEBLOCK_NR_PAGES
    return got


@njit
def refill_phase2(z, agent, order, mt, want):
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
        node = list_first(z, L_ZONE0 + pick * MIGRATE_PCPTYPES + mt)
        del_from_free_list(z, node, pick)
        bpcp_add(z, agent, node, pick, mt, NODE_PCP, True)
        z.ev[EV_ZONE_LOCK_PAGES] += 1 << pick
        z.eng[E_NOW] += z.cost[C_ZONE_PAGE]
        got += 1 << pick
    return got


@njit
def refill_phase3(z, agent, order, mt, want):
    got = 0
    mode = 0
    while got < want:
        pfn, mode = __rmqueue(z, order, mt, mode)
        if pfn < 0:
            break
        bpcp_add(z, agent, pfn_node(z, pfn, order), order, mt, NODE_PCP, True)
        got += 1 << order
    return got


@njit
def bpcp_refill(z, ps, agent, order, mt, want):
    """rmqueue_bulk() with the RFC's four phases, under one zone->lock hold."""
    spin_lock(z, LOCK_ZONE, agent, z.cost[C_ZONE_LOCK])
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
        n = refill_phase2(z, agent, order, mt, want - got)
        if n:
            z.ev[EV_P2] += 1
        got += n
    if got < want:
        n = refill_phase3(z, agent, order, mt, want - got)
        if n:
            z.ev[EV_P3] += 1
        got += n
    spin_unlock(z, LOCK_ZONE)
    z.ev[EV_PCP_REFILL] += 1
    z.ev[EV_PCP_REFILL_PAGES] += got
    return got


# --- drain -------------------------------------------------------------------------------------


@njit
def return_entry(z, ps, node, order, disowning):
    """Give one PCP entry back to the zone (zone->lock held)."""
    pfn = node_pfn(z, node)
    pb = pfn >> PAGEBLOCK_ORDER
    mt = int(z.pb_mt[pb])
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


# --- hooks ---------------------------------------------------------------------------------------


@njit
def rmqueue_pcplist(z, ps, cpu, order, mt):
    lock = pcp_lock_id(cpu)
    if not spin_trylock(z, lock, cpu, z.cost[C_PCP_LOCK]):
        z.ev[EV_PCP_TRYLOCK_FAIL] += 1
        return -1
    z.pcp[cpu, PCP_FREE_COUNT] >>= 1  # every allocation halves it
    node = bpcp_take(z, ps, cpu, order, mt)
    if node < 0:
        z.ev[EV_PCP_ALLOC_MISS] += 1
        want = nr_pcp_alloc(z, cpu, order) << order
        bpcp_refill(z, ps, cpu, order, mt, want)
        node = bpcp_take(z, ps, cpu, order, mt)
    else:
        z.ev[EV_PCP_ALLOC_HIT] += 1
    if node >= 0:
        z.eng[E_NOW] += z.cost[C_PCP_LIST]
    spin_unlock(z, lock)
    return node


@njit
def bpcp_commit(z, ps, agent, cpu, node, order, mt, owned):
    """free_frozen_page_commit() on `agent`'s PCP (the owner's, for an owned page), run by
    `cpu`: list the entry at the head (an owned one fresh, or merged first with merge_mode 1),
    then drain down to high."""
    if not owned:
        bpcp_add(z, agent, node, order, mt, NODE_PCP, False)
    elif z.knob[K_MERGE_MODE] == 1:
        node, order = merge_owned(z, agent, node, order)
        bpcp_add(z, agent, node, order, mt, NODE_PCP_OWNED, False)
    else:
        bpcp_add(z, agent, node, order, mt, NODE_PCP_FRESH, False)
    z.eng[E_NOW] += z.cost[C_PCP_LIST]
    free_high = pcp_free_accounting(z, agent, order)
    batch = z.pcp[agent, PCP_BATCH]
    high = nr_pcp_high(z, agent, batch, free_high)
    if z.pcp[agent, PCP_COUNT] < high:
        return
    to_free = nr_pcp_free(z, agent, batch, high, free_high)
    if to_free > 0:
        bpcp_drain_chunked(z, ps, agent, cpu, to_free, high, False)
    clear_below_high(z)


@njit
def free_to_zone(z, ps, cpu, pfn, order):
    """The fallback when a pcp->lock is busy: free_one_page(); an owned block then has a
    fragment in the zone."""
    free_one_page(z, cpu, pfn, order)
    mark_fragment(z, ps, pfn >> PAGEBLOCK_ORDER)


@njit
def free_pcp(z, ps, cpu, pfn, order):
    """free_unref_page(): an owned page goes to its owner's PCP, from any CPU; others to the
    freeing CPU's PCP as upstream."""
    pb = pfn >> PAGEBLOCK_ORDER
    owner = ps.owner[pb]
    mt = int(z.pb_mt[pb])
    node = pfn_node(z, pfn, order)
    if owner < 0 or owner == cpu:
        target = cpu
        if not spin_trylock(z, pcp_lock_id(cpu), cpu, z.cost[C_PCP_LOCK]):
            z.ev[EV_PCP_TRYLOCK_FAIL] += 1
            free_to_zone(z, ps, cpu, pfn, order)
            return
    else:
        target = owner
        z.ev[EV_REMOTE_FREE] += 1
        if z.knob[K_REMOTE_FREE_TRYLOCK]:
            if not spin_trylock(z, pcp_lock_id(owner), cpu, z.cost[C_PCP_LOCK]):
                z.ev[EV_REMOTE_FALLBACK] += 1
                free_to_zone(z, ps, cpu, pfn, order)
                return
        else:
            pcp_spin_lock(z, owner, cpu, z.cost[C_PCP_LOCK])
        z.eng[E_NOW] += z.knob[K_REMOTE_FREE_LINES] * line_transfer_ns(z, owner, cpu)
    bpcp_commit(z, ps, target, cpu, node, order, mt, owner >= 0)
    spin_unlock(z, pcp_lock_id(target))


@njit
def decay_pcp_high(z, ps, cpu):
    to_drain = decay_high(z, cpu)
    if to_drain > 0:
        pcp_spin_lock(z, cpu, cpu, z.cost[C_PCP_LOCK])
        bpcp_drain_chunked(z, ps, cpu, cpu, to_drain, 0, False)
        spin_unlock(z, pcp_lock_id(cpu))


@njit
def drain_pages(z, ps, cpu, target):
    """drain_pages_zone(target) from `cpu`; with drain_all_disowns, the target also gives up
    its fragment blocks."""
    disowning = z.knob[K_DRAIN_ALL_DISOWNS] != 0
    while z.pcp[target, PCP_COUNT] > 0:
        pcp_spin_lock(z, target, cpu, z.cost[C_PCP_LOCK])
        bpcp_drain_chunked(z, ps, target, cpu, z.pcp[target, PCP_COUNT], 0, disowning)
        spin_unlock(z, pcp_lock_id(target))
    if disowning:
        for k in range(ps.nl):
            head = target * ps.nl + k
            node = ps.onxt[head]
            while node != head:
                following = ps.onxt[node]
                disown(z, ps, node - len(ps.olen))
                node = following


@njit
def sample(z, ps, row):
    z.samples[row, S_POLICY0] = ps.owned[len(ps.owned) - 1]
    z.samples[row, S_POLICY0 + 1] = fragment_total(ps)


@register_policy
class PcpBuddy(Policy):
    """The RFC: PCPs claim and own whole pageblocks; frees of their pages go back to the owner."""

    name = "pcp-buddy"
    hooks = PolicyHooks(
        rmqueue_pcplist=rmqueue_pcplist,
        free_pcp=free_pcp,
        decay_pcp_high=decay_pcp_high,
        drain_pages=drain_pages,
        sample=sample,
    )
    knobs = KNOBS
    event_names = EVENT_NAMES
    gauge_names = GAUGE_NAMES
    pcp_lists_per_agent = 2 * OWNED_LISTS

    def init_state(self, z: Any, knobs: dict[str, int]) -> PcpBuddyState:
        nr_pb = len(z.pb_mt)
        agents = len(z.pcp)
        nl = MIGRATE_PCPTYPES if knobs["owned_list_per_mt"] else 1
        heads = agents * nl
        onxt = np.empty(heads + nr_pb, dtype=np.int32)
        onxt[:heads] = np.arange(heads, dtype=np.int32)
        onxt[heads:] = -1
        return PcpBuddyState(
            owner=np.full(nr_pb, -1, dtype=np.int32),
            onxt=onxt,
            oprv=onxt.copy(),
            olist=np.full(heads + nr_pb, -1, dtype=np.int32),
            olen=np.zeros(heads, dtype=np.int64),
            nl=nl,
            owned=np.zeros(agents + 1, dtype=np.int64),
        )

    def check_invariants(self, z: Any, ps: PcpBuddyState) -> list[str]:
        from .pcp_buddy_checks import check_pcp_buddy

        return check_pcp_buddy(z, ps)
