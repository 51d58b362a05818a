"""The allocator's invariants (DESIGN.md 3.6), checked in plain Python over the state arrays.

Written independently of the kernels, as an oracle for tests; `simulate(..., check_every_ns=)`
also runs it during a run. `check_invariants(zs)` returns a list of violations (empty when all
hold): every page of the machine is in exactly one place (its zone's free list, a PCP list of
its zone, or allocated on a mix list or a node's LRU); no two free buddies of the same order
sit unmerged in a zone; list lengths, nr_free, NR_FREE_PAGES, pcp->count and each node's LRU
count match the lists; a free entry's list matches its pageblock's migratetype; slots are lent
exactly to the split pageblocks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from allocator.core.consts import (
    MAX_PAGE_ORDER,
    MIGRATE_PCPTYPES,
    NODE_ALLOC,
    NODE_ALLOC_MOVABLE,
    NODE_BUDDY,
    NODE_NONE,
    NODE_PCP,
    NODE_PCP_FRESH,
    NODE_PCP_OWNED,
    NR_PAGE_ORDERS,
    PAGEBLOCK_NR_PAGES,
    PAGEBLOCK_ORDER,
)
from allocator.core.layout import (
    E_SLOTS_CAP,
    E_SLOTS_FREE,
    PCP_COUNT,
    PG_L_LRU,
    PG_NR_LRU,
    ZC_L_MIX0,
    ZC_L_PCP0,
    ZC_L_ZONE0,
    ZC_NR_AGENTS,
    ZC_NR_FREE_PAGES,
    ZC_NR_LISTS,
    ZC_PB0,
    ZC_PB_FIRST,
    ZC_PCP_NLISTS,
    ZC_PCP_PAGES,
    ZC_PG0,
)

_PLACE_FREE, _PLACE_PCP, _PLACE_ALLOC = 1, 2, 3


def node_pfn(z: Any, node: int) -> int:
    """The zone-relative pfn of the entry headed by `node` (a node of zone `z`)."""
    return machine_pfn(z, node) - int(z.zc[ZC_PB_FIRST]) * PAGEBLOCK_NR_PAGES


def machine_pfn(z: Any, node: int) -> int:
    """The pfn of the entry headed by `node` in the machine's numbering (zone after zone)."""
    pg0 = int(z.zc[ZC_PG0])
    if node >= pg0:
        off = node - pg0
        return int(z.slot_pb[off // PAGEBLOCK_NR_PAGES]) * PAGEBLOCK_NR_PAGES + off % 512
    return (node - int(z.zc[ZC_PB0]) + int(z.zc[ZC_PB_FIRST])) * PAGEBLOCK_NR_PAGES


def walk(z: Any, lst: int, limit: int) -> list[int]:
    """Nodes on list `lst`, head to tail; stops (and returns what it has) past `limit`."""
    out = []
    node = int(z.nxt[lst])
    while node != lst and len(out) <= limit:
        out.append(node)
        node = int(z.nxt[node])
    return out


def check_invariants(zs: Any) -> list[str]:
    """Every invariant over the machine: `zs`, its zones (or one zone alone)."""
    if not isinstance(zs, tuple) or not hasattr(zs[0], "zc"):
        zs = (zs,)
    z = zs[0]
    errors: list[str] = []
    pb_zone = np.concatenate([np.full(len(zk.pb_mt), k) for k, zk in enumerate(zs)])
    managed = len(pb_zone) * PAGEBLOCK_NR_PAGES
    pg0 = int(z.zc[ZC_PG0])
    cover = np.zeros(managed, dtype=np.int8)
    n_lists = int(z.zc[ZC_NR_LISTS])
    limit = len(z.nxt)

    def claim(node: int, place: int, where: str, zone: int = -1) -> tuple[int, int]:
        """Mark the entry's pages as `place`; its machine pfn and order. `zone` >= 0: the
        entry must be of that zone."""
        pfn = machine_pfn(z, node)
        order = int(z.norder[node])
        if order >= PAGEBLOCK_ORDER and node >= pg0:
            errors.append(f"{where}: page node {node} holds an order-{order} entry")
        if order < PAGEBLOCK_ORDER and node < pg0:
            errors.append(f"{where}: pageblock node {node} holds an order-{order} entry")
        if pfn < 0 or pfn + (1 << order) > managed:
            errors.append(f"{where}: entry pfn {pfn} order {order} outside the machine")
            return pfn, order
        if zone >= 0 and int(pb_zone[pfn // PAGEBLOCK_NR_PAGES]) != zone:
            errors.append(f"{where}: pfn {pfn} belongs to zone {pb_zone[pfn // 512]}")
        span = cover[pfn : pfn + (1 << order)]
        if span.any():
            errors.append(f"{where}: pfn {pfn} order {order} is also elsewhere")
        span[:] = place
        return pfn, order

    def check_list(lst: int, where: str) -> list[int]:
        nodes = walk(z, lst, limit)
        if len(nodes) > limit - 1:
            errors.append(f"{where}: list {lst} does not come back to its head")
        if int(z.llen[lst]) != len(nodes):
            errors.append(f"{where}: llen {int(z.llen[lst])} but {len(nodes)} entries")
        for node in nodes:
            if int(z.nlist[node]) != lst:
                errors.append(f"{where}: node {node} says it is on list {int(z.nlist[node])}")
        return nodes

    for k, zk in enumerate(zs):
        first = int(zk.zc[ZC_PB_FIRST]) * PAGEBLOCK_NR_PAGES
        name = f"zone {k}: " if len(zs) > 1 else ""
        # the zone's free lists
        free_pages = 0
        free_entries: set[tuple[int, int]] = set()
        for order in range(NR_PAGE_ORDERS):
            for mt in range(MIGRATE_PCPTYPES):
                lst = int(zk.zc[ZC_L_ZONE0]) + order * MIGRATE_PCPTYPES + mt
                where = f"{name}free_area[{order}][{mt}]"
                nodes = check_list(lst, where)
                if int(zk.nr_free[order, mt]) != len(nodes):
                    errors.append(f"{where}: nr_free {int(zk.nr_free[order, mt])} != "
                                  f"{len(nodes)}")
                for node in nodes:
                    if int(z.nstate[node]) != NODE_BUDDY or int(z.norder[node]) != order:
                        errors.append(f"{where}: node {node} is not PageBuddy of order {order}")
                    pfn, _ = claim(node, _PLACE_FREE, where, k)
                    if int(zk.pb_mt[(pfn - first) // PAGEBLOCK_NR_PAGES]) != mt:
                        errors.append(f"{where}: pfn {pfn} sits in a block of another type")
                    free_entries.add((pfn - first, order))
                    free_pages += 1 << order
        if int(zk.zc[ZC_NR_FREE_PAGES]) != free_pages:
            errors.append(f"{name}NR_FREE_PAGES {int(zk.zc[ZC_NR_FREE_PAGES])} != "
                          f"{free_pages} listed")
        for pfn, order in free_entries:
            if order < MAX_PAGE_ORDER and (pfn ^ (1 << order), order) in free_entries:
                errors.append(f"{name}free buddies at pfn {pfn} order {order} are not merged")

        # the zone's PCP lists (workload CPUs and each node's kswapd)
        agents = int(zk.zc[ZC_NR_AGENTS])
        per_agent = int(zk.zc[ZC_PCP_NLISTS])
        total_pcp = 0
        for a in range(agents):
            pages = 0
            for pindex in range(per_agent):
                lst = int(zk.zc[ZC_L_PCP0]) + a * per_agent + pindex
                where = f"{name}pcp[{a}].lists[{pindex}]"
                for node in check_list(lst, where):
                    if int(z.nstate[node]) not in (NODE_PCP, NODE_PCP_OWNED, NODE_PCP_FRESH):
                        errors.append(f"{where}: node {node} not marked PCP")
                    _, order = claim(node, _PLACE_PCP, where, k)
                    pages += 1 << order
            if int(zk.pcp[a, PCP_COUNT]) != pages:
                errors.append(f"{name}pcp[{a}].count {int(zk.pcp[a, PCP_COUNT])} != "
                              f"{pages} listed")
            total_pcp += pages
        if int(zk.zc[ZC_PCP_PAGES]) != total_pcp:
            errors.append(f"{name}PCP pages total {int(zk.zc[ZC_PCP_PAGES])} != {total_pcp}")

    # allocated: each node's LRU and the mix lists
    for nid in range(z.pgdat.shape[0]):
        lru = int(z.pgdat[nid, PG_L_LRU])
        lru_pages = 0
        for node in check_list(lru, f"lru of node {nid}"):
            if int(z.nstate[node]) not in (NODE_ALLOC, NODE_ALLOC_MOVABLE):
                errors.append(f"lru of node {nid}: node {node} is not marked allocated")
            _, order = claim(node, _PLACE_ALLOC, f"lru of node {nid}")
            lru_pages += 1 << order
        if int(z.pgdat[nid, PG_NR_LRU]) != lru_pages:
            errors.append(f"node {nid} NR_LRU {int(z.pgdat[nid, PG_NR_LRU])} != {lru_pages} "
                          "on its LRU")
    for lst in range(int(z.zc[ZC_L_MIX0]), n_lists):
        where = f"mix list {lst - int(z.zc[ZC_L_MIX0])}"
        for node in check_list(lst, where):
            if int(z.nstate[node]) not in (NODE_ALLOC, NODE_ALLOC_MOVABLE):
                errors.append(f"{where}: node {node} is not marked allocated")
            claim(node, _PLACE_ALLOC, where)

    missing = np.flatnonzero(cover == 0)
    if len(missing):
        errors.append(f"{len(missing)} pages are nowhere, the first at pfn {int(missing[0])}")

    # a node that heads an entry is on some list (pageblock nodes, and the page nodes of the
    # slots in use: the others were never initialised)
    pb_slot = np.concatenate([zk.pb_slot for zk in zs])
    split = np.flatnonzero(pb_slot >= 0)
    ranges = [np.arange(n_lists, pg0)]
    ranges += [pg0 + int(pb_slot[pb]) * 512 + np.arange(512) for pb in split]
    nodes = np.concatenate(ranges)
    stray = nodes[(z.nstate[nodes] != NODE_NONE) & (z.nlist[nodes] < 0)]
    if len(stray):
        errors.append(f"{len(stray)} entry heads are on no list, the first node {int(stray[0])}")

    # slots: one pool for the machine, lent to split pageblocks (machine numbering)
    cap = int(z.eng[E_SLOTS_CAP])
    nfree = int(z.eng[E_SLOTS_FREE])
    if len(split) != cap - nfree:
        errors.append(f"{len(split)} split pageblocks but {cap - nfree} slots in use")
    pb_node0 = int(z.zc[ZC_PB0]) - int(z.zc[ZC_PB_FIRST])
    for pb in split:
        slot = int(pb_slot[pb])
        if int(z.slot_pb[slot]) != pb:
            errors.append(f"pageblock {pb} has slot {slot}, which belongs to {z.slot_pb[slot]}")
        if int(z.nstate[pb_node0 + pb]) != NODE_NONE:
            errors.append(f"split pageblock {pb} also heads a whole-block entry")
    free_slots = set(int(s) for s in z.slot_free[:nfree])
    if len(free_slots) != nfree or any(int(z.slot_pb[s]) != -1 for s in free_slots):
        errors.append("the free slot stack holds duplicates or slots in use")
    return errors
