"""A simulated run in the kernel's own /proc formats: `sweep simulate --buddyinfo`,
`--pagetypeinfo`, `--vmstat`, so the tools and eyes used on real machines read it unchanged.

The format strings are those of mm/vmstat.c (v6.8+: frag_show_print(),
pagetypeinfo_showfree_print(), pagetypeinfo_showblockcount_print(), vmstat_show()). The zone
printed is the one simulated (the record's `node` and `zone`), with the three migratetypes that
PCPs serve; the types it does not model (HighAtomic, CMA, Isolate) are left out rather than
printed as zeros.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

PAGEBLOCK_ORDER = 9  # x86-64 with 4 KiB pages (consts.PAGEBLOCK_ORDER)
MIGRATETYPE_NAMES = ("Unmovable", "Movable", "Reclaimable")  # migratetype_names[], in order
PAGETYPE_OVERFLOW = 100_000  # pagetypeinfo_showfree_print() stops counting a list here

# /proc/vmstat name -> the record's field; each a count over the measured window (after the
# warm-up), or, for nr_free_pages, the end state.
VMSTAT = (
    ("nr_free_pages", "nr_free_pages"),
    ("pgalloc_{zone}", "pgalloc"),  # the simulated zone's, e.g. pgalloc_normal
    ("pgfree", "pgfree"),
    ("pgsteal_kswapd", "pgsteal_kswapd"),
    ("pgsteal_direct", "pgsteal_direct"),
    ("allocstall_normal", "allocstall"),
)


def buddyinfo(metrics: Mapping[str, Any]) -> str:
    """/proc/buddyinfo: free blocks per order (frag_show_print())."""
    counts = []
    order = 0
    while f"nr_free_order{order}" in metrics:
        counts.append(int(metrics[f"nr_free_order{order}"]))
        order += 1
    node, zone = int(metrics.get("node", 0)), str(metrics.get("zone", "Normal"))
    return f"Node {node}, zone {zone:>8} " + "".join(f"{c:6d} " for c in counts) + "\n"


def pagetypeinfo(end_state: Mapping[str, np.ndarray]) -> str:
    """/proc/pagetypeinfo: free blocks per migratetype and order, pageblocks per type."""
    nr_free = end_state["nr_free"]
    node, zone = int(end_state.get("node", 0)), str(end_state.get("zone", "Normal"))
    orders = nr_free.shape[0]
    lines = [f"Page block order: {PAGEBLOCK_ORDER}", f"Pages per block:  {1 << PAGEBLOCK_ORDER}",
             "",
             f"{'Free pages count per migrate type at order':<43} "
             + "".join(f"{o:6d} " for o in range(orders))]
    for mt, name in enumerate(MIGRATETYPE_NAMES):
        cells = []
        for o in range(orders):
            n = int(nr_free[o, mt])
            over = n >= PAGETYPE_OVERFLOW
            cells.append(f"{'>' if over else ''}{min(n, PAGETYPE_OVERFLOW):6d} ")
        lines.append(f"Node {node:4d}, zone {zone:>8}, type {name:>12} " + "".join(cells))
    lines.append("")
    names = "".join(f"{n:>12} " for n in MIGRATETYPE_NAMES)
    lines.append(f"{'Number of blocks type ':<23}" + names)
    blocks = end_state["pageblocks"]
    lines.append(f"Node {node}, zone {zone:>8} "
                 + "".join(f"{int(blocks[mt]):12d} " for mt in range(len(MIGRATETYPE_NAMES))))
    return "\n".join(lines) + "\n"


def vmstat(metrics: Mapping[str, Any]) -> str:
    """/proc/vmstat lines ("name value") for the counters the model keeps."""
    zone = str(metrics.get("zone", "Normal")).lower()
    lines = [f"{name.format(zone=zone)} {int(metrics[field])}" for name, field in VMSTAT
             if field in metrics]
    attempts = int(metrics.get("thp_alloc_attempts", 0))
    ok = round(attempts * float(metrics.get("thp_alloc_success_frac", 0.0)))
    lines += [f"thp_fault_alloc {ok}", f"thp_fault_fallback {attempts - ok}"]
    return "\n".join(lines) + "\n"
