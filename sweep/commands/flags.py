"""Parsing shared by the commands: `--set KEY=VALUE` pairs into a flat spec mapping."""

from __future__ import annotations

from collections.abc import Iterable

from allocator.errors import SpecError


def parse_sets(pairs: Iterable[str]) -> dict[str, str]:
    """`["cost.zone_page_ns=30", "knob.thp=0"]` -> {"cost.zone_page_ns": "30", ...}."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key or not value.strip():
            raise SpecError(f"--set expects KEY=VALUE (e.g. cost.zone_page_ns=30), got {pair!r}")
        if key in out:
            raise SpecError(f"--set {key} given twice")
        out[key] = value.strip()
    return out
