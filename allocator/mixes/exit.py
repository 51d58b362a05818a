"""`exit`: process-exit avalanches. Processes with large address spaces exit at once, each
freeing its memory on the CPU that tears it down: the second source of zone->lock contention
the RFC names ("an avalanche of free pages on a CPU busy walking page tables").

Each CPU runs one process at a time: it faults in a size drawn around `rss_bytes` (all CPUs
together map at most `max_mem_frac` of memory) at one fault per `fault_ns`, one PTE page per
512 faults and an order-1 PGD (page-table isolation) at the start, lives a while without
allocating, then exit_mmap() frees the data pages (in folio batches) and the page tables at
`exit_ns` each, and the next process starts. Sizes and lifetimes are drawn from the seed. `sync`
is the share of CPUs whose processes exit together on a common schedule (the "concurrent exits"
of RFC 2/2: a job manager killing a batch, a container stopping); the others start at random
points and live around `life_ns`.
"""

from __future__ import annotations

import numpy as np

from allocator.core.consts import (
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
from allocator.core.jit import njit
from allocator.core.layout import E_NOW
from allocator.core.rng import rand_around, rand_below
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

ExitState = state_struct(
    "ExitState",
    ["pages", "cap", "size_pm", "fault_ns", "life_ns", "life_pm", "exit_ns", "period_ns", "st"],
    __name__,
)
_PHASE = 0  # 0 start (PGD), 1 faulting, 2 living, 3 exiting
_LEFT = 1  # faults left
_TO_PTE = 2
_SYNC = 3  # 1: this CPU's processes exit on the common schedule
_STARTED = 4  # 0 until the CPU's first process has started
_NF = 5
_DATA = 0
_PGTABLE = 1
_NLISTS = 2


@njit
def _start_process(z, ms, cpu):
    """fork + exec: draw the process's size; a CPU not in lock step starts its first process
    part-way through (a random share of it already faulted)."""
    st = ms.st
    pages = min(max(1, rand_around(z.rng, cpu, ms.pages, ms.size_pm)), ms.cap)
    if not st[cpu, _STARTED] and not st[cpu, _SYNC]:
        pages = 1 + rand_below(z.rng, cpu, pages)
    st[cpu, _STARTED] = 1
    st[cpu, _LEFT] = pages
    st[cpu, _PHASE] = 1
    st[cpu, _TO_PTE] = PAGEBLOCK_NR_PAGES


@njit
def _life_ns(z, ms, cpu):
    """How long the process lives once faulted in: until the next exit of the common schedule
    (every period_ns) for CPUs in lock step, a draw around life_ns for the others."""
    if ms.st[cpu, _SYNC]:
        return ms.period_ns - z.eng[E_NOW] % ms.period_ns
    return rand_around(z.rng, cpu, ms.life_ns, ms.life_pm)


@njit
def next_op(z, ms, cpu):
    st = ms.st
    data = cpu * _NLISTS + _DATA
    pgtable = cpu * _NLISTS + _PGTABLE
    phase = st[cpu, _PHASE]
    if phase == 0:  # fork + exec: the PGD, order 1 with page-table isolation
        _start_process(z, ms, cpu)
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
        return OP_NONE, 0, 0, 0, 0, _life_ns(z, ms, cpu)
    if phase == 2:
        st[cpu, _PHASE] = 3
    if mix_list_len(z, data) > 0:  # exit_mmap(): the data pages in folio batches
        nr = free_batch_len(z, data)
        return OP_FREE_OLDEST, nr, 0, 0, data, ms.exit_ns * nr
    if mix_list_len(z, pgtable) > 0:
        return OP_FREE_OLDEST, 0, 0, 0, pgtable, ms.exit_ns
    st[cpu, _PHASE] = 0
    return OP_NONE, 0, 0, 0, 0, 0


@register_mix
class Exit(Mix):
    """Process-exit avalanche: big address spaces freed at once on the exiting CPUs."""

    name = "exit"
    ops_per_cpu_second = 1_500_000
    params = (
        kernel_frac_param(
            0.85,
            "an estimate from the mix's own phases: faulting (fault_ns) and exit_mmap (exit_ns) "
            "are kernel work, the process's life (life_ns) is user time; no profile",
        ),
        Param("rss_bytes", "256MiB", "bytes", "mean memory a process faults in", lo=4096),
        Param(
            "size_spread",
            0.5,
            "frac",
            "process sizes drawn uniformly in rss_bytes * [1 - s, 1 + s]",
        ),
        Param("max_mem_frac", 0.5, "frac", "cap on all processes together, share of memory"),
        Param("fault_ns", "600ns", "ns", "fault work besides the allocation"),
        Param("life_ns", "5ms", "ns", "mean time a process lives once its memory is in"),
        Param("life_spread", 0.5, "frac", "lifetimes drawn in life_ns * [1 - s, 1 + s]"),
        Param("exit_ns", "40ns", "ns", "exit_mmap work per page besides the free"),
        Param(
            "sync",
            1.0,
            "frac",
            "share of CPUs whose processes exit together, on a common schedule every "
            "2 * (mean faulting time) + life_ns",
        ),
    )
    hooks = MixHooks(next_op=next_op)

    def lists(self, nr_cpus: int) -> int:
        return nr_cpus * _NLISTS

    def cpu_classes(self, ms: ExitState, nr_cpus: int) -> np.ndarray:
        return ms.st[:nr_cpus, _SYNC].astype(np.int64)  # 1: exits on the common schedule

    def build(self, machine: Machine, values: dict[str, int]) -> ExitState:
        cpus = machine.cpus
        cap = max(1, machine.mem_bytes * values["max_mem_frac"] // 1_000_000 // cpus // PAGE_SIZE)
        size_pm = values["size_spread"] // 1000
        # the mean, so that the largest draw stays under the cap
        pages = max(1, min(values["rss_bytes"] // PAGE_SIZE, cap * 1000 // (1000 + size_pm)))
        st = np.zeros((cpus, _NF), dtype=np.int64)
        st[: cpus * values["sync"] // 1_000_000, _SYNC] = 1
        return ExitState(
            pages=pages,
            cap=cap,
            size_pm=size_pm,
            fault_ns=values["fault_ns"],
            life_ns=values["life_ns"],
            life_pm=values["life_spread"] // 1000,
            exit_ns=values["exit_ns"],
            period_ns=max(1, 2 * pages * values["fault_ns"] + values["life_ns"]),
            st=st,
        )
