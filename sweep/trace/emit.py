"""`sweep simulate --emit-trace FILE`: a run's kmem events in ftrace's own text format.

The lines are what `cat /sys/kernel/tracing/trace` prints for events/kmem (include/trace/events/
kmem.h, current kernels; ../shared/reference/calibration.md s6.1 and s6.3): a `comm-pid` task
column (`sim-<cpu>`; kswapd is `kswapd0`), `[cpu]`, a 5-character irq/preempt flags column,
`secs.usecs:` (kswapd on the last CPU), the event and its fields, pfns in hex from
ZONE_START_PFN. `page=` is the vmemmap address of the pfn (0xffffea0000000000 + 64 * pfn, as
kernels printed it before pointer hashing). gfp_flags are symbolic, from the simulated gfp
bits and migratetype. So trace-pagealloc-postprocess.pl-style scripts and `sweep trace import`
read it back.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from allocator.core.consts import GFP_DIRECT_RECLAIM, GFP_LRU, MIGRATE_MOVABLE, MIGRATE_RECLAIMABLE
from allocator.core.layout import (
    T_ARG,
    T_CPU,
    T_EVENT,
    T_MT,
    T_ORDER,
    T_PFN,
    T_TIME,
    TR_ALLOC,
    TR_EXTFRAG,
    TR_FREE,
    TR_PCPU_DRAIN,
    TR_ZONE_LOCKED,
)

from ..store import write_atomic_bytes

VMEMMAP = 0xFFFFEA0000000000
# The simulated zone's first pfn: ZONE_NORMAL of x86-64 starts at 4 GiB (pfn 0 would read as a
# failed allocation).
ZONE_START_PFN = 0x100000
PAGEBLOCK_ORDER = 9


def gfp_flags(bits: int, mt: int) -> str:
    """A symbolic gfp mask for a simulated allocation."""
    if not bits & GFP_DIRECT_RECLAIM:
        return "GFP_NOWAIT"
    if bits & GFP_LRU:
        return "GFP_HIGHUSER_MOVABLE" if mt == MIGRATE_MOVABLE else "GFP_NOFS"
    if mt == MIGRATE_MOVABLE:
        return "GFP_HIGHUSER_MOVABLE"
    if mt == MIGRATE_RECLAIMABLE:
        return "GFP_KERNEL|__GFP_RECLAIMABLE"
    return "GFP_KERNEL"


def _fields(ev: int, pfn: int, order: int, mt: int, arg: int) -> str:
    pfn = pfn + ZONE_START_PFN if pfn >= 0 else pfn
    page = f"page={VMEMMAP + 64 * pfn:016x} pfn=0x{pfn:x}"
    if ev == TR_ALLOC:
        if pfn < 0:
            return (f"mm_page_alloc: page=0000000000000000 pfn=0x0 order={order} "
                    f"migratetype={mt} gfp_flags={gfp_flags(arg, mt)}")
        return (f"mm_page_alloc: {page} order={order} migratetype={mt} "
                f"gfp_flags={gfp_flags(arg, mt)}")
    if ev == TR_FREE:
        return f"mm_page_free: {page} order={order}"
    if ev == TR_ZONE_LOCKED:
        return (f"mm_page_alloc_zone_locked: {page} order={order} migratetype={mt} "
                f"percpu_refill={arg}")
    if ev == TR_PCPU_DRAIN:
        return f"mm_page_pcpu_drain: {page} order={order} migratetype={mt}"
    if ev == TR_EXTFRAG:
        fallback_order, fallback_mt, change = arg & 0xFF, (arg >> 8) & 0xFF, (arg >> 16) & 1
        return (f"mm_page_alloc_extfrag: {page} alloc_order={order} "
                f"fallback_order={fallback_order} pageblock_order={PAGEBLOCK_ORDER} "
                f"alloc_migratetype={mt} fallback_migratetype={fallback_mt} "
                f"fragmenting={int(fallback_order < PAGEBLOCK_ORDER)} change_ownership={change}")
    raise ValueError(f"unknown trace event {ev}")


def format_trace(trace: np.ndarray, nr_cpus: int) -> str:
    """ftrace text for recorded events (rows of allocator.mm.tracepoints), with its header."""
    buf = io.StringIO()
    buf.write(f"# tracer: nop\n#\n# entries-in-buffer/entries-written: {len(trace)}/"
              f"{len(trace)}   #P:{nr_cpus}\n#\n"
              "#                                _-----=> irqs-off/BH-disabled\n"
              "#                               / _----=> need-resched\n"
              "#                              | / _---=> hardirq/softirq\n"
              "#                              || / _--=> preempt-depth\n"
              "#                              ||| / _-=> migrate-disable\n"
              "#                              |||| /     delay\n"
              "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n"
              "#              | |         |   |||||     |         |\n")
    order = np.argsort(trace[:, T_TIME], kind="stable")
    for row in trace[order]:
        cpu = int(row[T_CPU])
        task = "kswapd0-90" if cpu >= nr_cpus else f"sim-{1000 + cpu}"
        t = int(row[T_TIME])
        stamp = f"{t // 1_000_000_000:5d}.{(t // 1000) % 1_000_000:06d}"
        fields = _fields(int(row[T_EVENT]), int(row[T_PFN]), int(row[T_ORDER]),
                         int(row[T_MT]), int(row[T_ARG]))
        buf.write(f"{task:>16} [{min(cpu, nr_cpus - 1):03d}] ..... {stamp}: {fields}\n")
    return buf.getvalue()


def write_trace(path: Path, trace: np.ndarray, nr_cpus: int) -> None:
    write_atomic_bytes(Path(path), format_trace(trace, nr_cpus).encode())
