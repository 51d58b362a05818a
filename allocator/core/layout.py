"""Indices into the simulator's state arrays (compile-time constants in the kernels).

The state is arrays, not objects (see `state.py`). Scalars live in small int64 arrays indexed by
the names below, the way the kernel keeps `zone->vm_stat[]` and `vm_event_states`.
"""

from __future__ import annotations

from allocator.core.catalogue import NR_CORE_EVENTS, SAMPLE_NAMES
from allocator.core.catalogue import event_index as _ev
from allocator.core.catalogue import series_index as _s

# --- zone scalars: Z.zc[...] ------------------------------------------------------------------
ZC_NR_FREE_PAGES = 0  # NR_FREE_PAGES: pages on zone free lists (not on PCPs)
ZC_WMARK_MIN = 1
ZC_WMARK_LOW = 2
ZC_WMARK_HIGH = 3
ZC_WATERMARK_BOOST = 4
ZC_FLAGS = 5  # ZONE_BOOSTED_WATERMARK | ZONE_RECLAIM_ACTIVE | ZONE_BELOW_HIGH
ZC_MANAGED = 6
ZC_NR_PAGEBLOCKS = 7
ZC_PB0 = 8  # first node id of the pageblock nodes
ZC_PG0 = 9  # first node id of the page nodes (512-aligned)
ZC_L_ZONE0 = 10  # free_area[order].free_list[mt] of this zone is list ZC_L_ZONE0 + order * 3 + mt
ZC_LOWMEM_RESERVE = 11  # lowmem_reserve[ZONE_NORMAL]: what allocations up to Normal leave
ZC_PB_FIRST = 12  # the zone's first pageblock in the machine's numbering (slot_pb holds those)
ZC_NUMA_OTHER = 13  # allocated here by a CPU of another node
ZC_PCP_PAGES = 14  # pages on all PCP lists
ZC_PCP_PAGES_PEAK = 15
ZC_NR_CPUS = 16  # workload CPUs
ZC_NR_AGENTS = 17  # workload CPUs + one kswapd per node
ZC_KSWAPD = 18  # agent index of the zone's node's kswapd (NR_CPUS + node)
ZC_L_PCP0 = 19  # first PCP list id
ZC_PCP_NLISTS = 20  # PCP lists per agent (policy-defined)
ZC_L_POL0 = 21  # first policy-private list id
ZC_L_MIX0 = 22  # first mix list id
ZC_NR_LISTS = 23
ZC_NUMA_HIT = 24  # zone_statistics(), allocations: wanted on this node, got here
ZC_NODE = 25  # the zone's node (pg_data_t)
ZC_NUMA_MISS = 26  # wanted on another node, got here
ZC_NUMA_FOREIGN = 27  # wanted on this node (the preferred zone), got elsewhere
ZC_ZONE_ID = 28  # the zone's index in the machine's tuple of zones (node, then zone order)
ZC_ZONE_IDX = 29  # enum zone_type (topology.ZONE_*)
ZC_NUMA_LOCAL = 30  # allocated by a CPU of this zone's node
NR_ZC = 31

# --- per-node scalars: Z.pgdat[node, PG_*] (pg_data_t) -----------------------------------------
PG_KSWAPD_AWAKE = 0
PG_KSWAPD_FAILURES = 1  # pgdat->kswapd_failures
PG_NR_LRU = 2  # pages on the node's file LRU
PG_NR_LRU_PEAK = 3
PG_MANAGED = 4  # the node's managed pages, all zones
PG_KSWAPD = 5  # agent index of the node's kswapd
PG_LRU_ZONE = 6  # the zone (its highest) whose last lock row is the node's lru_lock
PG_L_LRU = 7  # the sentinel of the node's file LRU (one list: inactive and active not split)
PG_ZONELIST = 8  # then the node's zonelist: zone ids in fallback order, -1 after the last
NR_PGDAT = 8  # columns before the zonelist

# --- list ids: sentinel nodes at the start of the machine's one node space (state.py) --------
NR_FREE_LISTS = 33  # per zone: NR_PAGE_ORDERS (11) x MIGRATE_PCPTYPES (3)

# --- per-agent PCP fields: Z.pcp[agent, ...] (struct per_cpu_pages) --------------------------
PCP_COUNT = 0
PCP_HIGH = 1
PCP_HIGH_MIN = 2
PCP_HIGH_MAX = 3
PCP_BATCH = 4
PCP_FLAGS = 5
PCP_ALLOC_FACTOR = 6
PCP_FREE_COUNT = 7
NR_PCP_FIELDS = 8

# --- per-agent engine fields: Z.ag[agent, ...] --------------------------------------------------
AG_SYS_NS = 0  # time spent in the allocator, spinning included
AG_OPS = 1  # completed workload operations (alloc or free)
AG_LAST_OK = 2  # 1 if the agent's last allocation succeeded
AG_NEXT_DECAY = 3  # simulated time of the next vmstat_update (decay_pcp_high)
AG_RECLAIM_NS = 4  # time spent reclaiming (direct reclaim stalls; kswapd's work)
AG_IN_BATCH = 5  # 1 while the agent frees a folio batch (free_unref_folios())
AG_BATCH_LOCK = 6  # the pcp->lock the batch holds across its pages (0: none)
AG_LRU_ADD = 7  # folios in the CPU's lru_add folio_batch, not yet on the LRU (mm/swap.py)
AG_LRU_NS = 8  # time spent moving folios on and off the LRU, lru_lock spinning included
AG_BATCH_ZONE = 9  # the zone whose pcp->lock AG_BATCH_LOCK is
AG_NODE = 10  # the agent's node (numa_node_id()): a CPU's, or the node its kswapd serves
AG_IL_NEXT = 11  # the next node of the CPU's interleaving (knob.interleave; il_next)
NR_AG_FIELDS = 12

# --- lock fields: Z.lk[lock, ...]; lock 0 is zone->lock, lock 1 + a is agent a's pcp->lock, ---
# --- the last one (1 + agents) the node's lruvec->lru_lock (mm/swap.py) ---------------------
LK_NRES = 0  # sections on the lock's timeline (Z.lkres[lock]: start, end pairs)
LK_OWNER = 1  # agent that holds or last held it (-1: never taken)
LK_T0 = 2  # when the current holder asked for it
LK_ACQ = 3
LK_CONTENDED = 4
LK_WAIT_NS = 5
LK_HOLD_NS = 6
LK_TRANSFER = 7  # cache-line transfer the current holder paid
LK_REMOTE = 8  # 1 while a remote CPU holds a pcp->lock
NR_LK_FIELDS = 9
LOCK_ZONE = 0
LOCK_TIMELINE = 32  # sections a lock remembers ahead of the earliest agent

# --- engine scalars: Z.eng[...] ----------------------------------------------------------------
E_NOW = 0  # time cursor of the running agent inside an operation
E_END_NS = 1
E_WARMUP_NS = 2
E_WARMUP_DONE = 3
E_SAMPLE_NS = 4
E_NEXT_SAMPLE = 5
E_NSAMPLES = 6
E_STEPS = 7  # engine steps so far (operations and housekeeping)
E_GMIN = 8  # the earliest agent clock: no lock request can come before it
E_TRACE_N = 9  # events recorded in Z.trace
E_TRACE_LOST = 10  # events not recorded because Z.trace was full
E_SLOTS_FREE = 11  # slots on the free stack (the pool of page nodes is the machine's)
E_SLOTS_CAP = 12
E_SLOTS_PEAK = 13  # most slots in use at once
NR_ENG = 14

# --- recorded events: Z.trace[i, T_*] (kmem tracepoints; off unless a run asks for them) ------
T_TIME = 0
T_CPU = 1
T_EVENT = 2
T_PFN = 3
T_ORDER = 4
T_MT = 5
T_ARG = 6  # percpu_refill for zone_locked; fallback order for extfrag; gfp bits for alloc
NR_T_FIELDS = 7
TR_ALLOC = 1  # mm_page_alloc (pfn -1: failed)
TR_FREE = 2  # mm_page_free
TR_ZONE_LOCKED = 3  # mm_page_alloc_zone_locked
TR_PCPU_DRAIN = 4  # mm_page_pcpu_drain
TR_EXTFRAG = 5  # mm_page_alloc_extfrag (migratetype: the fallback's; arg: fallback order)
# --- event counters: Z.ev[...] (vm_event-like; reset at the end of warm-up) ------------------
# Each index is the counter's place in the metric catalogue (core/catalogue.py EVENTS),
# where its unit, kernel name and meaning are said.
EV_ALLOC_OPS = _ev("alloc_ops")
EV_FREE_OPS = _ev("free_ops")
EV_PGALLOC = _ev("pgalloc")
EV_PGFREE = _ev("pgfree")
EV_ALLOC_FAIL = _ev("alloc_failures")
EV_THP_ALLOC = _ev("thp_alloc_attempts")
EV_THP_FAIL = _ev("thp_alloc_failures")
EV_PCP_ALLOC_HIT = _ev("pcp_alloc_hits")
EV_PCP_ALLOC_MISS = _ev("pcp_alloc_misses")
EV_PCP_REFILL = _ev("pcp_refills")
EV_PCP_REFILL_PAGES = _ev("pcp_refill_pages")
EV_PCP_DRAIN = _ev("pcp_drains")
EV_PCP_DRAIN_PAGES = _ev("pcp_drain_pages")
EV_FREE_HIGH = _ev("pcp_free_high_drains")
EV_PCP_TRYLOCK_FAIL = _ev("pcp_trylock_failures")
EV_ZONE_LOCK_PAGES = _ev("zone_lock_pages")
EV_EXTFRAG_CLAIM = _ev("extfrag_claims")
EV_EXTFRAG_STEAL = _ev("extfrag_steals")
EV_EXTFRAG_FRAGMENTING = _ev("extfrag_fragmenting")
EV_KSWAPD_WAKE = _ev("kswapd_wakeups")
EV_PGSTEAL_KSWAPD = _ev("pgsteal_kswapd")
EV_PGSTEAL_DIRECT = _ev("pgsteal_direct")
EV_ALLOCSTALL = _ev("allocstall")
EV_DRAIN_ALL = _ev("drain_all_pages")
EV_REMOTE_FREE = _ev("remote_frees")
EV_PCP_LOCK_REMOTE = _ev("pcp_lock_remote_acquisitions")
EV_PCP_LOCK_REMOTE_WAIT_NS = _ev("pcp_lock_remote_wait_ns")
EV_DECAY = _ev("pcp_high_decays")
EV_MERGE_STEPS = _ev("merge_steps")
EV_SPLIT_STEPS = _ev("split_steps")
EV_BOOST = _ev("watermark_boosts")
EV_BUDDY_ALLOC = _ev("buddy_allocs")
EV_ZONE_FREE_ONE = _ev("zone_direct_frees")
EV_NUMA_HIT = _ev("numa_hit")
EV_NUMA_MISS = _ev("numa_miss")
EV_NUMA_FOREIGN = _ev("numa_foreign")
EV_NUMA_LOCAL = _ev("numa_local")
EV_NUMA_OTHER = _ev("numa_other")
EV_POLICY0 = NR_CORE_EVENTS  # then 16 counters whose names a policy declares
NR_POLICY_EVENTS = 16
NR_EV = EV_POLICY0 + NR_POLICY_EVENTS

# --- latency histograms: Z.hist[H_*, bucket] --------------------------------------------------
H_ALLOC = 0
H_FREE = 1
HIST_SUB_BITS = 5  # 32 sub-buckets per power of two: values within 1/32 (3%)
HIST_SUB = 1 << HIST_SUB_BITS
NR_HIST_BUCKETS = (64 - HIST_SUB_BITS) * HIST_SUB

# --- time-series sample columns: Z.samples[row, S_*] (catalogue.SERIES order) ---------------
S_T_NS = _s("t_ns")
S_OPS = _s("ops")
S_SYS_NS = _s("sys_ns")
S_NR_FREE_PAGES = _s("nr_free_pages")
S_PCP_PAGES = _s("pcp_pages")
S_FREE_PAGEBLOCKS = _s("free_pageblocks")
S_UNUSABLE_ORDER9_PERMILLE = _s("unusable_index_order9_permille")
S_NR_LRU = _s("nr_lru_pages")
S_ZONE_LOCK_ACQ = _s("zone_lock_acquisitions")
S_ZONE_LOCK_WAIT_NS = _s("zone_lock_wait_ns")
S_PCP_HIGH_MEAN = _s("pcp_high_mean")
S_ZONE_FLAGS = _s("zone_flags")
S_WATERMARK_BOOST = _s("watermark_boost")
S_ALLOC_FAIL = _s("alloc_failures")
S_POLICY0 = len(SAMPLE_NAMES)  # then 4 gauges whose names a policy declares
NR_POLICY_GAUGES = 4
NR_SAMPLE_FIELDS = S_POLICY0 + NR_POLICY_GAUGES
