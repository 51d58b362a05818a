"""The policy hooks: rmqueue_pcplist, free_pcp, decay_pcp_high, drain_pages, sample."""

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
    EV_REMOTE_FREE,
    LK_OWNER,
    PCP_BATCH,
    PCP_COUNT,
    PCP_FREE_COUNT,
    PCP_HIGH,
    PCP_HIGH_MAX,
    S_POLICY0,
)
from allocator.mm.buddy import pfn_node
from allocator.mm.locks import (
    batch_lock_done,
    batch_lock_held,
    batch_lock_release,
    line_transfer_ns,
    pcp_lock_id,
    pcp_spin_lock,
    pcp_spin_trylock,
    spin_trylock,
    spin_unlock,
)
from allocator.mm.pcp import (
    clear_below_high,
    decay_chunks,
    decay_high,
    free_one_page,
    nr_pcp_alloc,
    nr_pcp_to_free,
    pcp_high_may_grow,
)
from allocator.params.costs import (
    C_PCP_LIST,
    C_PCP_LOCK,
)
from allocator.params.knobs import K_PCP_BATCH_SCALE_MAX
from allocator.policies.pcp_buddy.config import (
    EV_REMOTE_FALLBACK,
    HIGH_GROWTH_PAGES,
    K_DRAIN_ALL_DISOWNS,
    K_HIGH_GROWTH,
    K_REMOTE_FREE_LINES,
    K_REMOTE_FREE_TRYLOCK,
)
from allocator.policies.pcp_buddy.drain import bpcp_drain, bpcp_drain_chunked
from allocator.policies.pcp_buddy.lists import add_freed_owned, bpcp_add, bpcp_take
from allocator.policies.pcp_buddy.owner import disown, fragment_total, mark_fragment
from allocator.policies.pcp_buddy.refill import bpcp_refill

# --- hooks ---------------------------------------------------------------------------------------


@njit
def pcp_lines_ns(z, cpu, last):
    """The PCP's list heads and count (knob remote_free_lines cache lines besides the lock's)
    move to `cpu` when another CPU, `last` (the lock's previous holder), touched them last:
    a remote free after the owner, or the owner after remote frees."""
    return z.knob[K_REMOTE_FREE_LINES] * line_transfer_ns(z, last, cpu)


@njit
def rmqueue_pcplist(z, ps, cpu, order, mt):
    lock = pcp_lock_id(cpu)
    last = z.lk[lock, LK_OWNER]
    if not spin_trylock(z, lock, cpu, z.cost[C_PCP_LOCK]):
        z.ev[EV_PCP_TRYLOCK_FAIL] += 1
        return -1
    z.eng[E_NOW] += pcp_lines_ns(z, cpu, last)
    z.pcp[cpu, PCP_FREE_COUNT] >>= 1  # every allocation halves it
    node = bpcp_take(z, ps, cpu, order, mt)
    if node < 0:
        z.ev[EV_PCP_ALLOC_MISS] += 1
        high_before = z.pcp[cpu, PCP_HIGH]
        want = nr_pcp_alloc(z, cpu, order) << order
        got = bpcp_refill(z, ps, cpu, order, mt, want)
        if z.knob[K_HIGH_GROWTH] == HIGH_GROWTH_PAGES and pcp_high_may_grow(z, cpu):
            z.pcp[cpu, PCP_HIGH] = min(high_before + got, z.pcp[cpu, PCP_HIGH_MAX])
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
    `cpu`: list the entry at the head, then drain nr_pcp_free() pages when count reached
    nr_pcp_high(). Returns whether `agent`'s pcp->lock is still held."""
    if owned:
        order = add_freed_owned(z, ps, agent, node, order, mt)
    else:
        bpcp_add(z, ps, agent, node, order, mt, NODE_PCP, False)
    z.eng[E_NOW] += z.cost[C_PCP_LIST]
    to_free, _ = nr_pcp_to_free(z, agent, order)
    if to_free < 0:
        return True
    locked = True
    if to_free > 0:
        locked = bpcp_drain_chunked(z, ps, agent, cpu, to_free, False)
    clear_below_high(z)
    return locked


@njit
def free_to_zone(z, ps, cpu, pfn, order):
    """The fallback when a pcp->lock is busy: free_one_page(); an owned block then has a
    fragment in the zone."""
    free_one_page(z, cpu, pfn, order)
    mark_fragment(z, ps, pfn >> PAGEBLOCK_ORDER)


@njit
def free_pcp(z, ps, cpu, pfn, order):
    """free_unref_page(): an owned page goes to its owner's PCP, from any CPU; others to the
    freeing CPU's PCP as upstream. In a free batch (free_unref_folios()) the pcp->lock taken
    for one page is kept while the next pages go to the same PCP: one lock round trip, and
    one move of the PCP's cache lines, per owner per batch."""
    pb = pfn >> PAGEBLOCK_ORDER
    owner = ps.owner[pb]
    mt = int(z.pb_mt[pb])
    node = pfn_node(z, pfn, order)
    target = cpu if owner < 0 or owner == cpu else owner
    if target != cpu:
        z.ev[EV_REMOTE_FREE] += 1
    if not batch_lock_held(z, cpu, target):
        batch_lock_release(z, cpu)
        lock = pcp_lock_id(target)
        last = z.lk[lock, LK_OWNER]
        if target == cpu or z.knob[K_REMOTE_FREE_TRYLOCK]:
            if not pcp_spin_trylock(z, target, cpu, z.cost[C_PCP_LOCK]):
                if target != cpu:
                    z.ev[EV_REMOTE_FALLBACK] += 1
                else:
                    z.ev[EV_PCP_TRYLOCK_FAIL] += 1
                free_to_zone(z, ps, cpu, pfn, order)
                return
        else:
            pcp_spin_lock(z, target, cpu, z.cost[C_PCP_LOCK])
        z.eng[E_NOW] += pcp_lines_ns(z, cpu, last)
    if bpcp_commit(z, ps, target, cpu, node, order, mt, owner >= 0):
        batch_lock_done(z, cpu, target)
    else:
        z.ag[cpu, AG_BATCH_LOCK] = 0


@njit
def decay_pcp_high(z, ps, cpu):
    """decay_pcp_high(): as upstream, the pcp->lock taken per batch-sized chunk (v6.19)."""
    to_drain = decay_high(z, cpu)
    chunk = decay_chunks(z, cpu, to_drain)
    while chunk > 0:
        pcp_spin_lock(z, cpu, cpu, z.cost[C_PCP_LOCK])
        freed = bpcp_drain(z, ps, cpu, cpu, chunk, False)
        spin_unlock(z, pcp_lock_id(cpu))
        if freed == 0:
            break
        to_drain -= freed
        chunk = decay_chunks(z, cpu, to_drain)


@njit
def drain_pages(z, ps, cpu, target):
    """drain_pages_zone(target) from `cpu`: chunks of batch << CONFIG_PCP_BATCH_SCALE_MAX per
    pcp->lock hold, as upstream; with drain_all_disowns, the target also gives up its fragment
    blocks."""
    disowning = z.knob[K_DRAIN_ALL_DISOWNS] != 0
    chunk = z.pcp[target, PCP_BATCH] << z.knob[K_PCP_BATCH_SCALE_MAX]
    while z.pcp[target, PCP_COUNT] > 0:
        pcp_spin_lock(z, target, cpu, z.cost[C_PCP_LOCK])
        freed = bpcp_drain(z, ps, target, cpu, chunk, disowning)
        spin_unlock(z, pcp_lock_id(target))
        if freed == 0:
            break
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
