"""The cost table of the timing model: every constant in simulated nanoseconds, overridable by name.

Defaults and their basis come from ../shared/reference/calibration.md (sections 1 to 3). A
scenario overrides any of them with `cost.<name> = value` and may sweep them like any parameter.
The numba kernels read the table as an int64 array indexed by the `C_*` constants below.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allocator.params.errors import SpecError


@dataclass(frozen=True)
class Cost:
    name: str
    default_ns: int
    basis: str


COSTS: tuple[Cost, ...] = (
    Cost(
        "pcp_list_ns",
        30,
        "PCP hit, one list operation plus accounting, alloc or free: half of a 115-231 cycle "
        "alloc+free pair at ~3 GHz (Brouer 2016, Tosatti 2023; calibration.md s1)",
    ),
    Cost(
        "pcp_lock_ns",
        8,
        "local pcp->lock acquire+release, line in L1: one locked RMW each, 5-10 ns "
        "(calibration.md s1, 'uncontended spinlock')",
    ),
    Cost(
        "zone_lock_ns",
        10,
        "zone->lock acquire+release with irqsave when the lock is free and its line is local "
        "(calibration.md s1 'Suggested default timing model')",
    ),
    Cost(
        "zone_page_ns",
        25,
        "per free entry put on or taken off a zone free list under zone->lock, struct page "
        "access included; with merge steps this gives the 28-35 ns/page Huang Ying measured "
        "(calibration.md s2, whose rows are the posting's Ice Lake ones, labelled Sapphire "
        "Rapids there; the posting's Sapphire Rapids rows give 28.8-30.0)",
    ),
    Cost(
        "merge_step_ns",
        10,
        "one __free_one_page merge iteration, buddy struct page hot: 5-15 ns "
        "(calibration.md s1, Aaron Lu 2018)",
    ),
    Cost(
        "split_step_ns",
        10,
        "one expand() level: halve and list the upper half (calibration.md s1)",
    ),
    Cost(
        "cacheline_near_ns",
        40,
        "modified cache line moved core to core on one socket: 40.3-42.3 ns L2->L2, "
        "Broadwell-EP, Intel MLC (calibration.md s1)",
    ),
    Cost(
        "cacheline_far_ns",
        120,
        "modified cache line moved across sockets: roughly 100-200 ns on 2-socket parts "
        "(calibration.md s1, an estimate)",
    ),
    Cost(
        "pageblock_scan_ns",
        1000,
        "prep_move_freepages_block walking 512 struct pages to count free and movable ones "
        "(~2 ns per page, an estimate)",
    ),
    Cost(
        "reclaim_page_ns",
        2000,
        "shrink_folio_list work per clean page-cache page reclaimed (isolate, unmap, "
        "free): kswapd reclaims clean cache at roughly 2 GB/s (an estimate)",
    ),
    Cost(
        "lru_lock_ns",
        10,
        "lruvec->lru_lock acquire+release with irqsave when the lock is free and its line is "
        "local: as zone_lock_ns (calibration.md s1 'Suggested default timing model')",
    ),
    Cost(
        "lru_folio_ns",
        30,
        "per folio added to or deleted from an LRU list under lru_lock (lruvec_add_folio() / "
        "lruvec_del_folio(): a list operation on the folio's struct page plus the LRU size "
        "accounting): the same work as a PCP list operation, pcp_list_ns (an estimate)",
    ),
    Cost(
        "zone_lock_handoff_ns",
        0,
        "the fixed part of a zone->lock section taken after another CPU held it: the lines the "
        "section works on (free-area heads and counts) follow the lock to the new holder. "
        "Huang Ying's hold-time table (calibration.md s2; published-results.md Q4) is a line "
        "in the batch with an intercept: least squares over batch 63-511, free side, 0.53 us "
        "on Sapphire Rapids and 0.48 us on Ice Lake (allocation side 0.72-1.04 us); the model's "
        "own per-acquisition charge (zone_lock_ns + cacheline_near_ns, 50 ns) taken from the "
        "Sapphire Rapids free side leaves 480 ns, the calibrated value. Part of that intercept "
        "may be the function_graph tracer's own cost of the timed call (a caveat of the "
        "measurement). Default 0: the published tables were made without it; "
        "`cost.zone_lock_handoff_ns = 480` with `cost.zone_page_ns = 20` runs the calibrated "
        "model (docs/validation.md section 3)",
    ),
)

COST_NAMES: tuple[str, ...] = tuple(c.name for c in COSTS)
NR_COSTS = len(COSTS)

# Indices into the cost array (compile-time constants in the kernels). Keep in COSTS order.
C_PCP_LIST = 0
C_PCP_LOCK = 1
C_ZONE_LOCK = 2
C_ZONE_PAGE = 3
C_MERGE_STEP = 4
C_SPLIT_STEP = 5
C_CACHELINE_NEAR = 6
C_CACHELINE_FAR = 7
C_PAGEBLOCK_SCAN = 8
C_RECLAIM_PAGE = 9
C_LRU_LOCK = 10
C_LRU_FOLIO = 11
C_ZONE_LOCK_HANDOFF = 12

assert COST_NAMES.index("reclaim_page_ns") == C_RECLAIM_PAGE
assert COST_NAMES.index("lru_folio_ns") == C_LRU_FOLIO
assert COST_NAMES.index("zone_lock_handoff_ns") == C_ZONE_LOCK_HANDOFF


MAX_COST_NS = 1_000_000_000  # a second per step: beyond any measured cost, inside int64 sums


def default_costs() -> dict[str, int]:
    return {c.name: c.default_ns for c in COSTS}


def validate_costs(overrides: dict[str, object]) -> dict[str, int]:
    """Merge user overrides into the defaults; unknown names and negative values are errors."""
    merged = default_costs()
    for name, value in overrides.items():
        if name not in merged:
            raise SpecError(f"unknown cost 'cost.{name}'; known costs: {', '.join(COST_NAMES)}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SpecError(f"cost.{name} must be a number of nanoseconds, got {value!r}")
        if not 0 <= value <= MAX_COST_NS or value != int(value):  # (NaN and inf too)
            raise SpecError(
                f"cost.{name} must be a whole number of nanoseconds from 0 to {MAX_COST_NS} "
                f"(a second), got {value!r}"
            )
        merged[name] = int(value)
    return merged


def cost_array(costs: dict[str, int]) -> np.ndarray:
    return np.array([costs[name] for name in COST_NAMES], dtype=np.int64)
