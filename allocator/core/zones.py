"""Reaching one zone of the machine's tuple of zones (state.py) from compiled code.

Numba lowers `zs[k]` with `k` known only at run time by copying the chosen element through
the stack: a `Zone` is some thirty array structs, and the engine picks a zone several times
per operation. With one zone (the symmetric shortcut, the common case) `zone_at` is `zs[0]`,
chosen when the engine is typed (the tuple's length is part of its type), so that neither
the copy nor a second branch is compiled; with several it is `zs[k]`. Inlined where called.
"""

from __future__ import annotations

from numba import types
from numba.extending import overload


def zone_at(zs, k):
    """zs[k]: the zone `k` of the machine (or its policy state, given the states' tuple)."""
    return zs[k]


def one_zone(zs) -> bool:
    """At typing time: is `zs` (a numba type) a tuple of one zone? Overloads that compile the
    one-zone case alone (zone_at, page_alloc.page_zone_id) ask this."""
    return isinstance(zs, types.UniTuple) and zs.count == 1


@overload(zone_at, inline="always", jit_options={"cache": True})
def _zone_at(zs, k):
    if one_zone(zs):
        return lambda zs, k: zs[0]
    return lambda zs, k: zs[k]
