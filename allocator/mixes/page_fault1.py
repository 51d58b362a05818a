"""`page_fault1`: will-it-scale's page_fault1, one task per CPU (or `tasks` of them).

Each task loops: mmap 128 MiB of private anonymous memory, write one byte to every page (a fault
that allocates an order-0 MOVABLE page, GFP_HIGHUSER_MOVABLE), munmap it (the pages are freed in
address order, then the page tables). Huang Ying calibrated zone->lock hold time against batch
size on this test (../shared/reference/calibration.md s2). One PTE page (order 0, UNMOVABLE) is
allocated per 512 pages faulted; THP is off by default, as is usual for this test's scaling runs.

Scaling: each task maps `map_bytes`, capped so that all tasks together map at most
`max_mem_frac` of memory (so the same mix means the same thing at 4 and at 4096 CPUs). Tasks
start at a random point of their first mapping, so they are not in lock step.

`tasks` runs will-it-scale's `-t N` on a machine of more CPUs: N tasks, one per CPU, the other
CPUs idle (their vmstat_update still runs). Several nodes share the tasks evenly (will-it-scale
binds tasks to CPUs through hwloc; the symmetric shortcut needs each node alike), so N must be a
multiple of `nodes`. Processes or threads make no difference to this model: the allocator sees
the same per-CPU faults either way (mmap_lock and the shared page tables of threads are not
modelled).
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
from allocator.core.layout import AG_LAST_OK
from allocator.core.rng import rand_below, rand_permille
from allocator.core.structs import state_struct
from allocator.mixes.base import (
    IDLE_NS,
    Mix,
    MixHooks,
    Param,
    check_tasks,
    free_batch_len,
    idle_mask,
    kernel_frac_param,
    mix_list_len,
    node_tasks,
    register_mix,
)
from allocator.mm.machine import Machine

PageFault1State = state_struct(
    "PageFault1State", ["pages", "fault_ns", "unmap_ns", "mmap_ns", "thp_ppm", "st"],
    __name__,
)
# st[cpu, ...]
_PHASE = 0  # 0 mapping, 1 unmapping
_LEFT = 1  # pages still to fault in this mapping
_TO_PTE = 2  # faults until the next PTE page is needed
_THP_PENDING = 3  # 1 if the last operation was a THP attempt
_IDLE = 4  # 1 on a CPU that runs no task
_NF = 5
_DATA = 0  # list index within the CPU's lists
_PGTABLE = 1
_NLISTS = 2


@njit
def next_op(z, ms, cpu):
    st = ms.st
    data = cpu * _NLISTS + _DATA
    pgtable = cpu * _NLISTS + _PGTABLE
    if st[cpu, _IDLE]:
        return OP_NONE, 0, 0, 0, 0, IDLE_NS
    if st[cpu, _THP_PENDING]:
        st[cpu, _THP_PENDING] = 0
        if z.ag[cpu, AG_LAST_OK]:
            st[cpu, _LEFT] -= min(st[cpu, _LEFT], PAGEBLOCK_NR_PAGES)
            st[cpu, _TO_PTE] = PAGEBLOCK_NR_PAGES  # a PMD mapping needs no PTE page
            return OP_NONE, 0, 0, 0, 0, ms.fault_ns
        # do_huge_pmd_anonymous_page() fell back: fault the region in 4 KiB pages
        st[cpu, _TO_PTE] = 0
        return OP_ALLOC, 0, MIGRATE_UNMOVABLE, GFP_DIRECT_RECLAIM, pgtable, 0
    if st[cpu, _PHASE] == 0:
        left = st[cpu, _LEFT]
        if left > 0:
            if st[cpu, _TO_PTE] == PAGEBLOCK_NR_PAGES and left >= PAGEBLOCK_NR_PAGES:
                if ms.thp_ppm and rand_below(z.rng, cpu, 1_000_000) < ms.thp_ppm:
                    st[cpu, _THP_PENDING] = 1
                    return OP_ALLOC, 9, MIGRATE_MOVABLE, GFP_MOVABLE_PAGE, data, 0
            if st[cpu, _TO_PTE] == PAGEBLOCK_NR_PAGES:
                st[cpu, _TO_PTE] = 0
                return OP_ALLOC, 0, MIGRATE_UNMOVABLE, GFP_DIRECT_RECLAIM, pgtable, 0
            st[cpu, _LEFT] = left - 1
            st[cpu, _TO_PTE] += 1
            return (
                OP_ALLOC,
                0,
                MIGRATE_MOVABLE,
                GFP_DIRECT_RECLAIM | GFP_MOVABLE_PAGE,
                data,
                ms.fault_ns,
            )
        st[cpu, _PHASE] = 1
    if mix_list_len(z, data) > 0:
        nr = free_batch_len(z, data)
        return OP_FREE_OLDEST, nr, 0, 0, data, ms.unmap_ns * nr
    if mix_list_len(z, pgtable) > 0:
        return OP_FREE_OLDEST, 0, 0, 0, pgtable, ms.unmap_ns
    st[cpu, _PHASE] = 0
    st[cpu, _LEFT] = ms.pages
    st[cpu, _TO_PTE] = PAGEBLOCK_NR_PAGES
    # up to 1 us of jitter per loop, so tasks do not stay in lock step
    return OP_NONE, 0, 0, 0, 0, ms.mmap_ns + rand_permille(z.rng, cpu)


@register_mix
class PageFault1(Mix):
    """will-it-scale page_fault1: per CPU, map 128 MiB, touch every page, unmap, repeat."""

    name = "page_fault1"
    ops_per_cpu_second = 1_500_000
    params = (
        kernel_frac_param(
            0.98,
            "R1 of allocator-profiles.md, page_fault1 with one task per CPU: usr 1.49%, so 98.5% "
            "of the time is kernel; fault_ns and unmap_ns are kernel work",
        ),
        Param("map_bytes", "128MiB", "bytes", "size of each task's mapping (MEMSIZE)", lo=4096),
        Param(
            "max_mem_frac",
            0.5,
            "frac",
            "cap on all tasks' mappings together, as a fraction of memory",
        ),
        Param("fault_ns", "600ns", "ns", "fault work besides the allocation (entry, zeroing, PTE)"),
        Param("unmap_ns", "80ns", "ns", "munmap work per page besides the free (zap, rmap)"),
        Param("mmap_ns", "2us", "ns", "mmap + munmap syscall overhead per loop"),
        Param("thp_frac", 0.0, "frac", "share of 2 MiB regions faulted as THPs (order 9)"),
        Param("tasks", 0, "int", "tasks running (will-it-scale -t), one per CPU, spread evenly "
              "over the nodes; the other CPUs idle. 0: one per CPU"),
    )
    hooks = MixHooks(next_op=next_op)

    def lists(self, nr_cpus: int) -> int:
        return nr_cpus * _NLISTS

    @classmethod
    def check_machine(cls, values: dict[str, int], cpus: int, nodes: int) -> None:
        check_tasks(values["tasks"], cpus, nodes, cls.name)

    def idle_cpus(self, ms: PageFault1State, nr_cpus: int) -> np.ndarray:
        return ms.st[:, _IDLE]

    def build(self, machine: Machine, values: dict[str, int]) -> PageFault1State:
        running = node_tasks(machine, values["tasks"], self.name)  # on each node
        node_mem = machine.mem_bytes // machine.simulated_nodes
        cap = node_mem * values["max_mem_frac"] // 1_000_000 // running
        pages = max(1, min(values["map_bytes"], cap) // PAGE_SIZE)
        st = np.zeros((machine.cpus, _NF), dtype=np.int64)
        st[:, _IDLE] = idle_mask(machine, running)
        st[:, _TO_PTE] = PAGEBLOCK_NR_PAGES
        # Tasks start part-way into their first mapping (deterministic spread, no RNG needed).
        st[:, _LEFT] = 1 + (np.arange(machine.cpus, dtype=np.int64) * 7919) % pages
        return PageFault1State(
            pages=pages,
            fault_ns=values["fault_ns"],
            unmap_ns=values["unmap_ns"],
            mmap_ns=values["mmap_ns"],
            thp_ppm=values["thp_frac"],
            st=st,
        )
