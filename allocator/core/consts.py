"""Kernel constants (x86-64, 4 KiB pages) and the layout of the simulator's state arrays.

Module-level integers here are compile-time constants inside the numba kernels.
Sources: ../shared/reference/kernel-model.md, part 2.1 (include/linux/mmzone.h, mm/internal.h).
"""

from __future__ import annotations

# --- page allocator geometry (include/linux/mmzone.h) --------------------------------------
PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
MAX_PAGE_ORDER = 10
NR_PAGE_ORDERS = MAX_PAGE_ORDER + 1
PAGEBLOCK_ORDER = 9  # HPAGE_PMD_ORDER on x86-64
PAGEBLOCK_NR_PAGES = 1 << PAGEBLOCK_ORDER
PAGE_ALLOC_COSTLY_ORDER = 3
HPAGE_PMD_ORDER = 9
SWAP_CLUSTER_MAX = 32  # pages per reclaim batch (include/linux/swap.h)
MAX_RECLAIM_RETRIES = 16  # mm/internal.h

# --- migratetypes (enum migratetype, in kernel order) ----------------------------------------
MIGRATE_UNMOVABLE = 0
MIGRATE_MOVABLE = 1
MIGRATE_RECLAIMABLE = 2
MIGRATE_PCPTYPES = 3
MIGRATETYPE_NAMES = ("Unmovable", "Movable", "Reclaimable")

# --- PCP list layout (order_to_pindex) -------------------------------------------------------
NR_LOWORDER_PCP_LISTS = MIGRATE_PCPTYPES * (PAGE_ALLOC_COSTLY_ORDER + 1)  # 12
NR_PCP_THP = 2  # one list for movable THPs, one for the others (v6.11+)
NR_PCP_LISTS = NR_LOWORDER_PCP_LISTS + NR_PCP_THP  # 14
MIN_PERCPU_PAGELIST_HIGH_FRACTION = 8

# pcp->flags
PCPF_PREV_FREE_HIGH_ORDER = 1
PCPF_FREE_HIGH_BATCH = 2

# zone->flags
ZONE_BOOSTED_WATERMARK = 1
ZONE_RECLAIM_ACTIVE = 2
ZONE_BELOW_HIGH = 4

# alloc_flags (mm/internal.h), the subset the model uses
ALLOC_WMARK_MIN = 0
ALLOC_WMARK_LOW = 1
ALLOC_WMARK_HIGH = 2
ALLOC_WMARK_MASK = 3
ALLOC_KSWAPD = 0x800

# gfp behaviour bits the mixes pass with an allocation (a model of gfp_t, not its values)
GFP_DIRECT_RECLAIM = 1  # __GFP_DIRECT_RECLAIM: may reclaim and retry
GFP_LRU = 2  # the page joins the file LRU and is reclaimable (page cache)
GFP_MOVABLE_PAGE = 4  # the allocated page counts as movable (PageLRU or __PageMovable)

# --- node states: what a head page is (one byte per node) ------------------------------------
NODE_NONE = 0  # not the head of anything: a tail page, or a pageblock that is split
NODE_BUDDY = 1  # PageBuddy: head of a free entry on a zone free list
NODE_PCP = 2  # head of an entry on a PCP list
NODE_ALLOC = 3  # head of an allocated entry, not movable
NODE_ALLOC_MOVABLE = 4  # head of an allocated entry that compaction could move (LRU page)
NODE_PCP_OWNED = 5  # PagePCPBuddy: free on its owner's PCP, may merge there (pcp-buddy)
NODE_PCP_FRESH = 6  # PagePCPBuddy, freed since the PCP's last merge pass (pcp-buddy)

# --- workload operations (what a mix asks the engine to do) ---------------------------------
OP_NONE = 0  # only user time passes
OP_ALLOC = 1  # allocate (order, migratetype, gfp) and link the entry on a mix list (or the LRU)
OP_FREE_OLDEST = 2  # free the entry at the head of a mix list (first allocated)
OP_FREE_NEWEST = 3  # free the entry at the tail of a mix list (last allocated)
# For the two free ops the second field of next_op's tuple (the order, for OP_ALLOC) is how many
# entries to free as one folio batch (free_unref_folios(); mixes.base.free_batch_len()); 0 or 1
# frees one.
LIST_LRU = -1  # list argument of OP_ALLOC: the zone's file LRU

NS_PER_SEC = 1_000_000_000
