"""Parsing shared by the commands: `--set KEY=VALUE` pairs and the machine's shape
(`--cpus`, `--mem`, `--nodes`, `--zoneinfo FILE`) into a flat spec mapping."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from allocator.params.errors import SpecError


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


def load_zoneinfo(path: str) -> Any:
    """A real /proc/zoneinfo the model can lay out (sweep.zoneinfo.Zoneinfo), or one line
    saying why not."""
    from ..zoneinfo import read_zoneinfo

    zi = read_zoneinfo(path)
    if zi.unsupported():
        raise SpecError(f"{path}: cannot lay out this machine: {zi.unsupported()}")
    return zi


def machine_flat(cpus: int | None, mem: str | None, nodes: int | None,
                 zi: Any = None) -> dict[str, object]:
    """The machine's flat keys. With `zi` (load_zoneinfo), a machine shaped like that file:
    its managed pages per node and zone (`zone_pages`) and its CPUs, unless --cpus is given."""
    flat: dict[str, object] = {}
    if zi is not None:
        from allocator.mm.topology import format_zone_pages

        flat["zone_pages"] = format_zone_pages(zi.zone_pages())
        flat["cpus"] = zi.cpus
    elif cpus is None or mem is None:
        raise SpecError("give --cpus and --mem, or --zoneinfo FILE")
    for key, value in (("cpus", cpus), ("mem", mem), ("nodes", nodes)):
        if value is not None:
            flat[key] = value
    return flat
