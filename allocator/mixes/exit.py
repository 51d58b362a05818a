"""`exit`: process-exit avalanches. Processes with large address spaces exit at once, each
freeing its memory on the CPU that tears it down: the second source of zone->lock contention
the RFC names ("an avalanche of free pages on a CPU busy walking page tables").

Each CPU runs one process at a time: it faults in `rss_bytes` (capped so all CPUs together map
at most `max_mem_frac` of memory) at one fault per `fault_ns`, one PTE page per 512 faults and
an order-1 PGD (page-table isolation) at the start, lives `life_ns` more without allocating,
then exit_mmap() frees the data pages and the page tables at `exit_ns` each, and the next
process starts. `sync` is the share of CPUs whose processes run in lock step (started together,
so they exit together, the "concurrent exits" of RFC 2/2); the others start at random points.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from .._jit import njit
from ..consts import (
    GFP_DIRECT_RECLAIM,
    GFP_MOVABLE_PAGE,
    MIGRATE_MOVABLE,
    MIGRATE_UNMOVABLE,
    OP_ALLOC,
    OP_FREE_OLDEST,
    OP_NONE,
    PAGE_SIZE,
    PAGEBLOCK_NR_PAGES,
)
from ..machine import Machine
from .base import Mix, MixHooks, Param, mix_list_len, register_mix

ExitState = namedtuple("ExitState", ["pages", "fault_ns", "life_ns", "exit_ns", "st"])
_PHASE = 0  # 0 start (PGD), 1 faulting, 2 living, 3 exiting
_LEFT = 1  # faults left
_TO_PTE = 2
_NF = 3
_DATA = 0
_PGTABLE = 1
_NLISTS = 2


@njit
def next_op(z, ms, cpu):
    st = ms.st
    data = cpu * _NLISTS + _DATA
    pgtable = cpu * _NLISTS + _PGTABLE
    phase = st[cpu, _PHASE]
    if phase == 0:  # fork + exec: the PGD, order 1 with page-table isolation
        st[cpu, _PHASE] = 1
        st[cpu, _TO_PTE] = PAGEBLOCK_NR_PAGES
        return OP_ALLOC, 1, MIGRATE_UNMOVABLE, GFP_DIRECT_RECLAIM, pgtable, 0
    if phase == 1:
        if st[cpu, _LEFT] > 0:
            if st[cpu, _TO_PTE] == PAGEBLOCK_NR_PAGES:
                st[cpu, _TO_PTE] = 0
                return OP_ALLOC, 0, MIGRATE_UNMOVABLE, GFP_DIRECT_RECLAIM, pgtable, 0
            st[cpu, _TO_PTE] += 1
            st[cpu, _LEFT] -= 1
            gfp = GFP_DIRECT_RECLAIM | GFP_MOVABLE_PAGE
            return OP_ALLOC, 0, MIGRATE_MOVABLE, gfp, data, ms.fault_ns
        st[cpu, _PHASE] = 2
        return OP_NONE, 0, 0, 0, 0, ms.life_ns
    if phase == 2:
        st[cpu, _PHASE] = 3
    if mix_list_len(z, data) > 0:
        return OP_FREE_OLDEST, 0, 0, 0, data, ms.exit_ns
    if mix_list_len(z, pgtable) > 0:
        return OP_FREE_OLDEST, 0, 0, 0, pgtable, ms.exit_ns
    st[cpu, _PHASE] = 0
    st[cpu, _LEFT] = ms.pages
    return OP_NONE, 0, 0, 0, 0, 0


@register_mix
class Exit(Mix):
    """Process-exit avalanche: big address spaces freed at once on the exiting CPUs."""

    name = "exit"
    params = (
        Param("rss_bytes", "256MiB", "bytes", "memory each process faults in", lo=4096),
        Param("max_mem_frac", 0.5, "frac", "cap on all processes together, share of memory"),
        Param("fault_ns", "600ns", "ns", "fault work besides the allocation"),
        Param("life_ns", "5ms", "ns", "time a process lives once its memory is in"),
        Param("exit_ns", "40ns", "ns", "exit_mmap work per page besides the free"),
        Param("sync", 1.0, "frac", "share of CPUs whose processes start and exit together"),
    )
    hooks = MixHooks(next_op=next_op)

    def lists(self, nr_cpus: int) -> int:
        return nr_cpus * _NLISTS

    def build(self, machine: Machine, values: dict[str, int]) -> ExitState:
        cpus = machine.cpus
        cap = machine.mem_bytes * values["max_mem_frac"] // 1_000_000 // cpus
        pages = max(1, min(values["rss_bytes"], cap) // PAGE_SIZE)
        st = np.zeros((cpus, _NF), dtype=np.int64)
        st[:, _LEFT] = pages
        in_step = cpus * values["sync"] // 1_000_000
        # the rest start part-way into their first process (a deterministic spread)
        rest = np.arange(in_step, cpus, dtype=np.int64)
        st[in_step:, _LEFT] = 1 + (rest * 7919) % pages
        return ExitState(
            pages=pages,
            fault_ns=values["fault_ns"],
            life_ns=values["life_ns"],
            exit_ns=values["exit_ns"],
            st=st,
        )
