"""`page_fault2`: will-it-scale's page_fault2, one task per CPU (or `tasks` of them).

Each task (will-it-scale tests/page_fault2.c) makes a file of 128 MiB (mkstemp in /tmp,
unlink, ftruncate), then loops: mmap it MAP_PRIVATE, write one byte to every page, munmap.
Every write is a copy-on-write fault of a file page, do_cow_fault() (mm/memory.c, v6.18):
a new anonymous page is allocated (GFP_HIGHUSER_MOVABLE, order 0, no __GFP_ZERO), the file's
page is looked up in the page cache (__do_fault()), copied into it (copy_user_highpage()),
and the copy is mapped and put on the LRU (folio_add_lru_vma(), knob.lru_lock); munmap frees
the copies in address order, then the page tables, as page_fault1's munmap does. The file's own
pages are never mapped: they stay in the page cache, on the file LRU, for the whole run.

So the allocator sees page_fault1's stream, at a slower fault (the copy reads the file page
where page_fault1 zeroes one; `fault_ns`), plus the file's page cache: the first time a task
faults each page of the file, the page cache page is allocated as well (reading a hole of a
tmpfs or ext4 file allocates a page and fills it with zeros: shmem_get_folio_gfp() /
filemap_fault()). A task's first `map_bytes / PAGE_SIZE` faults each allocate one
(GFP_HIGHUSER_MOVABLE | page cache, MOVABLE, on the file LRU), and none is freed by the loop.
Reclaim may take them (no swap: tmpfs pages could not be, ext4's could); a page reclaimed is
not faulted in again, a simplification that matters only where memory runs short, which the
`max_mem_frac` cap (file and copies together) keeps away.

The published profiles of this test are dominated by the LRU lock (R4 of
allocator-profiles.md: 66.6% of cycles spinning on lruvec->lru_lock, 1.35% on every other
spinlock together), which is why the model's LRU lock (knob.lru_lock) matters here.
`tasks`, nodes and processes or threads as for page_fault1.
"""

from __future__ import annotations

import numpy as np

from allocator.core.consts import (
    GFP_DIRECT_RECLAIM,
    GFP_LRU,
    GFP_MOVABLE_PAGE,
    LIST_LRU,
    MIGRATE_MOVABLE,
    OP_ALLOC,
    PAGE_SIZE,
    PAGEBLOCK_NR_PAGES,
)
from allocator.core.jit import njit
from allocator.core.structs import state_struct
from allocator.mixes import page_fault1 as pf1
from allocator.mixes.base import (
    Mix,
    MixHooks,
    Param,
    check_tasks,
    idle_mask,
    kernel_frac_param,
    node_tasks,
    register_mix,
)
from allocator.mm.machine import Machine

PageFault2State = state_struct(
    "PageFault2State", ["pages", "fault_ns", "unmap_ns", "mmap_ns", "thp_ppm", "st"],
    __name__,
)
# st[cpu, ...]: page_fault1's columns, then
_FILE_LEFT = pf1._NF  # file pages not yet in the page cache
_FILE_DONE = pf1._NF + 1  # 1: the current fault's file page is in (its copy comes next)
_NF = pf1._NF + 2

_GFP_FILE = GFP_DIRECT_RECLAIM | GFP_LRU | GFP_MOVABLE_PAGE


@njit
def next_op(z, ms, cpu):
    st = ms.st
    faulting_data = (
        st[cpu, _FILE_LEFT] > 0
        and st[cpu, pf1._IDLE] == 0
        and st[cpu, pf1._PHASE] == 0
        and st[cpu, pf1._LEFT] > 0
        and st[cpu, pf1._TO_PTE] != PAGEBLOCK_NR_PAGES  # page_fault1's next op: a copy
    )
    if faulting_data and st[cpu, _FILE_DONE] == 0:
        # __do_fault(): the file page is not in the page cache yet; the copy follows
        st[cpu, _FILE_LEFT] -= 1
        st[cpu, _FILE_DONE] = 1
        return OP_ALLOC, 0, MIGRATE_MOVABLE, _GFP_FILE, LIST_LRU, 0
    st[cpu, _FILE_DONE] = 0
    return pf1.next_op(z, ms, cpu)


@register_mix
class PageFault2(Mix):
    """will-it-scale page_fault2: per CPU, map a 128 MiB file privately, write every page
    (copy-on-write), unmap, repeat."""

    name = "page_fault2"
    ops_per_cpu_second = 1_000_000
    params = (
        kernel_frac_param(
            0.98,
            "as page_fault1 (R1 of allocator-profiles.md, usr 1.49%): the loop writes one byte "
            "per page and does nothing else in user space; R4, the page_fault2 profile, prints "
            "no mpstat line",
        ),
        Param("map_bytes", "128MiB", "bytes", "size of each task's file and mapping (MEMSIZE)",
              lo=4096),
        Param(
            "max_mem_frac",
            0.5,
            "frac",
            "cap on all tasks' files and copies together, as a fraction of memory",
        ),
        Param(
            "fault_ns",
            "1000ns",
            "ns",
            "fault work besides the allocations (entry, page cache lookup, 4 KiB copy, PTE, "
            "rmap): page_fault1's 600 ns with the copy's read of the file page in place of the "
            "zeroing and filemap_fault()'s lookup added (an estimate; R4 puts copy_page at "
            "7.9% of cycles, a quarter of those not spent spinning)",
        ),
        Param("unmap_ns", "80ns", "ns", "munmap work per page besides the free (zap, rmap)"),
        Param("mmap_ns", "2us", "ns", "mmap + munmap syscall overhead per loop"),
        Param("tasks", 0, "int", "tasks running (will-it-scale -t), one per CPU, spread evenly "
              "over the nodes; the other CPUs idle. 0: one per CPU"),
    )
    hooks = MixHooks(next_op=next_op)

    def lists(self, nr_cpus: int) -> int:
        return nr_cpus * pf1._NLISTS

    @classmethod
    def check_machine(cls, values: dict[str, int], cpus: int, nodes: int) -> None:
        check_tasks(values["tasks"], cpus, nodes, cls.name)

    def idle_cpus(self, ms: PageFault2State, nr_cpus: int) -> np.ndarray:
        return ms.st[:, pf1._IDLE]

    def build(self, machine: Machine, values: dict[str, int]) -> PageFault2State:
        running = node_tasks(machine, values["tasks"], self.name)  # on each node
        node_mem = machine.mem_bytes // machine.simulated_nodes
        cap = node_mem * values["max_mem_frac"] // 1_000_000 // running // 2
        pages = max(1, min(values["map_bytes"], cap) // PAGE_SIZE)
        st = np.zeros((machine.cpus, _NF), dtype=np.int64)
        st[:, pf1._IDLE] = idle_mask(machine, running)
        st[:, pf1._TO_PTE] = PAGEBLOCK_NR_PAGES
        # as page_fault1: tasks start part-way into their first mapping
        st[:, pf1._LEFT] = 1 + (np.arange(machine.cpus, dtype=np.int64) * 7919) % pages
        st[:, _FILE_LEFT] = pages * (1 - st[:, pf1._IDLE])
        return PageFault2State(
            pages=pages,
            fault_ns=values["fault_ns"],
            unmap_ns=values["unmap_ns"],
            mmap_ns=values["mmap_ns"],
            thp_ppm=0,  # a private file mapping's copies are 4 KiB pages
            st=st,
        )
