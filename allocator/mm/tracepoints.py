"""kmem tracepoints: the simulator's events recorded as the kernel would trace them.

Off unless a run asks for a trace (`simulate(spec, trace_events=N)`): then `Z.trace` holds up
to N rows (time, cpu, event, pfn, order, migratetype, arg) and `sweep simulate --emit-trace`
writes them in ftrace's text format (sweep/trace_text.py). Events, as in
include/trace/events/kmem.h: mm_page_alloc and mm_page_free for the workload's allocations and
frees; mm_page_alloc_zone_locked for each entry taken from the buddy lists under zone->lock
(arg: percpu_refill); mm_page_pcpu_drain for each entry a PCP gives back; mm_page_alloc_extfrag
for each fallback (arg: fallback_order | fallback_migratetype << 8 | change_ownership << 16).
"""

from __future__ import annotations

from allocator.core.jit import njit
from allocator.core.layout import (
    E_NOW,
    E_TRACE_LOST,
    E_TRACE_N,
    LK_OWNER,
    LOCK_ZONE,
    T_ARG,
    T_CPU,
    T_EVENT,
    T_MT,
    T_ORDER,
    T_PFN,
    T_TIME,
    TR_EXTFRAG,
    TR_ZONE_LOCKED,
)


@njit
def trace_event(z, event, cpu, pfn, order, mt, arg):
    n = z.eng[E_TRACE_N]
    if n >= z.trace.shape[0]:
        if z.trace.shape[0]:
            z.eng[E_TRACE_LOST] += 1
        return
    z.trace[n, T_TIME] = z.eng[E_NOW]
    z.trace[n, T_CPU] = cpu
    z.trace[n, T_EVENT] = event
    z.trace[n, T_PFN] = pfn
    z.trace[n, T_ORDER] = order
    z.trace[n, T_MT] = mt
    z.trace[n, T_ARG] = arg
    z.eng[E_TRACE_N] = n + 1


@njit
def trace_zone_locked(z, pfn, order, mt, percpu_refill):
    """mm_page_alloc_zone_locked, by the CPU holding zone->lock."""
    if z.trace.shape[0]:
        trace_event(z, TR_ZONE_LOCKED, z.lk[LOCK_ZONE, LK_OWNER], pfn, order, mt, percpu_refill)


@njit
def trace_extfrag(z, pfn, order, mt, fallback_order, fallback_mt, change_ownership):
    if z.trace.shape[0]:
        arg = fallback_order | (fallback_mt << 8) | (change_ownership << 16)
        trace_event(z, TR_EXTFRAG, z.lk[LOCK_ZONE, LK_OWNER], pfn, order, mt, arg)
