"""Reaching one zone of the machine's tuple of zones (state.py) from compiled code.

A `Zone` is one pointer (core/structs.py), so `zs[k]` with `k` known only at run time is a
load; with one zone (the symmetric shortcut, the common case) `zone_at` takes it by a constant
index instead (the tuple's length is a compile-time constant, so the other branch is dead
code) and LLVM can keep the zone's fields in registers across the engine's loop.
"""

from __future__ import annotations

from allocator.core.jit import njit


@njit(inline="always")
def zone_at(zs, k):
    """zs[k]: the zone `k` of the machine (or its policy state, given the states' tuple)."""
    if len(zs) == 1:
        return zs[0]
    return zs[k]
