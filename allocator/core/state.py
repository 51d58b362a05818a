"""The simulator's state: one namedtuple of arrays, passed explicitly to every kernel.

Node space (int32 ids, links in `nxt`/`prv`):

    [0, L)                    list sentinels (zone free lists, LRU, PCP lists, policy, mix)
    [PB0, PB0 + nr_pageblocks)  one node per pageblock: an entry of order >= pageblock_order
                              (a free order-9/10 chunk, a THP on a PCP list or allocated)
    [PG0, PG0 + 512 * cap)    per-page nodes, 512 per *slot*; a slot is lent to a pageblock
                              while it is split below pageblock_order and returned when the
                              block is whole again (`buddy.py`)

So untouched memory costs 19 bytes per 2 MiB pageblock, and per-page state (14 bytes a page)
exists only for split pageblocks. The page-node arrays are sized for every slot the int32 node
space allows but allocated uninitialised: the operating system commits their memory page by
page as slots are first lent (lowest slots first), so resident memory follows what the run
touches, not the zone, and the pool never has to move.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from allocator.core.consts import MIGRATE_MOVABLE, PAGEBLOCK_NR_PAGES
from allocator.core.layout import (
    L_FIXED,
    LK_OWNER,
    LOCK_TIMELINE,
    NR_AG_FIELDS,
    NR_ENG,
    NR_EV,
    NR_HIST_BUCKETS,
    NR_LK_FIELDS,
    NR_PCP_FIELDS,
    NR_SAMPLE_FIELDS,
    NR_T_FIELDS,
    NR_ZC,
    ZC_L_MIX0,
    ZC_L_PCP0,
    ZC_L_POL0,
    ZC_NR_LISTS,
    ZC_PB0,
    ZC_PCP_NLISTS,
    ZC_PG0,
    ZC_SLOTS_CAP,
    ZC_SLOTS_FREE,
)

# Field order is part of the compiled kernels' type; keep it stable.
Zone = namedtuple(
    "Zone",
    [
        "nxt",  # int32[N]  next node on the node's list
        "prv",  # int32[N]  previous node
        "nlist",  # int32[N]  list holding the node, -1 for none
        "nstate",  # int8[N]   NODE_* state of a head node
        "norder",  # int8[N]   order of the entry headed by the node
        "pb_mt",  # int8[nr_pageblocks]   pageblock migratetype
        "pb_slot",  # int32[nr_pageblocks]  slot of a split pageblock, -1 if whole
        "slot_pb",  # int32[cap]  pageblock using the slot, -1 if free
        "slot_free",  # int32[cap]  stack of free slots (ZC_SLOTS_FREE entries)
        "llen",  # int64[L]  entries per list
        "zc",  # int64[NR_ZC]  zone scalars (layout.ZC_*)
        "nr_free",  # int64[NR_PAGE_ORDERS, 3]  free_area[order].nr_free per migratetype
        "pcp",  # int64[agents, NR_PCP_FIELDS]  struct per_cpu_pages scalars
        "clock",  # int64[agents]  each agent's simulated time
        "ag",  # int64[agents, NR_AG_FIELDS]
        "rng",  # int64[agents, 6]  MRG32k3a streams
        "lk",  # int64[2 + agents, NR_LK_FIELDS]  zone->lock, each pcp->lock, lru_lock
        "lkres",  # int64[2 + agents, 2 * LOCK_TIMELINE]  each lock's placed sections
        "tree",  # int32[2P]  tournament tree: tree[1] is the agent with the earliest clock
        "ev",  # int64[NR_EV]  event counters
        "hist",  # int64[2, NR_HIST_BUCKETS]  alloc and free latency histograms
        "hmax",  # int64[2]  exact latency maxima
        "samples",  # int64[rows, NR_SAMPLE_FIELDS]  the time series
        "trace",  # int64[rows, NR_T_FIELDS]  recorded kmem events (0 rows: not recording)
        "cost",  # int64[NR_COSTS]
        "knob",  # int64[nr_knobs]
        "eng",  # int64[NR_ENG]  engine scalars
    ],
)

INF_NS = np.iinfo(np.int64).max // 4


def _round_up(x: int, to: int) -> int:
    return (x + to - 1) // to * to


def build_zone(
    *,
    nr_pageblocks: int,
    nr_cpus: int,
    pcp_lists_per_agent: int,
    policy_lists: int,
    mix_lists: int,
    nr_samples: int,
    trace_events: int,
    costs: np.ndarray,
    knobs: np.ndarray,
) -> Zone:
    """Allocate the arrays and the list sentinels; the zone itself is filled by `zone_init`."""
    agents = nr_cpus + 1  # the last agent is kswapd
    l_pcp0 = L_FIXED
    l_pol0 = l_pcp0 + agents * pcp_lists_per_agent
    l_mix0 = l_pol0 + policy_lists
    n_lists = l_mix0 + mix_lists
    pb0 = n_lists
    pg0 = _round_up(pb0 + nr_pageblocks, PAGEBLOCK_NR_PAGES)
    # every pageblock could be split at once, but node ids are int32: beyond 2^31 ids (8 TiB
    # split at the same time, 56 GiB of page nodes) the run stops with an error.
    slot_capacity = min(nr_pageblocks, (2**31 - 1 - pg0) // PAGEBLOCK_NR_PAGES)
    n_nodes = pg0 + slot_capacity * PAGEBLOCK_NR_PAGES

    # np.empty: large allocations are mapped lazily; only [0, pg0) is written here, page
    # nodes are initialised by split_pageblock() when their slot is first lent.
    nxt = np.empty(n_nodes, dtype=np.int32)
    prv = np.empty(n_nodes, dtype=np.int32)
    nlist = np.empty(n_nodes, dtype=np.int32)
    nstate = np.empty(n_nodes, dtype=np.int8)
    norder = np.empty(n_nodes, dtype=np.int8)
    sentinels = np.arange(n_lists, dtype=np.int32)
    nxt[:n_lists] = sentinels
    prv[:n_lists] = sentinels
    nxt[n_lists:pg0] = -1
    prv[n_lists:pg0] = -1
    nlist[:pg0] = -1
    nstate[:pg0] = 0
    norder[:pg0] = 0

    tree_leaves = 1 << max(0, (agents - 1).bit_length())
    zc = np.zeros(NR_ZC, dtype=np.int64)
    zc[ZC_PB0] = pb0
    zc[ZC_PG0] = pg0
    zc[ZC_SLOTS_CAP] = slot_capacity
    zc[ZC_SLOTS_FREE] = slot_capacity
    zc[ZC_L_PCP0] = l_pcp0
    zc[ZC_PCP_NLISTS] = pcp_lists_per_agent
    zc[ZC_L_POL0] = l_pol0
    zc[ZC_L_MIX0] = l_mix0
    zc[ZC_NR_LISTS] = n_lists

    lk = np.zeros((2 + agents, NR_LK_FIELDS), dtype=np.int64)
    lk[:, LK_OWNER] = -1
    return Zone(
        nxt=nxt,
        prv=prv,
        nlist=nlist,
        nstate=nstate,
        norder=norder,
        pb_mt=np.full(nr_pageblocks, MIGRATE_MOVABLE, dtype=np.int8),
        pb_slot=np.full(nr_pageblocks, -1, dtype=np.int32),
        slot_pb=np.full(slot_capacity, -1, dtype=np.int32),
        # Pop order: slot 0 first, so small runs touch the start of the arrays.
        slot_free=np.arange(slot_capacity - 1, -1, -1, dtype=np.int32),
        llen=np.zeros(n_lists, dtype=np.int64),
        zc=zc,
        nr_free=np.zeros((11, 3), dtype=np.int64),
        pcp=np.zeros((agents, NR_PCP_FIELDS), dtype=np.int64),
        clock=np.zeros(agents, dtype=np.int64),
        ag=np.zeros((agents, NR_AG_FIELDS), dtype=np.int64),
        rng=np.zeros((agents, 6), dtype=np.int64),
        lk=lk,
        lkres=np.zeros((2 + agents, 2 * LOCK_TIMELINE), dtype=np.int64),
        tree=np.full(2 * tree_leaves, -1, dtype=np.int32),
        ev=np.zeros(NR_EV, dtype=np.int64),
        hist=np.zeros((2, NR_HIST_BUCKETS), dtype=np.int64),
        hmax=np.zeros(2, dtype=np.int64),
        samples=np.zeros((nr_samples, NR_SAMPLE_FIELDS), dtype=np.int64),
        trace=np.zeros((trace_events, NR_T_FIELDS), dtype=np.int64),
        cost=costs,
        knob=knobs,
        eng=np.zeros(NR_ENG, dtype=np.int64),
    )
