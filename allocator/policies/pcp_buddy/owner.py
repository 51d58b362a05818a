"""Ownership: a block's owner CPU and the owners' owned_blocks lists of fragment blocks."""

from __future__ import annotations

from allocator.core.jit import njit
from allocator.core.lists import link_add, link_del
from allocator.policies.pcp_buddy.config import EV_DISOWNED, EV_FRAG_PEAK, EV_OWNED_PEAK

# --- ownership ---------------------------------------------------------------------------------


@njit
def owned_head(ps, agent, mt):
    return agent * ps.nl + (mt if ps.nl > 1 else 0)


@njit
def block_node(ps, pb):
    return len(ps.olen) + pb


@njit
def fragment_total(ps):
    return ps.olen.sum()


@njit
def leave_owned_list(ps, pb):
    node = block_node(ps, pb)
    if ps.olist[node] >= 0:
        link_del(ps.onxt, ps.oprv, ps.olist, ps.olen, node)


@njit
def disown(z, ps, pb):
    agent = ps.owner[pb]
    if agent < 0:
        return
    leave_owned_list(ps, pb)
    ps.owner[pb] = -1
    ps.owned[agent] -= 1
    ps.owned[len(ps.owned) - 1] -= 1
    z.ev[EV_DISOWNED] += 1


@njit
def take_ownership(z, ps, pb, agent):
    old = ps.owner[pb]
    if old == agent:
        return
    if old >= 0:
        disown(z, ps, pb)
    ps.owner[pb] = agent
    ps.owned[agent] += 1
    total = ps.owned[len(ps.owned) - 1] + 1
    ps.owned[len(ps.owned) - 1] = total
    if total > z.ev[EV_OWNED_PEAK]:
        z.ev[EV_OWNED_PEAK] = total


@njit
def mark_fragment(z, ps, pb):
    """An owned block has pages in the zone: remember it on its owner's owned_blocks."""
    node = block_node(ps, pb)
    if ps.owner[pb] < 0 or ps.olist[node] >= 0:
        return
    head = owned_head(ps, ps.owner[pb], int(z.pb_mt[pb]))
    link_add(ps.onxt, ps.oprv, ps.olist, ps.olen, head, node, True)
    total = fragment_total(ps)
    if total > z.ev[EV_FRAG_PEAK]:
        z.ev[EV_FRAG_PEAK] = total
