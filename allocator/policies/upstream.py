"""`upstream`: today's PCP (v6.15 .. v7.0-rc, mm/page_alloc.c).

Lists per (order <= 3, migratetype) plus two THP lists; refills sized by nr_pcp_alloc() with
alloc_factor; frees to the *freeing* CPU's PCP; drains sized by nr_pcp_high()/nr_pcp_free() with
free_count and the free_high heuristic; decay_pcp_high() once per vmstat interval. The local
pcp->lock is taken with a trylock, as pcp_spin_trylock(): if a remote drain holds it, the
allocation goes to rmqueue_buddy() and the free to free_one_page().
"""

from __future__ import annotations

from allocator.core.consts import (
    NODE_PCP,
    PAGEBLOCK_ORDER,
)
from allocator.core.jit import njit
from allocator.core.layout import (
    AG_BATCH_LOCK,
    E_NOW,
    EV_PCP_ALLOC_HIT,
    EV_PCP_ALLOC_MISS,
    EV_PCP_TRYLOCK_FAIL,
    PCP_BATCH,
    PCP_COUNT,
    PCP_FREE_COUNT,
)
from allocator.core.lists import list_add, list_first
from allocator.mm.buddy import pfn_node
from allocator.mm.locks import (
    batch_lock_done,
    batch_lock_held,
    batch_lock_release,
    pcp_lock_id,
    pcp_spin_lock,
    spin_trylock,
    spin_unlock,
)
from allocator.mm.pcp import (
    clear_below_high,
    decay_chunks,
    decay_high,
    free_one_page,
    free_pcp_chunked,
    free_pcppages_bulk,
    nr_pcp_alloc,
    nr_pcp_to_free,
    order_to_pindex,
    pcp_count_add,
    pcp_entry_take,
    pcp_list,
    rmqueue_bulk,
)
from allocator.params.costs import C_PCP_LIST, C_PCP_LOCK
from allocator.params.knobs import K_PCP_BATCH_SCALE_MAX
from allocator.policies.base import Policy, PolicyHooks, register_policy


@njit
def rmqueue_pcplist(z, ps, cpu, order, mt):
    """rmqueue_pcplist() + __rmqueue_pcplist(): take the hottest entry (head) of the list,
    refilling it through rmqueue_bulk() when empty."""
    lock = pcp_lock_id(cpu)
    if not spin_trylock(z, lock, cpu, z.cost[C_PCP_LOCK]):
        z.ev[EV_PCP_TRYLOCK_FAIL] += 1
        return -1
    z.pcp[cpu, PCP_FREE_COUNT] >>= 1
    lst = pcp_list(z, cpu, order_to_pindex(mt, order))
    node = list_first(z, lst)
    if node < 0:
        z.ev[EV_PCP_ALLOC_MISS] += 1
        batch = nr_pcp_alloc(z, cpu, order)
        got = rmqueue_bulk(z, cpu, order, batch, lst, mt)
        pcp_count_add(z, cpu, got << order)
        node = list_first(z, lst)
    else:
        z.ev[EV_PCP_ALLOC_HIT] += 1
    if node >= 0:
        pcp_entry_take(z, cpu, node, order)
        z.eng[E_NOW] += z.cost[C_PCP_LIST]
    spin_unlock(z, lock)
    return node


@njit
def free_frozen_page_commit(z, agent, cpu, node, order, mt):
    """free_frozen_page_commit() (v6.19): list the page at the head, update free_count and
    the free_high heuristic, and when count reaches nr_pcp_high() free nr_pcp_free() pages in
    batch-sized chunks. Returns whether the pcp->lock is still held (a chunk's relock can
    fail)."""
    pindex = order_to_pindex(mt, order)
    z.nstate[node] = NODE_PCP
    z.norder[node] = order
    list_add(z, pcp_list(z, agent, pindex), node)
    pcp_count_add(z, agent, 1 << order)
    z.eng[E_NOW] += z.cost[C_PCP_LIST]
    to_free, _ = nr_pcp_to_free(z, agent, order)
    if to_free < 0:
        return True
    locked = True
    if to_free > 0:
        locked = free_pcp_chunked(z, agent, cpu, to_free, pindex)
    clear_below_high(z)
    return locked


@njit
def free_pcp(z, ps, cpu, pfn, order):
    """free_unref_page() / __free_frozen_pages() for a pcp_allowed_order() entry: to the
    freeing CPU's own PCP, or straight to the zone if its pcp->lock is busy. Inside a free
    batch (free_unref_folios()) the lock taken for the first page is kept for the rest."""
    mt = int(z.pb_mt[pfn >> PAGEBLOCK_ORDER])
    if not batch_lock_held(z, cpu, cpu):
        batch_lock_release(z, cpu)
        if not spin_trylock(z, pcp_lock_id(cpu), cpu, z.cost[C_PCP_LOCK]):
            z.ev[EV_PCP_TRYLOCK_FAIL] += 1
            free_one_page(z, cpu, pfn, order)
            return
    if free_frozen_page_commit(z, cpu, cpu, pfn_node(z, pfn, order), order, mt):
        batch_lock_done(z, cpu, cpu)
    else:
        z.ag[cpu, AG_BATCH_LOCK] = 0


@njit
def decay_pcp_high(z, ps, cpu):
    """decay_pcp_high(): lower high towards high_min by 1/8 (at most count - batch << 5) and
    free what is above it, from the CPU's own vmstat_update(), taking the pcp->lock per
    chunk."""
    to_drain = decay_high(z, cpu)
    chunk = decay_chunks(z, cpu, to_drain)
    while chunk > 0:
        pcp_spin_lock(z, cpu, cpu, z.cost[C_PCP_LOCK])
        free_pcppages_bulk(z, cpu, cpu, chunk, 0)
        spin_unlock(z, pcp_lock_id(cpu))
        to_drain -= chunk
        chunk = decay_chunks(z, cpu, to_drain)


@njit
def drain_pages(z, ps, cpu, target):
    """drain_pages_zone(): free all of `target`'s PCP, taking its pcp->lock from `cpu`, one
    free_pcppages_bulk() of up to batch << CONFIG_PCP_BATCH_SCALE_MAX pages per lock hold
    (v6.10 .. v7.0-rc; the v6.19 series' batch-sized version of it was not merged)."""
    batch = z.pcp[target, PCP_BATCH]
    chunk = batch << z.knob[K_PCP_BATCH_SCALE_MAX]
    while z.pcp[target, PCP_COUNT] > 0:
        pcp_spin_lock(z, target, cpu, z.cost[C_PCP_LOCK])
        free_pcppages_bulk(z, target, cpu, min(z.pcp[target, PCP_COUNT], chunk), 0)
        spin_unlock(z, pcp_lock_id(target))


@njit
def sample(z, ps, row):
    """No gauges of its own."""
    return


@register_policy
class Upstream(Policy):
    """Today's PCP (v6.15 .. v7.0-rc): frees go to the freeing CPU's lists."""

    name = "upstream"
    hooks = PolicyHooks(
        rmqueue_pcplist=rmqueue_pcplist,
        free_pcp=free_pcp,
        decay_pcp_high=decay_pcp_high,
        drain_pages=drain_pages,
        sample=sample,
    )


# Re-exported for policies that build on upstream.
__all__ = [
    "Upstream",
    "decay_pcp_high",
    "drain_pages",
    "free_frozen_page_commit",
    "free_pcp",
    "rmqueue_pcplist",
    "sample",
]
