"""`filecache` and `pressure`: short-lived anonymous memory mixed with long-lived page cache.

The RFC's fragmentation concern: "movable allocations tend to be a mix of short-lived anon and
long-lived file cache pages" (../shared/reference/calibration.md s7.5: the page cache and
reclaim are what break up physical contiguity, Contiguitas and Mansi & Swift).

Each CPU, one step every `op_ns`: with probability `file_frac` it reads a file page into the
page cache (order 0 MOVABLE on the file LRU; it stays until reclaim); with `unmovable_frac` it
allocates a long-lived unmovable kernel page (kept, `unmovable_live` per CPU, oldest freed
beyond); otherwise it faults an anonymous page, first freeing the oldest once its working set
holds `anon_pages` (so an anon page lives about anon_pages anon steps).

`filecache` starts from empty memory: the page cache grows through the run until kswapd
reclaims. `pressure` first fills `fill_frac` of memory with page cache as fast as it can (or
until kswapd first wakes, if the watermarks leave less room), then runs the same steps, so
the zone lives between its watermarks with kswapd and direct reclaim at work.
"""

from __future__ import annotations

import numpy as np

from allocator.core.consts import (
    GFP_DIRECT_RECLAIM,
    GFP_LRU,
    GFP_MOVABLE_PAGE,
    LIST_LRU,
    MIGRATE_MOVABLE,
    MIGRATE_UNMOVABLE,
    OP_ALLOC,
    OP_FREE_OLDEST,
)
from allocator.core.jit import njit
from allocator.core.layout import PG_KSWAPD_AWAKE, PG_MANAGED, PG_NR_LRU, ZC_NODE
from allocator.core.rng import rand_around, rand_below
from allocator.core.structs import state_struct
from allocator.mixes.base import Mix, MixHooks, Param, kernel_frac_param, mix_list_len, register_mix
from allocator.mm.machine import Machine

FileCacheState = state_struct(
    "FileCacheState",
    [
        "anon_pages",
        "file_ppm",
        "unmovable_ppm",
        "unmovable_live",
        "op_ns",
        "fill_ppm",
        "fill_ns",
        "pending",  # int64[cpus]: 1 when an anon step freed its oldest page and must allocate
        "filled",  # int64[1]: 1 once the fill phase is over, for every CPU
    ],
    __name__,
)
_ANON = 0
_KERNEL = 1
_NLISTS = 2


@njit
def next_op(z, ms, cpu):
    gfp_file = GFP_DIRECT_RECLAIM | GFP_LRU | GFP_MOVABLE_PAGE
    nid = z.zc[ZC_NODE]
    if ms.fill_ppm and not ms.filled[0]:
        # Fill until the page cache reaches its share or kswapd wakes (the watermarks may not
        # leave room for the whole share: then the cache ends where reclaim begins).
        if (
            z.pgdat[nid, PG_NR_LRU] < z.pgdat[nid, PG_MANAGED] * ms.fill_ppm // 1_000_000
            and not z.pgdat[nid, PG_KSWAPD_AWAKE]
        ):
            return OP_ALLOC, 0, MIGRATE_MOVABLE, gfp_file, LIST_LRU, ms.fill_ns
        ms.filled[0] = 1
    anon = cpu * _NLISTS + _ANON
    kernel = cpu * _NLISTS + _KERNEL
    gfp_anon = GFP_DIRECT_RECLAIM | GFP_MOVABLE_PAGE
    step = rand_around(z.rng, cpu, ms.op_ns, 250)
    if ms.pending[cpu]:  # the second half of an anon step: the fault after the free
        ms.pending[cpu] = 0
        return OP_ALLOC, 0, MIGRATE_MOVABLE, gfp_anon, anon, step
    r = rand_below(z.rng, cpu, 1_000_000)
    if r < ms.file_ppm:
        return OP_ALLOC, 0, MIGRATE_MOVABLE, gfp_file, LIST_LRU, step
    if r < ms.file_ppm + ms.unmovable_ppm:
        if mix_list_len(z, kernel) >= ms.unmovable_live:
            return OP_FREE_OLDEST, 0, 0, 0, kernel, step
        return OP_ALLOC, 0, MIGRATE_UNMOVABLE, GFP_DIRECT_RECLAIM, kernel, step
    if mix_list_len(z, anon) >= ms.anon_pages:
        ms.pending[cpu] = 1  # free the oldest, then (no time between) fault a new one
        return OP_FREE_OLDEST, 0, 0, 0, anon, 0
    return OP_ALLOC, 0, MIGRATE_MOVABLE, gfp_anon, anon, step


_PARAMS = (
    kernel_frac_param(
        0.1,
        "an estimate of the order of kbuild's 10.5% (no published profile)",
    ),
    Param("anon_pages", 2048, "int", "anonymous working set per CPU, in pages", lo=1),
    Param("file_frac", 0.3, "frac", "share of steps that read a page into the page cache"),
    Param("unmovable_frac", 0.01, "frac", "share of steps that allocate unmovable pages"),
    Param("unmovable_live", 256, "int", "unmovable pages each CPU keeps", lo=1),
    Param("op_ns", "2us", "ns", "time between a CPU's steps", lo=1),
)


class _AnonAndFile(Mix):
    hooks = MixHooks(next_op=next_op)

    def lists(self, nr_cpus: int) -> int:
        return nr_cpus * _NLISTS

    def build(self, machine: Machine, values: dict[str, int]) -> FileCacheState:
        return FileCacheState(
            anon_pages=values["anon_pages"],
            file_ppm=values["file_frac"],
            unmovable_ppm=values["unmovable_frac"],
            unmovable_live=values["unmovable_live"],
            op_ns=values["op_ns"],
            fill_ppm=values.get("fill_frac", 0),
            fill_ns=values.get("fill_ns", 0),
            pending=np.zeros(machine.cpus, dtype=np.int64),
            filled=np.zeros(1, dtype=np.int64),
        )


@register_mix
class FileCache(_AnonAndFile):
    """Short-lived anon mixed with long-lived page cache that grows until reclaim."""

    name = "filecache"
    params = _PARAMS


@register_mix
class Pressure(_AnonAndFile):
    """Memory filled with page cache first, then anon and file churn near the low watermark."""

    name = "pressure"
    params = (
        *_PARAMS,
        Param("fill_frac", 0.97, "frac", "share of memory filled with page cache first"),
        Param("fill_ns", "200ns", "ns", "time between page-cache reads while filling"),
    )
