"""`pcp-buddy`: the RFC "mm: page_alloc: pcp buddy allocator" (Johannes Weiner, April 2026).

Per-CPU lists grab whole pageblocks, own them, and take back the frees of their pages, so that
buddies meet again in one place and merge under pcp->lock (../shared/rfc/rfc-thread.txt and
../shared/reference/kernel-model.md, part 1). In this model:

- RFC 1/2, struct pageblock_data: the block's migratetype (Z.pb_mt) sits beside its owner CPU
  (`ps.owner`) and its place on the owner's `owned_blocks` list (`ps.olist`, the `cpu_node`).
- Refill (rmqueue_bulk) in four phases, one zone->lock hold: 0) recover this CPU's fragment
  blocks of the wanted migratetype from the zone free lists; 1) claim whole free pageblocks
  while one fits under pcp->high; 2) take free chunks larger than the request but smaller than a
  pageblock, from the wanted migratetype only (no stealing), unowned; 3) classic __rmqueue()
  with fallback. Pages of phases 0 and 1 are owned (PagePCPBuddy: NODE_PCP_OWNED); the rest
  are only cached (NODE_PCP).
- The PCP keeps lists for orders 0..9 per migratetype, one set for owned entries and one for
  cached ones; allocations split larger entries on the PCP (expand() under pcp->lock, outside
  zone->lock). Freshly freed owned pages go to the head of the owned lists, marked fresh, so the
  drain's merge pass visits only them: what was on the PCP at the last pass is merged already.
- A free of a page of an owned block goes to the owner's PCP under the owner's pcp->lock, from
  any CPU; unowned pages free locally as upstream.
- Drain (free_pcppages_bulk): a bottom-up merge pass over the owned entries, under pcp->lock,
  then the chunks go to the zone: a whole reassembled block as one order-9 chunk, which loses
  its owner; a part of an owned block to the tail of the zone free list (FPI_TO_TAIL), its block
  staying owned and going on `owned_blocks` as a fragment block for phase 0.
- Degradation: when no block fits under pcp->high or none is free, phases 2 and 3 fill the
  refill with unowned chunks, and frees of those go to the local PCP as before.

Every point the RFC text leaves open is a knob below, with its default and the reason.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from allocator.core.consts import MIGRATE_PCPTYPES
from allocator.policies.base import Policy, PolicyHooks, register_policy
from allocator.policies.pcp_buddy.checks import check_pcp_buddy
from allocator.policies.pcp_buddy.config import (
    EVENT_NAMES,
    GAUGE_NAMES,
    KNOBS,
    METRICS,
    PcpBuddyState,
)
from allocator.policies.pcp_buddy.hooks import (
    decay_pcp_high,
    drain_pages,
    free_pcp,
    rmqueue_pcplist,
    sample,
)
from allocator.policies.pcp_buddy.lists import OWNED_LISTS


@register_policy
class PcpBuddy(Policy):
    """The RFC: PCPs claim and own whole pageblocks; frees of their pages go back to the owner."""

    name = "pcp-buddy"
    hooks = PolicyHooks(
        rmqueue_pcplist=rmqueue_pcplist,
        free_pcp=free_pcp,
        decay_pcp_high=decay_pcp_high,
        drain_pages=drain_pages,
        sample=sample,
    )
    knobs = KNOBS
    event_names = EVENT_NAMES
    gauge_names = GAUGE_NAMES
    metrics = METRICS
    pcp_lists_per_agent = 2 * OWNED_LISTS

    def init_state(self, z: Any, knobs: dict[str, int]) -> PcpBuddyState:
        nr_pb = len(z.pb_mt)
        agents = len(z.pcp)
        nl = MIGRATE_PCPTYPES if knobs["owned_list_per_mt"] else 1
        heads = agents * nl
        onxt = np.empty(heads + nr_pb, dtype=np.int32)
        onxt[:heads] = np.arange(heads, dtype=np.int32)
        onxt[heads:] = -1
        return PcpBuddyState(
            owner=np.full(nr_pb, -1, dtype=np.int32),
            onxt=onxt,
            oprv=onxt.copy(),
            olist=np.full(heads + nr_pb, -1, dtype=np.int32),
            olen=np.zeros(heads, dtype=np.int64),
            nl=nl,
            owned=np.zeros(agents + 1, dtype=np.int64),
            pfree=np.zeros(nr_pb, dtype=np.int32),
        )

    def check_invariants(self, z: Any, ps: PcpBuddyState) -> list[str]:
        return check_pcp_buddy(z, ps)


__all__ = ["PcpBuddy", "PcpBuddyState"]
