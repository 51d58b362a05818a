"""The policy hooks: rmqueue_pcplist, free_pcp, decay_pcp_high, drain_pages, sample."""

from __future__ import annotations

from ..._jit import njit
from ...buddy import pfn_node
from ...consts import (
    NODE_PCP,
    PAGEBLOCK_ORDER,
)
from ...costs import (
    C_PCP_LIST,
    C_PCP_LOCK,
)
from ...layout import (
    E_NOW,
    EV_PCP_ALLOC_HIT,
    EV_PCP_ALLOC_MISS,
    EV_PCP_TRYLOCK_FAIL,
    EV_REMOTE_FREE,
    PCP_COUNT,
    PCP_FREE_COUNT,
    S_POLICY0,
)
from ...locks import (
    line_transfer_ns,
    pcp_lock_id,
    pcp_spin_lock,
    spin_trylock,
    spin_unlock,
)
from ...pcp import (
    clear_below_high,
    decay_high,
    free_one_page,
    nr_pcp_alloc,
    nr_pcp_to_free,
)
from .config import (
    EV_REMOTE_FALLBACK,
    K_DRAIN_ALL_DISOWNS,
    K_REMOTE_FREE_LINES,
    K_REMOTE_FREE_TRYLOCK,
)
from .drain import bpcp_drain_chunked
from .lists import add_freed_owned, bpcp_add, bpcp_take
from .owner import disown, fragment_total, mark_fragment
from .refill import bpcp_refill

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
    `cpu`: list the entry at the head, then drain down to high."""
    if owned:
        order = add_freed_owned(z, agent, node, order, mt)
    else:
        bpcp_add(z, agent, node, order, mt, NODE_PCP, False)
    z.eng[E_NOW] += z.cost[C_PCP_LIST]
    to_free, high = nr_pcp_to_free(z, agent, order)
    if to_free < 0:
        return
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
