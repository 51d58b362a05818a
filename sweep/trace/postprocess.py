"""Lock round trips counted from a kmem trace the way the kernel's own tooling counts them.

Mel Gorman's Documentation/trace/postprocess/trace-pagealloc-postprocess.pl and the kmem
events documentation (calibration.md s6.1, s6.5): a run of consecutive
`mm_page_alloc_zone_locked` events on one CPU is one zone->lock acquisition that allocated, a
PCP refill (rmqueue_bulk()) or a direct buddy allocation (rmqueue_buddy()); `percpu_refill`
does not tell them apart, as __rmqueue_smallest() sets it for every order a PCP may hold. A
run of consecutive `mm_page_pcpu_drain` events on one CPU is one drain (free_pcppages_bulk()).
`mm_page_alloc_extfrag` does not break a run: the fallback it reports happens within the same
zone->lock hold (rmqueue_bulk() -> __rmqueue_fallback()). Used to check the simulator's own
counters against its emitted trace.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .parse import LINE


@dataclass
class LockRuns:
    refills: int = 0  # runs of zone_locked events with percpu_refill=1
    direct: int = 0  # runs of zone_locked events with percpu_refill=0
    drains: int = 0  # runs of pcpu_drain events


def lock_runs(lines: Iterable[str]) -> LockRuns:
    out = LockRuns()
    last: dict[int, str] = {}  # cpu -> its previous event (with the refill flag)
    for line in lines:
        m = LINE.search(line)
        if m is None:
            continue
        cpu, event = int(m.group("cpu")), m.group("event")
        if event == "mm_page_alloc_extfrag":  # emitted under the same zone->lock hold
            continue
        if event == "mm_page_alloc_zone_locked":
            event += ":refill" if "percpu_refill=1" in (m.group("fields") or "") else ":direct"
        if event != last.get(cpu):
            if event == "mm_page_alloc_zone_locked:refill":
                out.refills += 1
            elif event == "mm_page_alloc_zone_locked:direct":
                out.direct += 1
            elif event == "mm_page_pcpu_drain":
                out.drains += 1
        last[cpu] = event
    return out
