"""The metric catalogue: every field of a run's record, and every counter and time series the
engine keeps, said once.

Each entry names its unit, where the kernel keeps the same figure (a vmstat, zoneinfo or
buddyinfo field, a tracepoint), how the simulator collects it, which way is better, and whether
pcp-buddy's gain over upstream is computed on it. Everything else derives from here: the event
counter indexes (core/layout.py's EV_*), the time-series columns (S_*), the record's simple
fields (sim/record.py), the run-length control's key metrics (sim/runlength.py), and on the
sweep side the Parquet columns, the SQL of the `gains` and `curves` views, the report's
headlines and costs, `regress` and `compare`'s metrics and the terminal's groups.

Adding a counter: one `Metric(..., source=EVENT)` here, its `EV_` line in layout.py (its index
comes from here) and the counting site; `sweep docs` regenerates views.sql and docs/metrics.md
(a test fails until it has). A derived field: its entry here and its formula in record.py.

Sources (`source`):
  event    a Z.ev counter (a vm_event), counted in the window; the record field is the count
  lock     zone->lock / pcp->lock / lru_lock statistics (lock_stat-like, Z.lk)
  latency  from the allocation / free latency histograms
  gauge    a time series sampled every sample_ns; the record field is its mean over the window
  end      the state at the end of the run
  derived  a formula of the above (record.py)
  machine  the machine's derived parameters (machine.py)
  steady   what the run-length control decided (sim/runlength.py)
"""

from __future__ import annotations

from dataclasses import dataclass

from allocator.core.consts import NR_PAGE_ORDERS

EVENT, LOCK, LATENCY, GAUGE, END, DERIVED, MACHINE, STEADY = (
    "event", "lock", "latency", "gauge", "end", "derived", "machine", "steady")
SOURCES = (EVENT, LOCK, LATENCY, GAUGE, END, DERIVED, MACHINE, STEADY)

# how a gain of pcp-buddy ("rfc") over upstream ("up") is computed, positive when rfc is better
GAIN_SQL = {
    "saved": "1 - rfc.{m} / NULLIF(up.{m}, 0)",  # lower is better: the share saved
    "gained": "rfc.{m} / NULLIF(up.{m}, 0) - 1",  # higher is better: the share gained
    "change": "rfc.{m} / NULLIF(up.{m}, 0) - 1",  # a cost, relative: + is more of it
    "difference": "rfc.{m} - up.{m}",  # a cost, absolute (an index, a fraction)
}


@dataclass(frozen=True)
class Gain:
    """pcp-buddy against upstream on one metric, a column of the `gains` view."""

    name: str
    kind: str  # a key of GAIN_SQL
    label: str  # as the report says it
    ci: bool = False  # its 95% half-width from both runs' (the metric has a *_ci95)
    role: str = ""  # headline: a verdict is drawn on it
    fallback: str = ""  # the metric a store made before this one existed is compared on


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    doc: str
    source: str
    group: str = "other"  # the terminal view's group (sweep simulate)
    kernel: str = ""  # the kernel's name for the same figure, where it has one
    better: int = 0  # +1 higher is better, -1 lower is better, 0 neither
    watched: bool = False  # checked by `regress`, shown by `compare`: a rate, never a count
    label: str = ""  # short label for tables and figures
    gain: Gain | None = None
    cost: bool = False  # reported beside the verdicts, both policies' means (report)
    series: str = ""  # gauge: the time series whose mean this is
    record: bool = True  # False: a counter the engine keeps only to derive another field


M = Metric
RUN, ZL, PCP, LAT, FRAG, BUDDY, RECLAIM, MACH, STEADY_G, LRU, NUMA = (
    "run", "zone->lock", "pcp", "latency", "fragmentation", "buddyinfo at the end", "reclaim",
    "machine", "steady state", "lru_lock", "numa")

# --- the engine's counters, in Z.ev order (core/layout.py takes each EV_ index from here) ------
EVENTS: tuple[Metric, ...] = (
    M("alloc_ops", "ops", "allocations the workload asked for", EVENT, RUN),
    M("free_ops", "ops", "frees the workload made", EVENT, RUN),
    M("pgalloc", "pages", "pages allocated", EVENT, RUN, kernel="vmstat pgalloc_normal"),
    M("pgfree", "pages", "pages freed", EVENT, RUN, kernel="vmstat pgfree"),
    M("alloc_failures", "ops", "allocations that failed after the slow path", EVENT, RECLAIM,
      kernel="tracepoint mm_page_alloc with pfn -1"),
    M("thp_alloc_attempts", "ops", "order-9 allocation attempts", EVENT, FRAG,
      kernel="vmstat thp_fault_alloc + thp_fault_fallback"),
    M("thp_alloc_failures", "ops", "order-9 allocations that failed", EVENT, FRAG,
      kernel="vmstat thp_fault_fallback", record=False),
    M("pcp_alloc_hits", "ops", "allocations served from a PCP list without a refill", EVENT,
      PCP, record=False),
    M("pcp_alloc_misses", "ops", "allocations that needed a refill, or could not use the PCP",
      EVENT, PCP, record=False),
    M("pcp_refills", "calls", "rmqueue_bulk() calls", EVENT, PCP),
    M("pcp_refill_pages", "pages", "pages rmqueue_bulk() moved to PCPs", EVENT, PCP),
    M("pcp_drains", "calls", "free_pcppages_bulk() calls", EVENT, PCP,
      kernel="tracepoint mm_page_pcpu_drain (per page)"),
    M("pcp_drain_pages", "pages", "pages free_pcppages_bulk() gave back", EVENT, PCP),
    M("pcp_free_high_drains", "calls", "frees that drained because free_high held (a run of "
      "high-order frees, free_frozen_page_commit()): Huang Ying's free_high count", EVENT, PCP),
    M("pcp_trylock_failures", "ops", "pcp_spin_trylock() failures", EVENT, PCP),
    M("zone_lock_pages", "pages", "pages moved under zone->lock", EVENT, ZL),
    M("extfrag_claims", "events", "fallbacks that claimed the pageblock", EVENT, FRAG,
      kernel="tracepoint mm_page_alloc_extfrag, change_ownership=1"),
    M("extfrag_steals", "events", "fallbacks that took pages without the block", EVENT, FRAG,
      kernel="tracepoint mm_page_alloc_extfrag, change_ownership=0"),
    M("extfrag_fragmenting", "events", "fallbacks below pageblock_order", EVENT, FRAG,
      kernel="tracepoint mm_page_alloc_extfrag, fragmenting=1"),
    M("kswapd_wakeups", "events", "wakeup_kswapd() calls that woke it", EVENT, RECLAIM,
      kernel="tracepoint mm_vmscan_wakeup_kswapd"),
    M("pgsteal_kswapd", "pages", "pages kswapd reclaimed", EVENT, RECLAIM,
      kernel="vmstat pgsteal_kswapd"),
    M("pgsteal_direct", "pages", "pages direct reclaim reclaimed", EVENT, RECLAIM,
      kernel="vmstat pgsteal_direct"),
    M("allocstall", "events", "entries into direct reclaim", EVENT, RECLAIM,
      kernel="vmstat allocstall_normal"),
    M("drain_all_pages", "calls", "drain_all_pages() calls (after direct reclaim)", EVENT,
      RECLAIM),
    M("remote_frees", "ops", "frees routed to another CPU's PCP (pcp-buddy)", EVENT, PCP),
    M("pcp_lock_remote_acquisitions", "ops", "pcp->lock taken by a CPU other than its owner",
      EVENT, PCP),
    M("pcp_lock_remote_wait_ns", "ns", "waits for another CPU's pcp->lock", EVENT, PCP),
    M("pcp_high_decays", "calls", "decay_pcp_high() calls that lowered high or drained", EVENT,
      PCP),
    M("merge_steps", "steps", "buddy merges in __free_one_page()", EVENT, FRAG),
    M("split_steps", "steps", "expand() levels", EVENT, FRAG),
    M("watermark_boosts", "events", "boost_watermark() calls that raised the boost", EVENT,
      FRAG),
    M("buddy_allocs", "ops", "allocations served by rmqueue_buddy(), not the PCP", EVENT, PCP),
    M("zone_direct_frees", "ops", "free_one_page(): frees straight to the zone", EVENT, PCP),
    M("numa_hit", "ops", "allocations that got the node they preferred (the allocating CPU's)",
      EVENT, NUMA, kernel="numa_hit (zone_statistics(), numastat)"),
    M("numa_miss", "ops", "allocations that fell back to another node's zone", EVENT, NUMA,
      kernel="numa_miss"),
    M("numa_foreign", "ops", "allocations that preferred a node and got another (machine-wide "
      "equal to numa_miss)", EVENT, NUMA, kernel="numa_foreign"),
    M("numa_local", "ops", "allocations from the allocating CPU's own node", EVENT, NUMA,
      kernel="local_node"),
    M("numa_other", "ops", "allocations from a node other than the allocating CPU's", EVENT,
      NUMA, kernel="other_node"),
)
NR_CORE_EVENTS = len(EVENTS)


def event_index(name: str) -> int:
    """The Z.ev index of a core counter (core/layout.py's EV_* constants)."""
    return _EVENT_INDEX[name]


_EVENT_INDEX = {m.name: i for i, m in enumerate(EVENTS)}

# --- the time series, in Z.samples column order (core/layout.py's S_*; the samples view) -------
SERIES: tuple[tuple[str, str, str], ...] = (  # name, unit, what each row holds
    ("t_ns", "ns", "simulated time of the sample"),
    ("ops", "ops", "operations completed so far, all CPUs"),
    ("sys_ns", "ns", "time in the allocator so far, all CPUs"),
    ("nr_free_pages", "pages", "NR_FREE_PAGES (zoneinfo nr_free_pages)"),
    ("pcp_pages", "pages", "pages on all PCP lists (zoneinfo pagesets' count, summed)"),
    ("free_pageblocks", "blocks", "free blocks of order >= 9, in pageblocks"),
    ("unusable_index_order9_permille", "permille", "unusable free space index for order 9"),
    ("nr_lru_pages", "pages", "pages on the file LRU"),
    ("zone_lock_acquisitions", "ops", "zone->lock acquisitions so far"),
    ("zone_lock_wait_ns", "ns", "zone->lock waiting so far, all CPUs"),
    ("pcp_high_mean", "pages", "pcp->high, mean over CPUs (zoneinfo pagesets' high)"),
    ("zone_flags", "bits", "ZONE_BOOSTED_WATERMARK | ZONE_RECLAIM_ACTIVE | ZONE_BELOW_HIGH"),
    ("watermark_boost", "pages", "zone->watermark_boost"),
    ("alloc_failures", "ops", "failed allocations so far"),
)
SAMPLE_NAMES = tuple(name for name, _, _ in SERIES)


def series_index(name: str) -> int:
    """The Z.samples column of a series (core/layout.py's S_* constants)."""
    return SAMPLE_NAMES.index(name)


_HEAD = "headline"
_COST = "cost"

# --- the rest of the record ------------------------------------------------------------------
FIELDS: tuple[Metric, ...] = (
    M("ops", "ops", "operations completed in the window", DERIVED, RUN),
    M("sim_time_ns", "ns", "the window's simulated length", DERIVED, RUN),
    M("sys_frac", "fraction", "share of the CPUs' time inside the page allocator, spinning "
      "included: the allocator's part of %sys", DERIVED, RUN, better=-1, watched=True,
      label="%sys (allocator)", gain=Gain("sys_gain", "saved", "%sys saved", ci=True,
                                          role=_HEAD)),
    M("throughput_ops_per_s", "ops/s", "operations per simulated second (the simulated node)",
      DERIVED, RUN, better=+1, watched=True, label="throughput",
      gain=Gain("throughput_gain", "gained", "throughput gained", ci=True, role=_HEAD)),
    M("kernel_sys_frac", "fraction", "%sys as mpstat and time(1) state it: sys_frac and "
      "lru_frac plus the mix's other kernel time (its kernel_frac of the rest)", DERIVED, RUN,
      better=-1),
    M("zone_lock_acquisitions", "ops", "zone->lock acquisitions", LOCK, ZL,
      kernel="lock_stat acquisitions of &zone->lock"),
    M("zone_lock_acq_per_kop", "per 1000 ops", "zone->lock acquisitions per thousand operations",
      DERIVED, ZL, better=-1,
      gain=Gain("zone_lock_acquisitions_gain", "saved", "zone->lock acquisitions saved")),
    M("zone_lock_pages_per_acq", "pages", "pages moved per zone->lock acquisition: the batching "
      "the RFC's ownership is for", DERIVED, ZL),
    M("zone_lock_contended", "ops", "acquisitions that had to wait", LOCK, ZL,
      kernel="lock_stat contentions"),
    M("zone_lock_hold_ns", "ns", "time zone->lock was held", LOCK, ZL,
      kernel="lock_stat holdtime-total"),
    M("zone_lock_wait_ns", "ns", "time spent waiting for zone->lock, all CPUs", LOCK, ZL,
      kernel="lock_stat waittime-total"),
    M("zone_lock_wait_frac", "fraction", "zone->lock waiting as a share of the CPUs' time",
      DERIVED, ZL, better=-1, watched=True, label="zone->lock wait",
      gain=Gain("zone_lock_wait_gain", "saved", "zone->lock wait saved", ci=True,
                role=_HEAD, fallback="zone_lock_wait_ns")),
    M("pcp_lock_wait_ns", "ns", "time spent waiting for any pcp->lock", LOCK, PCP),
    M("lru_lock_acquisitions", "ops", "lruvec->lru_lock acquisitions (knob.lru_lock)", LOCK,
      LRU, kernel="lock_stat acquisitions of &lruvec->lru_lock"),
    M("lru_lock_hold_ns", "ns", "time lru_lock was held", LOCK, LRU,
      kernel="lock_stat holdtime-total"),
    M("lru_lock_wait_ns", "ns", "time spent waiting for lru_lock, all CPUs", LOCK, LRU,
      kernel="lock_stat waittime-total"),
    M("lru_lock_wait_frac", "fraction", "lru_lock waiting as a share of the CPUs' time",
      DERIVED, LRU, better=-1),
    M("lru_frac", "fraction", "share of the CPUs' time moving folios on and off the LRU "
      "(folio_batch_move_lru(), folios_put_refs()), lru_lock spinning included: kernel time "
      "outside the allocator", DERIVED, LRU, better=-1),
    M("pcp_alloc_hit_frac", "fraction", "allocations served from a PCP list without a refill",
      DERIVED, PCP),
    M("pcp_pages_peak", "pages", "most pages on PCP lists at once", END, PCP),
    M("pcp_pages_mean", "pages", "pages on PCP lists, mean over the window's samples", GAUGE,
      PCP, series="pcp_pages", label="pages held in PCPs (mean)", cost=True,
      gain=Gain("pcp_pages_change", "change", "pages held in PCPs, change")),
    M("pcp_pages_end", "pages", "pages on PCP lists at the end", END, PCP),
    M("pcp_high_mean", "pages", "pcp->high, mean over CPUs and samples", GAUGE, PCP,
      series="pcp_high_mean", kernel="zoneinfo pagesets: high"),
    M("pcp_high_mean_end", "pages", "pcp->high, mean over CPUs, at the end", END, PCP),
    M("nr_free_pages_mean", "pages", "NR_FREE_PAGES, mean over the window's samples", GAUGE,
      RUN, series="nr_free_pages", kernel="zoneinfo nr_free_pages"),
    M("alloc_latency_p50_ns", "ns", "median allocation latency", LATENCY, LAT),
    M("alloc_latency_p99_ns", "ns", "99th percentile of allocation latency", LATENCY, LAT,
      better=-1, watched=True, label="alloc p99",
      gain=Gain("alloc_p99_gain", "saved", "allocation p99 latency saved")),
    M("alloc_latency_max_ns", "ns", "longest allocation", LATENCY, LAT),
    M("free_latency_p50_ns", "ns", "median free latency", LATENCY, LAT),
    M("free_latency_p99_ns", "ns", "99th percentile of free latency", LATENCY, LAT),
    M("free_latency_max_ns", "ns", "longest free", LATENCY, LAT),
    M("thp_alloc_success_frac", "fraction", "order-9 allocations that succeeded", DERIVED, FRAG,
      better=+1),
    M("nr_free_pages", "pages", "NR_FREE_PAGES at the end", END, FRAG,
      kernel="zoneinfo nr_free_pages"),
    *(M(f"nr_free_order{o}", "blocks", f"free blocks of order {o} at the end", END, BUDDY,
        kernel=f"/proc/buddyinfo column {o}") for o in range(NR_PAGE_ORDERS)),
    M("free_pageblocks", "pageblocks", "free memory in blocks of order >= 9, in pageblocks, at "
      "the end", END, FRAG, better=+1, label="free pageblocks", cost=True),
    M("unusable_index_order9", "fraction", "unusable free space index for order 9 at the end "
      "(Gorman and Whitcroft 2006; extfrag/unusable_index)", END, FRAG, better=-1,
      kernel="debugfs extfrag/unusable_index", label="unusable index, order 9", cost=True,
      gain=Gain("unusable_index_order9_change", "difference", "unusable index, change")),
    M("lru_pages_peak", "pages", "most pages on the file LRU at once", END, RECLAIM),
    M("kswapd_ns", "ns", "time kswapd spent reclaiming", DERIVED, RECLAIM),
    M("direct_reclaim_ns", "ns", "time CPUs spent in direct reclaim", DERIVED, RECLAIM),
    M("split_pageblocks_peak", "pageblocks", "most pageblocks split at once", END, FRAG),
    M("engine_steps", "steps", "the engine's steps, the whole run (a cost of the simulation)",
      DERIVED),
    M("batch", "pages", "pcp->batch", MACHINE, MACH, kernel="zoneinfo pagesets: batch"),
    M("high_min", "pages", "pcp->high_min", MACHINE, MACH),
    M("high_max", "pages", "pcp->high_max", MACHINE, MACH),
    M("min_free_kbytes", "KiB", "vm.min_free_kbytes", MACHINE, MACH),
    M("nodes", "nodes", "NUMA nodes of the machine", MACHINE, MACH),
    M("simulated_nodes", "nodes", "nodes the engine ran: 1 with the symmetric shortcut, all "
      "with knob.symmetric_nodes = 0", MACHINE, MACH),
    M("node", "index", "the node the shortcut's zone stands for", MACHINE, MACH),
    M("zone", "name", "the shortcut's zone (the last node's highest)", MACHINE, MACH),
    M("node_cpus", "CPUs", "CPUs per node", MACHINE, MACH),
    M("zone_managed_pages", "pages", "managed pages the engine ran: the shortcut's zone, or "
      "every populated zone", MACHINE, MACH, kernel="zoneinfo managed"),
    M("wmark_low", "pages", "the zone's low watermark", MACHINE, MACH, kernel="zoneinfo low"),
    M("machine_throughput_ops_per_s", "ops/s", "throughput of the whole machine (with the "
      "shortcut, nodes x the simulated node's)", DERIVED, RUN),
)

# the run-length control's key metrics (sim/runlength.py): each gets a 95% half-width and a
# warm-up truncation point of its own. nr_free_pages_mean is among them because a machine whose
# page cache is still filling its zone is not in its steady state, however flat %sys looks
# meanwhile (filecache, kbuild: a window taken while memory fills compares a run before reclaim
# with one in it)
KEY_METRICS = ("sys_frac", "throughput_ops_per_s", "zone_lock_wait_frac", "pcp_pages_mean",
               "pcp_high_mean", "nr_free_pages_mean")



def _unit(name: str) -> str:
    return next(m.unit for m in FIELDS if m.name == name)


STEADY_FIELDS: tuple[Metric, ...] = (
    M("warmup_ns", "ns", "where the measured window starts", STEADY, STEADY_G),
    M("window_ns", "ns", "the measured window's length", STEADY, STEADY_G),
    M("stationary", "bool", "every key metric is stationary in the window", STEADY, STEADY_G),
    M("stop_reason", "text", "precision, cap or fixed", STEADY, STEADY_G),
    M("precision_met", "bool", "every key metric's half-width is within the precision", STEADY,
      STEADY_G),
    M("steady_note", "text", "why the run is or is not stationary", STEADY, STEADY_G),
    *(M(f"{k}_ci95", _unit(k), f"95% half-width of {k} (batch means)", STEADY, STEADY_G)
      for k in KEY_METRICS),
    M("kernel_sys_frac_ci95", "fraction", "95% half-width of kernel_sys_frac", STEADY, STEADY_G),
    M("ci_batch_ns", "ns", "length of a batch of the batch means", STEADY, STEADY_G),
    *(M(f"warmup_{k}_ns", "ns", f"warm-up truncation point MSER-5 finds on {k} (-1: none)", STEADY,
        STEADY_G) for k in KEY_METRICS),
    M("warmup_pcp_high_converged_ns", "ns", "when pcp->high stopped moving (-1: never)", STEADY,
      STEADY_G),
)

CORE: tuple[Metric, ...] = tuple(m for m in EVENTS if m.record) + FIELDS + STEADY_FIELDS
BY_NAME: dict[str, Metric] = {m.name: m for m in EVENTS + FIELDS + STEADY_FIELDS}
assert len(BY_NAME) == len(EVENTS) + len(FIELDS) + len(STEADY_FIELDS), "a name said twice"
assert all(k in BY_NAME for k in KEY_METRICS)
assert all(m.source in SOURCES for m in BY_NAME.values())
assert all(m.better for m in BY_NAME.values() if m.watched)
assert all(m.series in SAMPLE_NAMES for m in BY_NAME.values() if m.source == GAUGE)


def gains() -> tuple[tuple[Metric, Gain], ...]:
    """Every (metric, gain) pair, in catalogue order: the `gains` view's columns."""
    return tuple((m, m.gain) for m in CORE if m.gain is not None)


def headline() -> tuple[tuple[Metric, Gain], ...]:
    return tuple((m, g) for m, g in gains() if g.role == _HEAD)


def costs() -> tuple[Metric, ...]:
    return tuple(m for m in CORE if m.cost)


def rates() -> dict[str, int]:
    """metric -> +1 / -1 (higher / lower is better): what `regress` checks and `compare` shows
    (rates, never counts: an auto point's window has its own length)."""
    return {m.name: m.better for m in CORE if m.watched}


def groups() -> dict[str, tuple[str, ...]]:
    """group -> record fields, in catalogue order (the terminal view)."""
    out: dict[str, list[str]] = {STEADY_G: []}  # what the window is, first
    for m in CORE:
        out.setdefault(m.group, []).append(m.name)
    return {g: tuple(v) for g, v in out.items()}
