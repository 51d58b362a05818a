"""Reaching one zone of the machine's tuple of zones (state.py) from compiled code.

Numba lowers `zs[k]` with `k` known only at run time by copying the chosen element through
the stack: a `Zone` is some thirty array structs, and the engine picks a zone several times
per operation, so with one zone (the symmetric shortcut, the common case) that copy alone
tripled the cost of an operation. `zone_at` takes the element by a constant index when the
tuple has one zone (its length is a compile-time constant, so the other branch is dead code);
both are inlined where they are called.
"""

from __future__ import annotations

from allocator.core.jit import njit


@njit(inline="always")
def zone_at(zs, k):
    """zs[k]: the zone `k` of the machine (or its policy state, given the states' tuple)."""
    if len(zs) == 1:
        return zs[0]
    return zs[k]
