"""lruvec->lru_lock (allocator/mm/swap.py, mm/swap.c v6.18): one section per full lru_add
folio_batch and per free batch's LRU folios; its time is kernel time, not the allocator's."""

from allocator import Spec, simulate
from allocator.core.consts import MIGRATE_MOVABLE, NODE_ALLOC, NODE_ALLOC_MOVABLE
from allocator.core.layout import AG_LRU_ADD, AG_LRU_NS, LK_ACQ, LK_HOLD_NS, PG_L_LRU
from allocator.core.lists import list_add_tail
from allocator.mm.swap import folio_add_lru, folios_put_lru, lru_lock_id
from allocator.params.costs import C_LRU_FOLIO, C_LRU_LOCK
from tests.conftest import make_box


def _section_ns(z, folios):
    return z.cost[C_LRU_LOCK] + folios * z.cost[C_LRU_FOLIO]


def test_lru_add_moves_the_batch_when_full_or_large():
    """__folio_batch_add_and_move(): 30 folios wait on the CPU's batch; the 31st (a full
    FOLIO_BATCH_SIZE) moves all 31 under one lru_lock section; a large folio moves at once,
    taking the small ones queued before it."""
    b = make_box(cpus=2)
    z = b.z
    lock = lru_lock_id(z)
    assert lock == z.lk.shape[0] - 1 == 1 + 3  # zone->lock, 3 pcp->locks (2 CPUs, kswapd)
    for _ in range(30):
        folio_add_lru(z, 0, 0)
    assert z.lk[lock, LK_ACQ] == 0 and z.ag[0, AG_LRU_ADD] == 30
    folio_add_lru(z, 0, 0)
    assert z.lk[lock, LK_ACQ] == 1 and z.ag[0, AG_LRU_ADD] == 0
    assert z.lk[lock, LK_HOLD_NS] == _section_ns(z, 31)
    for _ in range(3):
        folio_add_lru(z, 0, 0)
    folio_add_lru(z, 0, 9)  # a THP: folio_may_be_lru_cached() is false
    assert z.lk[lock, LK_ACQ] == 2 and z.ag[0, AG_LRU_ADD] == 0
    assert z.lk[lock, LK_HOLD_NS] == _section_ns(z, 31) + _section_ns(z, 4)
    assert z.ag[0, AG_LRU_NS] == z.lk[lock, LK_HOLD_NS]  # uncontended, its line local


def test_folios_put_takes_the_lock_once_for_the_batch_lru_folios():
    """folios_put_refs(): one section for the LRU folios among the batch's next `nr` entries
    (newest or oldest first); a page that is not on an LRU (a page table, slab) is skipped,
    and a batch with none takes no lock."""
    b = make_box(cpus=2)
    z = b.z
    lock = lru_lock_id(z)
    lru = z.pgdat[0, PG_L_LRU]
    states = [NODE_ALLOC_MOVABLE, NODE_ALLOC, NODE_ALLOC_MOVABLE, NODE_ALLOC_MOVABLE, NODE_ALLOC]
    for state in states:
        b.tick()
        node = b.pol.rmqueue_pcplist(z, b.ps, 0, 0, MIGRATE_MOVABLE)
        z.nstate[node] = state
        list_add_tail(z, lru, node)
    folios_put_lru(z, 1, lru, False, 3)  # oldest three: movable, not, movable
    assert z.lk[lock, LK_ACQ] == 1 and z.lk[lock, LK_HOLD_NS] == _section_ns(z, 2)
    folios_put_lru(z, 1, lru, True, 1)  # newest: not on an LRU
    assert z.lk[lock, LK_ACQ] == 1
    folios_put_lru(z, 1, lru, True, 31)  # more than the list holds: its 3 LRU folios
    assert z.lk[lock, LK_ACQ] == 2
    assert z.lk[lock, LK_HOLD_NS] == _section_ns(z, 2) + _section_ns(z, 3)


def _run(cpus, lru_lock, **over):
    return simulate(Spec.from_flat({
        "cpus": cpus, "mem": "1GiB", "mix": "page_fault1", "kernel": "v6.6", "seed": 1,
        "duration": "40ms", "warmup": "10ms", "knob.lru_lock": lru_lock, **over}))


def test_lru_lock_off_costs_nothing_and_counts_nothing():
    r = _run(4, 0)
    assert r["lru_lock_acquisitions"] == 0 and r["lru_frac"] == 0.0


def test_page_fault1_takes_lru_lock_once_per_folio_batch_each_way():
    """page_fault1 faults pages one by one (a section per 31 added) and unmaps them in folio
    batches of 31 (a section per batch): about (allocs + frees) / 31 sections, each holding
    lru_lock_ns + 31 * lru_folio_ns."""
    r = _run(4, 1)
    per_batch = (r["alloc_ops"] + r["free_ops"]) / 31
    assert abs(r["lru_lock_acquisitions"] / per_batch - 1) < 0.05
    folios = r["alloc_ops"] + r["free_ops"]
    assert abs(r["lru_lock_hold_ns"] / (10 * r["lru_lock_acquisitions"] + 30 * folios) - 1) < 0.05
    assert r["lru_frac"] > 0
    assert r["kernel_sys_frac"] >= r["sys_frac"] + r["lru_frac"] - 1e-12


def test_lru_time_is_not_allocator_time():
    """On one CPU nothing contends: the allocator's own cost per operation and the allocation
    latencies are those of the run without the lock, the LRU's time shows in lru_frac."""
    off, on = _run(1, 0), _run(1, 1)
    per_op = [r["sys_frac"] * r["sim_time_ns"] / r["ops"] for r in (off, on)]
    assert abs(per_op[1] / per_op[0] - 1) < 0.02
    assert on["alloc_latency_p50_ns"] == off["alloc_latency_p50_ns"]
    assert on["lru_frac"] > 0.005 and on["throughput_ops_per_s"] < off["throughput_ops_per_s"]


def test_a_saturated_lru_lock_is_never_held_beyond_the_window():
    """A costly LRU (2 us a folio) on 16 CPUs saturates the lock: held at most the window
    and the sections its CPUs still had queued at its end (a section counts when it is
    requested, one per CPU at most: 16 x (10 ns + 31 x 2 us)), and the waiting shows as
    lru_lock_wait_frac."""
    r = _run(16, 1, **{"cost.lru_folio_ns": 2000})
    assert r["lru_lock_hold_ns"] <= r["sim_time_ns"] + 16 * (10 + 31 * 2000)
    assert r["lru_lock_hold_ns"] > 0.9 * r["sim_time_ns"]
    assert r["lru_lock_wait_frac"] > 0.3
