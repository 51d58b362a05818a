"""The simulator's state: one struct of arrays per zone (core/structs.py), passed to every kernel.

One node space for the machine (int32 ids, links in `nxt`/`prv`), shared by its zones:

    [0, L)                    list sentinels: each zone's free lists, each node's LRU, each
                              zone's PCP lists and policy lists, then the mix's lists
    [PB0, PB0 + nr_pageblocks)  one node per pageblock of the machine, zone after zone: an
                              entry of order >= pageblock_order (a free order-9/10 chunk, a
                              THP on a PCP list or allocated)
    [PG0, PG0 + 512 * cap)    per-page nodes, 512 per *slot*; a slot is lent to a pageblock
                              while it is split below pageblock_order and returned when the
                              block is whole again (`buddy.py`)

So untouched memory costs 19 bytes per 2 MiB pageblock, and per-page state (14 bytes a page)
exists only for split pageblocks. The page-node arrays are sized for every slot the int32 node
space allows but allocated uninitialised: the operating system commits their memory page by
page as slots are first lent (lowest slots first), so resident memory follows what the run
touches, not the zone, and the pool never has to move. One node space means a list (a mix's,
a node's LRU) can hold pages of any zone, in the order they came; pfns inside a zone's kernels
are the zone's own (from 0), and `zc[ZC_PB_FIRST]` places them in the machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from allocator.core.consts import MIGRATE_MOVABLE, PAGEBLOCK_NR_PAGES
from allocator.core.layout import (
    E_SLOTS_CAP,
    E_SLOTS_FREE,
    LK_OWNER,
    LOCK_TIMELINE,
    NR_AG_FIELDS,
    NR_ENG,
    NR_EV,
    NR_FREE_LISTS,
    NR_HIST_BUCKETS,
    NR_LK_FIELDS,
    NR_PCP_FIELDS,
    NR_PGDAT,
    NR_SAMPLE_FIELDS,
    NR_T_FIELDS,
    NR_ZC,
    PG_KSWAPD,
    PG_L_LRU,
    PG_LRU_ZONE,
    PG_ZONELIST,
    ZC_KSWAPD,
    ZC_L_MIX0,
    ZC_L_PCP0,
    ZC_L_POL0,
    ZC_L_ZONE0,
    ZC_NODE,
    ZC_NR_AGENTS,
    ZC_NR_CPUS,
    ZC_NR_LISTS,
    ZC_NR_PAGEBLOCKS,
    ZC_PB0,
    ZC_PB_FIRST,
    ZC_PCP_NLISTS,
    ZC_PG0,
    ZC_ZONE_ID,
    ZC_ZONE_IDX,
)
from allocator.core.structs import state_struct

# Field order is part of the compiled kernels' type; keep it stable.
ZONE_FIELDS = (
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
    "pgdat",  # int64[nodes, NR_PGDAT + zones]  node scalars (layout.PG_*), then the
    #           node's zonelist (zone ids in fallback order, -1 after the last)
)


Zone = state_struct("Zone", ZONE_FIELDS, __name__)

INF_NS = np.iinfo(np.int64).max // 4


def _round_up(x: int, to: int) -> int:
    return (x + to - 1) // to * to


@dataclass(frozen=True)
class ZoneSpec:
    """What sizes one simulated zone: its node, its `enum zone_type`, its pageblocks."""

    node: int
    idx: int
    nr_pageblocks: int


def build_zones(
    *,
    zones: Sequence[ZoneSpec],
    nr_cpus: int,
    pcp_lists_per_agent: int,
    policy_lists: int,
    mix_lists: int,
    nr_samples: int,
    trace_events: int,
    costs: np.ndarray,
    knobs: np.ndarray,
    zonelists: np.ndarray,
) -> tuple[Zone, ...]:
    """Allocate the machine's arrays and the list sentinels, and one `Zone` per simulated zone
    (node, then zone order); the zones are filled by `zone_init`.

    The machine has one node space: every zone's free lists, each node's LRU, every zone's
    PCP and policy lists, the mix's lists, then every zone's pageblock nodes (zone by zone:
    the machine's pageblock `pb` is node `pb0 + pb`), then the page slots, one pool for all.
    A page's zone is its pageblock's (zones hold consecutive pageblocks:
    `page_alloc.page_zone_id`). The node-space arrays and the per-machine
    ones (clocks, agents, scheduler, counters, samples, costs, knobs) are shared: every
    `Zone` holds the same array objects; a zone's own are its scalars `zc`, its free areas,
    its per-CPU pagesets, its locks and its slices of the pageblock arrays. Agents are the
    CPUs, then one kswapd per node. `zonelists[node]`: the zone ids an allocation on that
    node tries in order (topology.zonelists), -1 after the last."""
    nodes = max(zs.node for zs in zones) + 1
    agents = nr_cpus + nodes
    nz = len(zones)
    l_lru0 = nz * NR_FREE_LISTS
    l_pcp0 = l_lru0 + nodes
    per_zone_pcp = agents * pcp_lists_per_agent
    l_pol0 = l_pcp0 + nz * per_zone_pcp
    l_mix0 = l_pol0 + nz * policy_lists
    n_lists = l_mix0 + mix_lists
    nr_pb = sum(zs.nr_pageblocks for zs in zones)
    pb0 = n_lists
    pg0 = _round_up(pb0 + nr_pb, PAGEBLOCK_NR_PAGES)
    # every pageblock could be split at once, but node ids are int32: beyond 2^31 ids (8 TiB
    # split at the same time, 56 GiB of page nodes) the run stops with an error.
    slot_capacity = min(nr_pb, (2**31 - 1 - pg0) // PAGEBLOCK_NR_PAGES)
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
    pb_mt = np.full(nr_pb, MIGRATE_MOVABLE, dtype=np.int8)
    pb_slot = np.full(nr_pb, -1, dtype=np.int32)

    pgdat = np.full((nodes, NR_PGDAT + nz), -1, dtype=np.int64)
    pgdat[:, :NR_PGDAT] = 0
    for k, zs in enumerate(zones):  # the last zone of a node is its highest (node, zone order)
        pgdat[zs.node, PG_LRU_ZONE] = k
    for n in range(nodes):
        pgdat[n, PG_KSWAPD] = nr_cpus + n
        pgdat[n, PG_L_LRU] = l_lru0 + n
    pgdat[:, PG_ZONELIST:] = zonelists
    tree_leaves = 1 << max(0, (agents - 1).bit_length())
    eng = np.zeros(NR_ENG, dtype=np.int64)
    eng[E_SLOTS_CAP] = slot_capacity
    eng[E_SLOTS_FREE] = slot_capacity
    shared = dict(
        nxt=nxt,
        prv=prv,
        nlist=nlist,
        nstate=nstate,
        norder=norder,
        slot_pb=np.full(slot_capacity, -1, dtype=np.int32),
        # Pop order: slot 0 first, so small runs touch the start of the arrays.
        slot_free=np.arange(slot_capacity - 1, -1, -1, dtype=np.int32),
        llen=np.zeros(n_lists, dtype=np.int64),
        clock=np.zeros(agents, dtype=np.int64),
        ag=np.zeros((agents, NR_AG_FIELDS), dtype=np.int64),
        rng=np.zeros((agents, 6), dtype=np.int64),
        tree=np.full(2 * tree_leaves, -1, dtype=np.int32),
        ev=np.zeros(NR_EV, dtype=np.int64),
        hist=np.zeros((2, NR_HIST_BUCKETS), dtype=np.int64),
        hmax=np.zeros(2, dtype=np.int64),
        samples=np.zeros((nr_samples, NR_SAMPLE_FIELDS), dtype=np.int64),
        trace=np.zeros((trace_events, NR_T_FIELDS), dtype=np.int64),
        cost=costs,
        knob=knobs,
        eng=eng,
        pgdat=pgdat,
    )
    out = []
    first = 0
    for k, zs in enumerate(zones):
        zc = np.zeros(NR_ZC, dtype=np.int64)
        zc[ZC_L_ZONE0] = k * NR_FREE_LISTS
        zc[ZC_PB_FIRST] = first
        zc[ZC_PB0] = pb0 + first
        zc[ZC_PG0] = pg0
        zc[ZC_L_PCP0] = l_pcp0 + k * per_zone_pcp
        zc[ZC_PCP_NLISTS] = pcp_lists_per_agent
        zc[ZC_L_POL0] = l_pol0 + k * policy_lists
        zc[ZC_L_MIX0] = l_mix0
        zc[ZC_NR_LISTS] = n_lists
        zc[ZC_NODE] = zs.node
        zc[ZC_ZONE_ID] = k
        zc[ZC_ZONE_IDX] = zs.idx
        zc[ZC_NR_PAGEBLOCKS] = zs.nr_pageblocks
        zc[ZC_NR_CPUS] = nr_cpus
        zc[ZC_NR_AGENTS] = agents
        zc[ZC_KSWAPD] = nr_cpus + zs.node
        # one row for zone->lock, one per agent's pcp->lock, and the node's lru_lock last
        # (mm/swap.py: the zones of a node use their node's highest zone's row)
        lk = np.zeros((2 + agents, NR_LK_FIELDS), dtype=np.int64)
        lk[:, LK_OWNER] = -1
        end = first + zs.nr_pageblocks
        out.append(
            Zone(
                pb_mt=pb_mt[first:end],
                pb_slot=pb_slot[first:end],
                zc=zc,
                nr_free=np.zeros((11, 3), dtype=np.int64),
                pcp=np.zeros((agents, NR_PCP_FIELDS), dtype=np.int64),
                lk=lk,
                lkres=np.zeros((2 + agents, 2 * LOCK_TIMELINE), dtype=np.int64),
                **shared,
            )
        )
        first = end
    return tuple(out)
