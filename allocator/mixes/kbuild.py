"""`kbuild`: a parallel kernel build (`make -jN`), one compile job after another on each CPU.

Modelled on ../shared/reference/calibration.md s7.1 (Huang Ying's three alloc/free imbalance
oscillations of a kernel build) and s7.2 (order and migratetype mix):

- a compile job (cc1) faults in anonymous memory, `job_anon_bytes` on average (100 MiB, the
  25k-page oscillation), over `job_ms` (0.5-1 s, its period), and frees it all at exit, on the
  same CPU: the exit path frees data pages, then page tables, then the order-1 PGD (PTI);
- inside a job, `churn_frac` of the steps free the newest anon page again (malloc/free churn,
  the 100-page oscillation the PCP absorbs);
- `big_job_frac` of the jobs are links (vmlinux, modules) four times as big and ten times as
  long (the 100k-page, 10 s oscillation);
- `file_frac` of the steps add page cache (sources read, objects written): MOVABLE pages on the
  file LRU. The build tree holds `tree_bytes` of them: past that, a write first truncates the
  tree's oldest pages, a folio batch of them, as a rebuild (the benchmarks' `make clean; make`
  loop) rewrites an object with O_TRUNC (truncate_inode_pages_range() -> folios_put(), v6.18),
  freeing on the writing CPU pages that any CPU wrote. The page cache is then bounded, and the
  build has a steady state without reclaim, as on a machine whose memory holds the tree;
  `tree_bytes = 0` lets it grow until reclaim;
- `instances` builds run side by side (the 0-Day service's 8 x `make -j 28`), each with its
  own tree, the trees spread evenly over the nodes; `jobs` compile jobs run at once over the
  machine (all the builds' -j together; 0: one per CPU), one per CPU, the other CPUs idle. A
  job per CPU at most: more jobs than CPUs (time-sharing) cannot be expressed;
- `slab_frac` of the steps allocate slab pages (order 1-3, UNMOVABLE or RECLAIMABLE, as `new_slab`
  in perf kmem samples), each CPU keeping `slab_live` of them and freeing the oldest beyond.

Jobs start part-way through, so CPUs are not in lock step, and in the steady state's job mix
(the first job is a link with the probability a link is running at a random time, not with
`big_job_frac`). Everything scales per CPU.
"""

from __future__ import annotations

import numpy as np

from allocator.core.consts import (
    GFP_DIRECT_RECLAIM,
    GFP_LRU,
    GFP_MOVABLE_PAGE,
    LIST_LRU,
    MIGRATE_MOVABLE,
    MIGRATE_RECLAIMABLE,
    MIGRATE_UNMOVABLE,
    OP_ALLOC,
    OP_FREE_NEWEST,
    OP_FREE_OLDEST,
    OP_NONE,
    PAGE_SIZE,
    PAGEBLOCK_NR_PAGES,
)
from allocator.core.jit import njit
from allocator.core.rng import rand_around, rand_below
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
    lru_pages,
    mix_list_len,
    node_tasks,
    register_mix,
)
from allocator.mm.machine import Machine
from allocator.params.errors import SpecError
from allocator.params.knobs import K_FOLIO_BATCH

KbuildState = state_struct(
    "KbuildState",
    [
        "anon_pages",
        "job_ns",
        "big_ppm",
        "big_start_ppm",
        "churn_ppm",
        "file_ppm",
        "slab_ppm",
        "slab_live",
        "exit_ns",
        "exec_ns",
        "tree_pages",
        "st",
    ],
    __name__,
)
# st[cpu, ...]
_PHASE = 0  # 0 running a job, 1 exiting
_TARGET = 1  # anon pages this job still has to fault in
_STEP_NS = 2  # user time between this job's steps
_TO_PTE = 3  # faults until the next PTE page
_WRITE = 4  # 1: the tree's oldest pages were truncated, the write that made room comes next
_IDLE = 5  # 1 on a CPU that runs no job (`jobs` below the CPU count)
_NF = 6
_ANON = 0
_PGTABLE = 1
_SLAB = 2
_NLISTS = 3
_GFP_FILE = GFP_DIRECT_RECLAIM | GFP_LRU | GFP_MOVABLE_PAGE  # a page-cache page


@njit
def _start_job(z, ms, cpu, progress_permille, big_ppm):
    """exec(): pick the job's size and life; `progress_permille` of it is already done; a
    link with probability `big_ppm` per million."""
    st = ms.st
    anon = ms.anon_pages
    life = ms.job_ns
    if big_ppm and rand_below(z.rng, cpu, 1_000_000) < big_ppm:
        anon *= 4
        life *= 10
    anon = max(1, rand_around(z.rng, cpu, anon, 333))
    life = rand_around(z.rng, cpu, life, 333)
    # Steps until the anon target is reached: each step is one of alloc, churn free, file,
    # slab; only plain allocs grow the target and churn frees undo one.
    net_ppm = 1_000_000 - 2 * ms.churn_ppm - ms.file_ppm - ms.slab_ppm
    steps = max(1, anon * 1_000_000 // net_ppm)
    st[cpu, _STEP_NS] = max(1, life // steps)
    st[cpu, _TARGET] = max(1, anon - anon * progress_permille // 1000)
    st[cpu, _PHASE] = 0
    st[cpu, _TO_PTE] = PAGEBLOCK_NR_PAGES


@njit
def next_op(z, ms, cpu):
    st = ms.st
    anon = cpu * _NLISTS + _ANON
    pgtable = cpu * _NLISTS + _PGTABLE
    slab = cpu * _NLISTS + _SLAB
    if st[cpu, _IDLE]:
        return OP_NONE, 0, 0, 0, 0, IDLE_NS
    if st[cpu, _STEP_NS] == 0:  # first call on this CPU: the job under way at a random time
        _start_job(z, ms, cpu, rand_below(z.rng, cpu, 1000), ms.big_start_ppm)
        return OP_ALLOC, 1, MIGRATE_UNMOVABLE, GFP_DIRECT_RECLAIM, pgtable, 0  # the PGD
    if st[cpu, _PHASE] == 1:  # exit_mmap(): data pages, then page tables
        if mix_list_len(z, anon) > 0:
            nr = free_batch_len(z, anon)
            return OP_FREE_OLDEST, nr, 0, 0, anon, ms.exit_ns * nr
        if mix_list_len(z, pgtable) > 0:
            return OP_FREE_OLDEST, 0, 0, 0, pgtable, ms.exit_ns
        _start_job(z, ms, cpu, 0, ms.big_ppm)
        return OP_ALLOC, 1, MIGRATE_UNMOVABLE, GFP_DIRECT_RECLAIM, pgtable, ms.exec_ns
    step = st[cpu, _STEP_NS]
    if st[cpu, _WRITE]:
        st[cpu, _WRITE] = 0
        return OP_ALLOC, 0, MIGRATE_MOVABLE, _GFP_FILE, LIST_LRU, step
    if st[cpu, _TARGET] <= 0:
        st[cpu, _PHASE] = 1
        return OP_NONE, 0, 0, 0, 0, 0
    r = rand_below(z.rng, cpu, 1_000_000)
    if r < ms.churn_ppm:
        if mix_list_len(z, anon) > 0:
            st[cpu, _TARGET] += 1
            return OP_FREE_NEWEST, 0, 0, 0, anon, step
        r = ms.churn_ppm  # nothing to free yet: take the next kind
    r -= ms.churn_ppm
    if r < ms.file_ppm:
        cached = lru_pages(z)
        if ms.tree_pages and cached >= ms.tree_pages:  # the tree is full: rewrite an object
            st[cpu, _WRITE] = 1
            return OP_FREE_OLDEST, min(z.knob[K_FOLIO_BATCH], cached), 0, 0, LIST_LRU, 0
        return OP_ALLOC, 0, MIGRATE_MOVABLE, _GFP_FILE, LIST_LRU, step
    r -= ms.file_ppm
    if r < ms.slab_ppm:
        if mix_list_len(z, slab) >= ms.slab_live:
            return OP_FREE_OLDEST, 0, 0, 0, slab, step
        order = 1 + rand_below(z.rng, cpu, 3)
        mt = MIGRATE_RECLAIMABLE if rand_below(z.rng, cpu, 2) else MIGRATE_UNMOVABLE
        return OP_ALLOC, order, mt, GFP_DIRECT_RECLAIM, slab, step
    if st[cpu, _TO_PTE] == PAGEBLOCK_NR_PAGES:
        st[cpu, _TO_PTE] = 0
        return OP_ALLOC, 0, MIGRATE_UNMOVABLE, GFP_DIRECT_RECLAIM, pgtable, 0
    st[cpu, _TO_PTE] += 1
    st[cpu, _TARGET] -= 1
    return OP_ALLOC, 0, MIGRATE_MOVABLE, GFP_DIRECT_RECLAIM | GFP_MOVABLE_PAGE, anon, step


@register_mix
class Kbuild(Mix):
    """Kernel build: compile jobs fault in and free anon memory, page cache grows."""

    name = "kbuild"
    ops_per_cpu_second = 50_000
    params = (
        kernel_frac_param(
            0.105,
            "R2 of ../shared/reference/allocator-profiles.md, kbuild on 128 threads: sys 9.32% "
            "against usr 47.65%, so 16.4% of busy time, of which the allocator "
            "(get_page_from_freelist 5.26% + free_unref_page_list 1.35% of cycles) is 6.6%: the "
            "other 9.8% is 10.5% of the time outside the allocator; S2/S3 builds: 12.6-14.0% sys",
        ),
        Param("job_anon_bytes", "100MiB", "bytes", "mean anon memory of a compile job", lo=4096),
        Param("job_ms", "750ms", "ns", "mean life of a compile job (uniform +-33%)", lo=1),
        Param("big_job_frac", 0.05, "frac", "share of jobs that are links: 4x memory, 10x life"),
        Param("churn_frac", 0.2, "frac", "share of steps that free the newest anon page"),
        Param("file_frac", 0.1, "frac", "share of steps that add a page-cache page"),
        Param("slab_frac", 0.01, "frac", "share of steps that allocate slab pages (order 1-3)"),
        Param("slab_live", 64, "int", "slab pages each CPU keeps before freeing the oldest"),
        Param("exit_ns", "50ns", "ns", "exit_mmap work per page besides the free"),
        Param("exec_ns", "500us", "ns", "fork + exec between jobs"),
        Param(
            "tree_bytes",
            "1300MiB",
            "bytes",
            "page cache of the build tree (sources and objects), past which a write truncates "
            "the oldest; 0: unbounded, the page cache grows until reclaim. Default: the 1.3 GB "
            "of a 2.6.29 tree after `make bzImage` (allmodconfig; 'The Building Process', "
            "cs.jhu.edu/~razvanm/fs-expedition/building.html); an order of "
            "magnitude, not a measurement of today's tree: the results' dependence on it is "
            "in docs/validation.md",
        ),
        Param("instances", 1, "int", "builds side by side, each with its own tree of "
              "tree_bytes; the trees spread evenly over the nodes", lo=1),
        Param("jobs", 0, "int", "compile jobs at once over the machine (the builds' -j "
              "together), one per CPU, spread over the nodes, the other CPUs idle; 0: one per "
              "CPU"),
    )
    hooks = MixHooks(next_op=next_op)

    def lists(self, nr_cpus: int) -> int:
        return nr_cpus * _NLISTS

    def build(self, machine: Machine, values: dict[str, int]) -> KbuildState:
        busy = 2 * values["churn_frac"] + values["file_frac"] + values["slab_frac"]
        if busy > 900_000:
            raise SpecError(
                "mix.kbuild: 2 * churn_frac + file_frac + slab_frac must stay below 0.9, "
                f"got {busy / 1e6:g}"
            )
        big = values["big_job_frac"]
        st = np.zeros((machine.cpus, _NF), dtype=np.int64)
        st[:, _IDLE] = idle_mask(machine, node_tasks(machine, values["jobs"], self.name, "jobs"))
        return KbuildState(
            anon_pages=max(1, values["job_anon_bytes"] // PAGE_SIZE),
            job_ns=values["job_ms"],
            big_ppm=big,
            # The job a CPU is in at a random time is chosen by length (the inspection paradox
            # of a renewal process): a link, ten times as long, is running on
            # 10 f / (10 f + 1 - f) of the CPUs, not on f. Starting there, rather than at f,
            # removes a transient as long as a link (~7.5 s) that would bias every window.
            big_start_ppm=10 * big * 1_000_000 // (10 * big + 1_000_000 - big) if big else 0,
            churn_ppm=values["churn_frac"],
            file_ppm=values["file_frac"],
            slab_ppm=values["slab_frac"],
            slab_live=values["slab_live"],
            exit_ns=values["exit_ns"],
            exec_ns=values["exec_ns"],
            tree_pages=values["tree_bytes"] * values["instances"] * machine.simulated_nodes
            // machine.nodes // PAGE_SIZE,
            st=st,
        )

    @classmethod
    def check_machine(cls, values: dict[str, int], cpus: int, nodes: int) -> None:
        check_tasks(values["jobs"], cpus, nodes, cls.name, "jobs")

    def idle_cpus(self, ms: KbuildState, nr_cpus: int) -> np.ndarray:
        return ms.st[:, _IDLE]
