"""Which agent runs next: a tournament tree over the agents' simulated clocks.

Not the kernel's scheduler: the event loop's. Each agent (a workload CPU, or kswapd) runs one
operation at a time; the agent whose clock is earliest goes next (engine.run), so the locks see
requests in simulated-time order. `z.tree` holds the tree (leaves from len(tree) / 2, -1 for an
empty leaf), `z.clock` the clocks.
"""

from __future__ import annotations

from allocator.core.jit import njit


@njit
def tree_update(z, agent):
    """Recompute the path from `agent`'s leaf to the root; ties go to the lower agent id."""
    k = (len(z.tree) >> 1) + agent
    k >>= 1
    while k >= 1:
        a = z.tree[2 * k]
        b = z.tree[2 * k + 1]
        if a < 0:
            w = b
        elif b < 0:
            w = a
        elif z.clock[b] < z.clock[a]:
            w = b
        else:
            w = a
        z.tree[k] = w
        k >>= 1
