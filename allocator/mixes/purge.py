"""`purge`: a jemalloc-style service: page faults allocate on many CPUs, a few purger threads
free (MADV_DONTNEED) on a schedule. The RFC's synthetic test ("allocates on many CPUs and frees
on just a few") and the first source of zone->lock contention its cover letter names.

Modelled on ../shared/reference/calibration.md s7.3 (jemalloc decay and background threads):
- worker CPUs fault in order-0 MOVABLE anonymous pages, one every `fault_ns`; the pages stay
  allocated (dirty in jemalloc's arenas: reused by malloc without the kernel knowing). An arena
  faults only while it holds less than its dirty cap plus `refault_bytes`: memory the
  application reuses does not fault, memory the purger gave back does when it is reused. So
  workers fault what purgers free, and the footprint stays bounded whatever the CPU count;
- `purger_cpus` CPUs (or `purger_frac` of them) run the background purge threads; each serves
  the arenas of the workers w with w % purgers == its index, and when an arena holds more than
  `arena_dirty_bytes` (per worker, so the mix means the same at any memory size), frees its
  oldest pages (`madvise_ns` each) in folio batches (knob `folio_batch`: MADV_DONTNEED's
  mmu_gather hands them to free_unref_folios() 31 at a time),
  up to `purge_batch` pages per wake (jemalloc wakes a background thread early once about 1024
  pages are due), then sleeps `sleep_ns`. jemalloc's 10 s smootherstep decay is collapsed into
  this cap on dirty memory, so short runs reach the steady state where purgers free what
  workers fault (before the arena limit, workers faulted without bound: at 32 CPUs memory
  filled within a second and the run became an out-of-memory storm).
Every free happens on a CPU other than the one that allocated the page.
"""

from __future__ import annotations

import numpy as np

from allocator.core.consts import (
    GFP_DIRECT_RECLAIM,
    GFP_MOVABLE_PAGE,
    MIGRATE_MOVABLE,
    OP_ALLOC,
    OP_FREE_OLDEST,
    OP_NONE,
    PAGE_SIZE,
)
from allocator.core.jit import njit
from allocator.core.rng import rand_around
from allocator.core.structs import state_struct
from allocator.mixes.base import (
    Mix,
    MixHooks,
    Param,
    free_batch_len,
    kernel_frac_param,
    mix_list_len,
    register_mix,
)
from allocator.mm.machine import Machine

PurgeState = state_struct(
    "PurgeState",
    ["purgers", "target", "limit", "fault_ns", "madvise_ns", "batch", "sleep_ns", "st"],
    __name__,
)
_CURSOR = 0  # purger: the worker arena it is purging
_BURST = 1  # purger: pages still allowed this wake
_SCANNED = 2  # purger: arenas found below their share in a row
_NF = 3


@njit
def next_op(z, ms, cpu):
    if cpu >= ms.purgers:  # a worker: fault in a page, unless its arena has pages to reuse
        if mix_list_len(z, cpu) >= ms.limit:
            return OP_NONE, 0, 0, 0, 0, rand_around(z.rng, cpu, ms.fault_ns, 250)
        return (
            OP_ALLOC,
            0,
            MIGRATE_MOVABLE,
            GFP_DIRECT_RECLAIM | GFP_MOVABLE_PAGE,
            cpu,
            rand_around(z.rng, cpu, ms.fault_ns, 250),
        )
    st = ms.st
    ncpu = len(st)
    first = ms.purgers + cpu  # this purger's arenas: first, first + purgers, ...
    if first >= ncpu:
        return OP_NONE, 0, 0, 0, 0, ms.sleep_ns
    arenas = (ncpu - first + ms.purgers - 1) // ms.purgers
    while st[cpu, _SCANNED] < arenas and st[cpu, _BURST] > 0:
        arena = st[cpu, _CURSOR]
        over = mix_list_len(z, arena) - ms.target
        if over > 0:
            nr = min(free_batch_len(z, arena), over, st[cpu, _BURST])
            st[cpu, _BURST] -= nr
            st[cpu, _SCANNED] = 0
            return OP_FREE_OLDEST, nr, 0, 0, arena, ms.madvise_ns * nr
        arena += ms.purgers
        if arena >= ncpu:
            arena = first
        st[cpu, _CURSOR] = arena
        st[cpu, _SCANNED] += 1
    st[cpu, _SCANNED] = 0
    st[cpu, _BURST] = ms.batch
    return OP_NONE, 0, 0, 0, 0, rand_around(z.rng, cpu, ms.sleep_ns, 250)


@register_mix
class Purge(Mix):
    """jemalloc-style: faults allocate on all CPUs, a few purger CPUs free (MADV_DONTNEED)."""

    name = "purge"
    params = (
        kernel_frac_param(
            0.1,
            "no published profile of a jemalloc purging service: an estimate of the order of "
            "kbuild's 10.5%; the workers' time between faults is mostly user space",
        ),
        Param("purger_cpus", 0, "int", "purger CPUs; 0: purger_frac of the CPUs", lo=0),
        Param("purger_frac", 1 / 16, "frac", "share of CPUs that purge when purger_cpus is 0"),
        Param("arena_dirty_bytes", "8MiB", "bytes", "dirty memory an arena keeps before purging"),
        Param(
            "refault_bytes",
            "4MiB",
            "bytes",
            "what an arena faults back beyond its dirty cap after a purge (about one "
            "purge wake: jemalloc wakes a background thread once ~1024 pages are due)",
            lo=4096,
        ),
        Param("fault_ns", "2us", "ns", "time between a worker's page faults"),
        Param("madvise_ns", "150ns", "ns", "MADV_DONTNEED work per page besides the free"),
        Param("purge_batch", 1024, "int", "pages a purger frees per wake", lo=1),
        Param("sleep_ns", "1ms", "ns", "a purger's sleep between wakes", lo=1),
    )
    hooks = MixHooks(next_op=next_op)

    def lists(self, nr_cpus: int) -> int:
        return nr_cpus  # one arena per CPU (purgers' stay empty)

    def cpu_classes(self, ms: PurgeState, nr_cpus: int) -> np.ndarray:
        return (np.arange(nr_cpus) >= ms.purgers).astype(np.int64)  # 0: purgers, 1: workers

    def build(self, machine: Machine, values: dict[str, int]) -> PurgeState:
        cpus = machine.cpus
        purgers = values["purger_cpus"] or max(1, cpus * values["purger_frac"] // 1_000_000)
        purgers = min(purgers, max(1, cpus - 1)) if cpus > 1 else 0
        st = np.zeros((cpus, _NF), dtype=np.int64)
        st[:purgers, _CURSOR] = purgers + np.arange(purgers)
        st[:purgers, _BURST] = values["purge_batch"]
        return PurgeState(
            purgers=purgers,
            target=max(1, values["arena_dirty_bytes"] // PAGE_SIZE),
            limit=max(1, (values["arena_dirty_bytes"] + values["refault_bytes"]) // PAGE_SIZE),
            fault_ns=values["fault_ns"],
            madvise_ns=values["madvise_ns"],
            batch=values["purge_batch"],
            sleep_ns=values["sleep_ns"],
            st=st,
        )
