"""pcp-buddy's knobs, counters, gauges and state (the RFC 1/2 pageblock_data side)."""

from __future__ import annotations

from allocator.core.catalogue import Metric
from allocator.core.consts import PAGEBLOCK_ORDER
from allocator.core.layout import EV_POLICY0
from allocator.core.structs import state_struct
from allocator.params.knobs import NR_ENGINE_KNOBS, Knob

NR_BUDDY_ORDERS = PAGEBLOCK_ORDER + 1  # PCP lists for orders 0..9, per migratetype

# --- knobs (indices after the engine's) -----------------------------------------------------
KNOBS = (
    Knob(
        "block_fit",
        0,
        0,
        1,
        "How 'a whole block fits the pcp->high limit' is read. 0: count + 512 <= high, with "
        "high as nr_pcp_alloc() just raised it (the cover letter's wording, and it makes small "
        "or pressured machines degrade); 1: 512 <= high_max, whatever the current count.",
    ),
    Knob(
        "remote_free_trylock",
        0,
        0,
        1,
        "How a free reaches a remote owner's PCP. 0: spin on the owner's pcp->lock (a real "
        "spinlock since v6.0, which remote drains already take); 1: trylock, and on failure "
        "free the page straight to the zone.",
    ),
    Knob(
        "remote_free_lines",
        2,
        0,
        16,
        "Cache lines a remote free moves besides the lock's (the list head and pcp->count).",
    ),
    Knob(
        "merge_mode",
        0,
        0,
        1,
        "When owned buddies merge on the PCP. 0: RFC 2/2, 'on drain, a bottom-up merge pass "
        "runs first under pcp->lock, and only then are the (now larger) chunks freed': every "
        "owned page freed since the last pass checks its buddy, merges climbing as far as they "
        "go; between drains, allocations reuse the freed (cache-hot) pages as they are. 1: "
        "eager merging on every free, as __free_one_page() does in the zone.",
    ),
    Knob(
        "owned_list_per_mt",
        0,
        0,
        1,
        "0: one owned_blocks list per CPU, phase 0 skipping blocks of other types (the patch; "
        "Johannes: the list is short); 1: one list per migratetype (Rik van Riel's suggestion).",
    ),
    Knob(
        "drain_all_disowns",
        1,
        0,
        1,
        "drain_all_pages() (reclaim retries, and in the kernel isolation and CPU hotplug): 1 "
        "disowns every block whose pages it returns and empties the CPU's owned_blocks, so the "
        "zone can merge and hand them out (the caller wants memory back); 0 keeps ownership.",
    ),
    Knob(
        "phase2",
        1,
        0,
        1,
        "Phase 2 of the refill (sub-pageblock chunks of the wanted type, split on the PCP); "
        "0 skips it, for comparison.",
    ),
    Knob(
        "high_growth",
        0,
        0,
        1,
        "How pcp->high auto-tunes up under pcp-buddy (the RFC does not touch nr_pcp_alloc()). "
        "0: as the unmodified nr_pcp_alloc() does, one raise of batch << alloc_factor per "
        "refill; a refill of a whole block brings 512+ pages, so refills are rare and high "
        "grows slowly (upstream raises it by about what each refill brings). 1: raise high by "
        "the pages the refill obtained, so it grows with the volume taken from the zone as "
        "upstream's does. Default 0: the patch leaves nr_pcp_alloc() as it is. (Pinning high "
        "for both policies is the sysctl knob percpu_pagelist_high_fraction.)",
    ),
    Knob(
        "merge_scope",
        0,
        0,
        2,
        "How far the merge pass before a drain goes. 0: every owned page freed since the last "
        "pass (RFC 2/2: 'a bottom-up merge pass runs first'); what the drain does not free is "
        "split again on the next allocations. 1: bottom-up until the pass has visited as many "
        "fresh pages as the drain will free. 2: only pages whose whole pageblock is free on "
        "the PCP (the merges that can give a block back); the others wait for a later pass. "
        "Default 0, the RFC's wording.",
    ),
)
K_BLOCK_FIT = NR_ENGINE_KNOBS + 0
K_REMOTE_FREE_TRYLOCK = NR_ENGINE_KNOBS + 1
K_REMOTE_FREE_LINES = NR_ENGINE_KNOBS + 2
K_MERGE_MODE = NR_ENGINE_KNOBS + 3
K_OWNED_LIST_PER_MT = NR_ENGINE_KNOBS + 4
K_DRAIN_ALL_DISOWNS = NR_ENGINE_KNOBS + 5
K_PHASE2 = NR_ENGINE_KNOBS + 6
K_HIGH_GROWTH = NR_ENGINE_KNOBS + 7
K_MERGE_SCOPE = NR_ENGINE_KNOBS + 8
assert KNOBS[K_MERGE_SCOPE - NR_ENGINE_KNOBS].name == "merge_scope"
HIGH_GROWTH_PAGES = 1
MERGE_SCOPE_TARGET = 1
MERGE_SCOPE_WHOLE = 2

# --- counters (EV_POLICY0 + i) and gauges (S_POLICY0 + i) -----------------------------------
# each documented once, as the metric catalogue documents the engine's (core/catalogue.py)
_E, _G = "event", "gauge"
METRICS = (
    Metric("refills_phase0", "refills", "refills in which phase 0 recovered pages (free pages "
           "of the CPU's owned blocks, taken back from the zone)", _E),
    Metric("refills_phase1", "refills", "refills in which phase 1 claimed whole pageblocks",
           _E),
    Metric("refills_phase2", "refills", "refills in which phase 2 took chunks between the "
           "request's order and a pageblock", _E),
    Metric("refills_phase3", "refills", "refills in which phase 3 fell back to __rmqueue()",
           _E),
    Metric("recovered_pages", "pages", "pages phase 0 took back from the zone", _E),
    Metric("claimed_blocks", "pageblocks", "whole pageblocks phase 1 claimed", _E),
    Metric("whole_blocks_returned", "pageblocks", "reassembled blocks a drain gave back (and "
           "disowned)", _E),
    Metric("fragment_chunks_returned", "chunks", "partial chunks of owned blocks a drain sent to "
           "the zone's tail", _E),
    Metric("blocks_disowned", "pageblocks", "blocks whose ownership ended", _E),
    Metric("pcp_merges", "steps", "buddy merges on a PCP", _E),
    Metric("pcp_splits", "steps", "expand() levels done on a PCP", _E),
    Metric("owned_blocks_peak", "pageblocks", "most blocks owned at once", _E),
    Metric("fragment_blocks_peak", "pageblocks", "most owned blocks in fragments at once", _E),
    Metric("remote_free_fallbacks", "ops", "remote frees that found the owner's lock busy "
           "(trylock knob)", _E),
    Metric("owned_blocks_mean", "pageblocks", "blocks owned by PCPs, mean over the samples", _G,
           series="owned_blocks"),
    Metric("fragment_blocks_mean", "pageblocks", "owned blocks in fragments, mean over the "
           "samples", _G, series="fragment_blocks"),
)
EVENT_NAMES = tuple(m.name for m in METRICS if m.source == _E)
(
    EV_P0,
    EV_P1,
    EV_P2,
    EV_P3,
    EV_RECOVERED,
    EV_CLAIMED,
    EV_WHOLE_RETURNED,
    EV_FRAG_RETURNED,
    EV_DISOWNED,
    EV_MERGES,
    EV_SPLITS,
    EV_OWNED_PEAK,
    EV_FRAG_PEAK,
    EV_REMOTE_FALLBACK,
) = (EV_POLICY0 + i for i in range(len(EVENT_NAMES)))
GAUGE_NAMES = tuple(m.series for m in METRICS if m.source == _G)

PcpBuddyState = state_struct(
    "PcpBuddyState",
    [
        "owner",  # int32[nr_pageblocks]  owning agent, -1 if none
        "onxt",  # int32[H + nr_pageblocks]  owned_blocks links: H sentinels, then one per block
        "oprv",
        "olist",  # int32[H + nr_pageblocks]  which owned_blocks list holds the block, -1 none
        "olen",  # int64[H]
        "nl",  # owned_blocks lists per agent: 1, or 3 (one per migratetype)
        "owned",  # int64[agents + 1]  blocks owned per agent; [agents] is the total
        "pfree",  # int32[nr_pageblocks]  pages of the block free on its owner's PCP
    ],
    __name__,
)
