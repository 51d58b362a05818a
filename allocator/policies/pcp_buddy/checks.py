"""pcp-buddy's own invariants, in plain Python over the arrays (see allocator/mm/invariants.py):
an owned block has exactly one owner and is counted once; a fragment block is on exactly one
owned_blocks list, its owner's; every PagePCPBuddy page sits on an owned list of its block
owner's PCP, cached pages on cached lists; fresh pages are a prefix of their owned list."""

from __future__ import annotations

from typing import Any

import numpy as np

from allocator.core.consts import NODE_PCP_FRESH, NODE_PCP_OWNED, PAGEBLOCK_NR_PAGES
from allocator.core.layout import ZC_L_PCP0, ZC_NR_CPUS, ZC_PCP_NLISTS
from allocator.mm.invariants import node_pfn, walk


def check_pcp_buddy(z: Any, ps: Any) -> list[str]:
    errors: list[str] = []
    agents = int(z.zc[ZC_NR_CPUS]) + 1
    heads = len(ps.olen)
    for a in range(agents):
        n = int(np.count_nonzero(ps.owner == a))
        if n != int(ps.owned[a]):
            errors.append(f"agent {a} owns {n} blocks but counts {int(ps.owned[a])}")
    if int(np.count_nonzero(ps.owner >= 0)) != int(ps.owned[agents]):
        errors.append("the total of owned blocks does not match the owners")

    listed = 0
    for head in range(heads):
        agent = head // ps.nl
        nodes = []
        node = int(ps.onxt[head])
        while node != head and len(nodes) <= len(ps.owner):
            nodes.append(node)
            node = int(ps.onxt[node])
        if len(nodes) != int(ps.olen[head]):
            errors.append(f"owned_blocks[{head}] holds {len(nodes)}, counts {int(ps.olen[head])}")
        for node in nodes:
            pb = node - heads
            if int(ps.olist[node]) != head:
                errors.append(f"block {pb} is on owned_blocks[{head}] but says {ps.olist[node]}")
            if int(ps.owner[pb]) != agent:
                owner = int(ps.owner[pb])
                errors.append(f"fragment block {pb} on CPU {agent}'s list is owned by {owner}")
        listed += len(nodes)
    if listed != int(np.count_nonzero(ps.olist[heads:] >= 0)):
        errors.append("a block claims an owned_blocks list it is not on")

    per_agent = int(z.zc[ZC_PCP_NLISTS])
    owned_states = (NODE_PCP_OWNED, NODE_PCP_FRESH)
    for a in range(agents):
        for pindex in range(per_agent):
            owned_list = pindex >= per_agent // 2
            lst = int(z.zc[ZC_L_PCP0]) + a * per_agent + pindex
            seen_settled = False
            for node in walk(z, lst, len(z.nxt)):
                state = int(z.nstate[node])
                if (state in owned_states) != owned_list:
                    errors.append(f"node {node} in state {state} on PCP {a} list {pindex}")
                    continue
                if state == NODE_PCP_FRESH and seen_settled:
                    errors.append(f"fresh node {node} after a settled one on PCP {a} {pindex}")
                seen_settled |= state != NODE_PCP_FRESH
                if state in owned_states:
                    pb = node_pfn(z, node) // PAGEBLOCK_NR_PAGES
                    if int(ps.owner[pb]) != a:
                        errors.append(
                            f"owned page of block {pb} on CPU {a}'s PCP, owner {int(ps.owner[pb])}"
                        )
    return errors
