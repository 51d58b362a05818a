"""What the kernel derives at boot for a machine: min_free_kbytes, watermarks, PCP batch and high.

Each function mirrors the kernel function it is named after (mm/page_alloc.c, mm/khugepaged.c,
v6.10-v7.0; ../shared/reference/kernel-model.md, parts 2.3 and 2.6), over every zone of every
node of a `Topology` (topology.py): `boot_zones` gives each zone's watermarks, lowmem_reserve,
PCP batch and high as /proc/zoneinfo prints them; `Machine` is the one zone the engine runs.
`sweep describe` prints them, and `sweep describe --zoneinfo` holds them against a real file.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from allocator.core.consts import (
    MIGRATE_PCPTYPES,
    MIN_PERCPU_PAGELIST_HIGH_FRACTION,
    PAGE_SHIFT,
    PAGEBLOCK_NR_PAGES,
    SWAP_CLUSTER_MAX,
)
from allocator.mm.topology import (
    GFP_USER_ZONE,
    MAX_NR_ZONES,
    ZONE_MOVABLE,
    Topology,
    ZoneShape,
    build_topology,
)


def mult_frac(x: int, numer: int, denom: int) -> int:
    """include/linux/math.h mult_frac(): x * numer / denom without overflowing."""
    q, r = divmod(x, denom)
    return q * numer + (r * numer) // denom


def rounddown_pow_of_two(n: int) -> int:
    return 1 << (n.bit_length() - 1)


def calculate_min_free_kbytes(nr_free_buffer_pages: int) -> int:
    """calculate_min_free_kbytes(): int_sqrt(lowmem_kbytes * 16), clamped to [128, 262144]."""
    lowmem_kbytes = nr_free_buffer_pages * (1 << (PAGE_SHIFT - 10))
    return min(max(math.isqrt(lowmem_kbytes * 16), 128), 262144)


def setup_per_zone_wmarks(
    managed_pages: int, min_free_kbytes: int, watermark_scale_factor: int
) -> tuple[int, int, int, int]:
    """__setup_per_zone_wmarks() for a machine with a single lowmem zone: (min, low, high,
    promo) in pages. `boot_zones` runs it over every zone."""
    return _zone_wmarks(managed_pages, managed_pages, False, min_free_kbytes >> (PAGE_SHIFT - 10),
                        watermark_scale_factor)


def _zone_wmarks(
    managed: int, lowmem_pages: int, capped: bool, pages_min: int, wsf: int
) -> tuple[int, int, int, int]:
    """One zone's turn in __setup_per_zone_wmarks() (v6.10-v7.0): its share of pages_min by
    managed pages; HighMem and Movable zones (`capped`) get clamp(managed / 1024, 32, 128)."""
    tmp = pages_min * managed // lowmem_pages if lowmem_pages else 0
    wmark_min = min(max(managed // 1024, SWAP_CLUSTER_MAX), 128) if capped else tmp
    gap = max(tmp >> 2, mult_frac(managed, wsf, 10000))
    low = wmark_min + gap
    high = low + gap
    return wmark_min, low, high, high + gap


def recommended_min_free_kbytes(managed_pages: int, high_wmark: int, nr_zones: int = 1) -> int:
    """set_recommended_min_free_kbytes() (khugepaged, THP enabled): per populated zone up
    to gfp_zone(GFP_USER), two pageblocks plus MIGRATE_PCPTYPES^2 pageblocks, at most 5% of
    nr_free_buffer_pages() (`managed_pages` less `high_wmark`, summed over those zones)."""
    recommended = PAGEBLOCK_NR_PAGES * nr_zones * 2
    recommended += PAGEBLOCK_NR_PAGES * nr_zones * MIGRATE_PCPTYPES * MIGRATE_PCPTYPES
    recommended = min(recommended, max(managed_pages - high_wmark, 0) // 20)
    return recommended << (PAGE_SHIFT - 10)


def zone_batchsize(managed_pages: int, batch_1m: int = 1) -> int:
    """zone_batchsize(): ~1/1024 of the zone, at most 1 MiB, /4, rounded to 2^n - 1.
    `batch_1m` 0: at most 512 KiB, the code before d8a759b57035 (v4.19; params/history.py)."""
    cap = (1 << 20) if batch_1m else (512 << 10)
    batch = min(managed_pages >> 10, cap >> PAGE_SHIFT)
    batch //= 4
    batch = max(batch, 1)
    return rounddown_pow_of_two(batch + batch // 2) - 1


def zone_highsize(
    managed_pages: int, low_wmark: int, batch: int, nr_cpus: int, high_fraction: int
) -> int:
    """zone_highsize(): the low watermark (fraction 0) or managed/fraction, split over the
    node's CPUs (cpu_online = 0: the steady state after boot), at least 4 * batch."""
    total = low_wmark if high_fraction == 0 else managed_pages // high_fraction
    return max(total // nr_cpus, batch << 2)


# sysctl_lowmem_reserve_ratio (mm/page_alloc.c): DMA 256, DMA32 256, Normal 32, Movable 0
LOWMEM_RESERVE_RATIO = (256, 256, 32, 0, 0)


@dataclass(frozen=True)
class ZoneBoot:
    """One zone after boot, in /proc/zoneinfo's terms."""

    node: int
    name: str
    idx: int
    managed: int
    present: int
    spanned: int
    min: int
    low: int
    high: int
    promo: int
    protection: tuple[int, ...]  # lowmem_reserve[], as zoneinfo prints it
    batch: int  # pcp->batch: max(1, zone_batchsize())
    high_min: int
    high_max: int

    def as_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["protection"] = list(self.protection)
        return d


@dataclass(frozen=True)
class Boot:
    """Every zone of the machine after boot, and the min_free_kbytes they came from."""

    topology: Topology
    min_free_kbytes: int
    zones: tuple[ZoneBoot, ...]

    def zone(self, node: int, idx: int) -> ZoneBoot:
        return next(z for z in self.zones if z.node == node and z.idx == idx)


def _lowmem(topology: Topology) -> list[ZoneShape]:
    """The zones nr_free_buffer_pages() walks: up to gfp_zone(GFP_USER), every node (the
    fallback zonelist holds them all)."""
    return [z for z in topology.zones if z.idx <= GFP_USER_ZONE]


def nr_free_buffer_pages(topology: Topology, highs: dict[tuple[int, int], int]) -> int:
    """nr_free_zone_pages(gfp_zone(GFP_USER)): managed pages above each zone's high mark."""
    total = 0
    for z in _lowmem(topology):
        high = highs.get((z.node, z.idx), 0)
        if z.managed_pages > high:
            total += z.managed_pages - high
    return total


def _all_wmarks(topology: Topology, mfk: int, wsf: int) -> dict[tuple[int, int], tuple]:
    """__setup_per_zone_wmarks() over for_each_zone(), empty zones included."""
    lowmem = sum(z.managed_pages for z in topology.zones if z.idx != ZONE_MOVABLE)
    pages_min = mfk >> (PAGE_SHIFT - 10)
    return {
        (z.node, z.idx): _zone_wmarks(z.managed_pages, lowmem, z.idx == ZONE_MOVABLE, pages_min,
                                      wsf)
        for z in topology.zones
    }


def lowmem_reserve(topology: Topology, node: int, idx: int,
                   ratios: tuple[int, ...] = LOWMEM_RESERVE_RATIO) -> tuple[int, ...]:
    """setup_per_zone_lowmem_reserve() (v5.10+): zone i keeps back, from an allocation that
    may use zone j > i, the managed pages of zones i+1..j divided by ratio[i]."""
    zones = {z.idx: z for z in topology.node_zones(node)}
    ratio = ratios[idx]
    clear = not ratio or not zones[idx].managed_pages
    out = [0] * MAX_NR_ZONES
    above = 0
    for j in range(idx + 1, MAX_NR_ZONES):
        above += zones[j].managed_pages if j in zones else 0
        out[j] = 0 if clear else above // ratio
    return tuple(out)


def boot_zones(
    topology: Topology,
    *,
    min_free_kbytes: int = 0,
    watermark_scale_factor: int = 10,
    percpu_pagelist_high_fraction: int = 0,
    thp: int = 1,
    pcp_batch: int = 0,
    pcp_high: int = 0,
    pcp_high_zonesize: int = 1,
    pcp_high_autotune: int = 1,
    zone_batch_1m: int = 1,
) -> Boot:
    """Boot order as in the kernel: init_per_zone_wmark_min() computes min_free_kbytes from
    nr_free_buffer_pages() (watermarks still 0) and sets every zone's watermarks and
    lowmem_reserve; khugepaged's start raises min_free_kbytes when THP is on, counting
    populated zones up to Normal, and sets the watermarks again; a user-set
    vm.min_free_kbytes wins over both. Each watermark change calls zone_pcp_update(), so
    PCP high follows the final low watermark, split over the CPUs of the zone's node.
    `pcp_batch` and `pcp_high` replace the derived batch and pin high, when not 0.

    `zone_batch_1m` (d8a759b57035, v4.19) doubles the batch's cap (zone_batchsize()).
    Two commits shape high (params/history.py): `pcp_high_zonesize` (b92ca18e8ca5, v5.14)
    derives it from zone_highsize(), where before it was 6 * batch (pageset_set_batch(),
    v5.13); `pcp_high_autotune` (51a755c56dc0, v6.7) sets high_max to the fraction-8 size,
    where before high_min = high_max (90b41691b988's framework: one fixed high)."""
    wsf = watermark_scale_factor
    if min_free_kbytes:
        mfk = min_free_kbytes
    else:
        mfk = calculate_min_free_kbytes(nr_free_buffer_pages(topology, {}))
        if thp:
            marks = _all_wmarks(topology, mfk, wsf)
            highs = {key: m[2] for key, m in marks.items()}
            nr_zones = sum(1 for z in _lowmem(topology) if z.populated)
            free = nr_free_buffer_pages(topology, highs)
            rec = recommended_min_free_kbytes(free, 0, nr_zones)
            mfk = max(mfk, rec)
    marks = _all_wmarks(topology, mfk, wsf)
    zones = []
    for z in topology.zones:
        wmin, low, high, promo = marks[(z.node, z.idx)]
        raw_batch = pcp_batch or zone_batchsize(z.managed_pages, zone_batch_1m)
        cpus = topology.node_cpus[z.node]
        if pcp_high:
            high_min = high_max = pcp_high
        elif not pcp_high_zonesize:
            high_min = high_max = 6 * max(1, raw_batch)
        elif percpu_pagelist_high_fraction:
            high_min = high_max = zone_highsize(
                z.managed_pages, low, raw_batch, cpus, percpu_pagelist_high_fraction)
        else:
            high_min = zone_highsize(z.managed_pages, low, raw_batch, cpus, 0)
            high_max = zone_highsize(
                z.managed_pages, low, raw_batch, cpus, MIN_PERCPU_PAGELIST_HIGH_FRACTION
            ) if pcp_high_autotune else high_min
        zones.append(ZoneBoot(
            node=z.node, name=z.name, idx=z.idx, managed=z.managed_pages,
            present=z.present_pages, spanned=z.spanned_pages,
            min=wmin, low=low, high=high, promo=promo,
            protection=lowmem_reserve(topology, z.node, z.idx),
            batch=max(1, raw_batch), high_min=high_min, high_max=high_max,
        ))
    return Boot(topology=topology, min_free_kbytes=mfk, zones=tuple(zones))


@dataclass(frozen=True)
class Machine:
    """What the engine runs, with what the kernel derives for it on this machine. By default
    one zone (`Topology.simulated`): `cpus` and `mem_bytes` are the simulated node's CPUs and
    zone. With every node simulated (`simulated_nodes` = `nodes`, knob.symmetric_nodes = 0)
    they are the machine's CPUs and the memory of every populated zone, and the zone fields
    (watermarks, batch, high) stay those of the last node's highest zone, the shortcut's. The
    machine's CPUs and memory are `machine_cpus` and `machine_mem_bytes`, over `nodes` nodes."""

    cpus: int
    mem_bytes: int
    managed_pages: int
    nr_pageblocks: int
    min_free_kbytes: int
    wmark_min: int
    wmark_low: int
    wmark_high: int
    wmark_promo: int
    batch: int
    high_min: int
    high_max: int
    nodes: int = 1
    node: int = 0
    zone: str = "Normal"
    machine_cpus: int = 0
    machine_mem_bytes: int = 0
    simulated_nodes: int = 1

    @property
    def node_cpus(self) -> int:
        """CPUs per simulated node."""
        return self.cpus // self.simulated_nodes

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def machine_from_boot(boot: Boot, mem_bytes: int, full: bool = False) -> Machine:
    """The simulated zone's Machine; with `full`, every populated zone's (Topology.
    populated_zones) over every node."""
    top = boot.topology
    shape = top.simulated()
    z = boot.zone(shape.node, shape.idx)
    nr_pb = z.managed // PAGEBLOCK_NR_PAGES
    cpus = top.node_cpus[z.node]
    if full:
        nr_pb = sum(zs.managed_pages // PAGEBLOCK_NR_PAGES for zs in top.populated_zones())
        cpus = top.cpus
    return Machine(
        cpus=cpus,
        mem_bytes=(nr_pb * PAGEBLOCK_NR_PAGES) << PAGE_SHIFT,
        managed_pages=nr_pb * PAGEBLOCK_NR_PAGES,
        nr_pageblocks=nr_pb,
        min_free_kbytes=boot.min_free_kbytes,
        wmark_min=z.min,
        wmark_low=z.low,
        wmark_high=z.high,
        wmark_promo=z.promo,
        batch=z.batch,
        high_min=z.high_min,
        high_max=z.high_max,
        nodes=boot.topology.nodes,
        node=z.node,
        zone=z.name,
        machine_cpus=boot.topology.cpus,
        machine_mem_bytes=mem_bytes,
        simulated_nodes=top.nodes if full else 1,
    )


# the knobs (sysctls) boot_zones() reads, by the names of its keyword arguments
BOOT_KNOBS = ("min_free_kbytes", "watermark_scale_factor", "percpu_pagelist_high_fraction",
              "thp", "pcp_batch", "pcp_high", "pcp_high_zonesize", "pcp_high_autotune",
              "zone_batch_1m")


def derive_machine(
    cpus: int, mem_bytes: int, *, nodes: int = 1, zones: str = "x86_64", **sysctls: int
) -> Machine:
    """The simulated zone of `cpus` CPUs and `mem_bytes` over `nodes` nodes laid out as
    `zones` (topology.py), after boot_zones() with `sysctls` (BOOT_KNOBS)."""
    return machine_from_boot(boot_zones(build_topology(cpus, mem_bytes, nodes, zones),
                                        **sysctls), mem_bytes)
