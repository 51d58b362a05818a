"""`sweep describe`: what the kernel derives for a machine, to hold against /proc/zoneinfo."""

from __future__ import annotations

from allocator import Machine, Spec
from allocator.simulate import machine_for

from .flags import parse_sets


def describe_machine(cpus: int, mem: str, sets: list[str] | None = None) -> Machine:
    flat: dict[str, object] = {"cpus": cpus, "mem": mem}
    for key, value in parse_sets(sets or []).items():
        flat[key] = value
    return machine_for(Spec.from_flat(flat))


ZONEINFO_NAMES = {
    "managed_pages": "managed",
    "wmark_min": "min",
    "wmark_low": "low",
    "wmark_high": "high",
    "wmark_promo": "promo",
    "batch": "batch (pagesets)",
    "high_min": "high_min (pcp->high floor)",
    "high_max": "high_max (pcp->high ceiling)",
}
