"""The LRU lists' lock, lruvec->lru_lock, as mm/swap.c (v6.18) takes it around the allocator.

An LRU page (anon or page cache: a page the mix allocates movable, NODE_ALLOC_MOVABLE) joins
its node's LRU through the faulting CPU's `cpu_fbatches.lru_add` folio_batch: folio_add_lru()
-> __folio_batch_add_and_move() adds it, and once the batch is full (FOLIO_BATCH_SIZE,
`knob.folio_batch`) or the folio is large (folio_may_be_lru_cached() false), moves the batch
with folio_batch_move_lru(): one lru_lock section, lru_add() -> lruvec_add_folio() per folio.
On unmap, folios_put_refs() takes the lock once for the folio batch, __page_cache_release() ->
lruvec_del_folio() per LRU folio, and drops it before free_unref_folios() frees the batch: so
the LRU section comes first and never overlaps the pcp->lock or zone->lock sections.

One lruvec per node (no memcg: the profiles' will-it-scale runs share the root cgroup). Not
modelled: the lru_add_drain() at the start of munmap (at most 30 folios per unmap), folios
freed while still in a lru_add batch (the model frees them as if on the LRU), and reclaim's
isolation (isolate_lru_folios() under the lock). On when `knob.lru_lock` is 1. Time spent here
is kernel time outside the page allocator: it counts in `lru_frac` and `kernel_sys_frac`, not
in `sys_frac` or the allocation and free latencies.
"""

from __future__ import annotations

from allocator.core.consts import NODE_ALLOC_MOVABLE
from allocator.core.jit import njit
from allocator.core.layout import AG_LRU_ADD, AG_LRU_NS, E_NOW
from allocator.mm.locks import spin_lock, spin_unlock
from allocator.params.costs import C_LRU_FOLIO, C_LRU_LOCK
from allocator.params.knobs import K_FOLIO_BATCH


@njit
def lru_lock_id(z):
    """The node's lruvec->lru_lock: the last row of Z.lk."""
    return z.lk.shape[0] - 1


@njit
def _lru_section(z, cpu, nr):
    """One lru_lock section moving `nr` folios on or off the LRU lists; its time, spinning
    included, goes to the CPU's AG_LRU_NS."""
    t = z.eng[E_NOW]
    lock = lru_lock_id(z)
    spin_lock(z, lock, cpu, z.cost[C_LRU_LOCK])
    z.eng[E_NOW] += nr * z.cost[C_LRU_FOLIO]
    spin_unlock(z, lock)
    z.ag[cpu, AG_LRU_NS] += z.eng[E_NOW] - t


@njit
def folio_add_lru(z, cpu, order):
    """folio_add_lru() of a just-faulted folio: queue it on the CPU's lru_add batch; move the
    batch to the LRU under lru_lock when it is full or the folio is large."""
    n = z.ag[cpu, AG_LRU_ADD] + 1
    if n >= z.knob[K_FOLIO_BATCH] or order > 0:
        z.ag[cpu, AG_LRU_ADD] = 0
        _lru_section(z, cpu, n)
    else:
        z.ag[cpu, AG_LRU_ADD] = n


@njit
def folios_put_lru(z, cpu, sentinel, newest, nr):
    """The LRU half of folios_put_refs() for the next `nr` entries the engine frees from list
    `sentinel` (newest first, or oldest first): one lru_lock section for those on the LRU."""
    on_lru = 0
    node = z.prv[sentinel] if newest else z.nxt[sentinel]
    for _ in range(nr):
        if node == sentinel:
            break
        if z.nstate[node] == NODE_ALLOC_MOVABLE:
            on_lru += 1
        node = z.prv[node] if newest else z.nxt[node]
    if on_lru:
        _lru_section(z, cpu, on_lru)
