"""What the kernel derives at boot for a machine: min_free_kbytes, watermarks, PCP batch and high.

Each function mirrors the kernel function it is named after (mm/page_alloc.c, mm/khugepaged.c,
v6.10-v7.0; ../shared/reference/kernel-model.md, parts 2.3 and 2.6). The model has one node with
one zone, ZONE_NORMAL, whose managed pages are all of memory (no memmap or kernel reservation).
`sweep describe` prints a `Machine`, to be held against /proc/zoneinfo.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from .consts import (
    MIGRATE_PCPTYPES,
    MIN_PERCPU_PAGELIST_HIGH_FRACTION,
    PAGE_SHIFT,
    PAGEBLOCK_NR_PAGES,
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
    """__setup_per_zone_wmarks() for a single lowmem zone: (min, low, high, promo) in pages."""
    pages_min = min_free_kbytes >> (PAGE_SHIFT - 10)
    wmark_min = pages_min  # this zone's share, pages_min * managed / lowmem_pages: all of it
    gap = max(wmark_min >> 2, mult_frac(managed_pages, watermark_scale_factor, 10000))
    low = wmark_min + gap
    high = low + gap
    return wmark_min, low, high, high + gap


def recommended_min_free_kbytes(managed_pages: int, high_wmark: int) -> int:
    """set_recommended_min_free_kbytes() (khugepaged, THP enabled), for one zone: two
    pageblocks plus MIGRATE_PCPTYPES^2 pageblocks, at most 5% of nr_free_buffer_pages()."""
    nr_zones = 1
    recommended = PAGEBLOCK_NR_PAGES * nr_zones * 2
    recommended += PAGEBLOCK_NR_PAGES * nr_zones * MIGRATE_PCPTYPES * MIGRATE_PCPTYPES
    recommended = min(recommended, max(managed_pages - high_wmark, 0) // 20)
    return recommended << (PAGE_SHIFT - 10)


def zone_batchsize(managed_pages: int) -> int:
    """zone_batchsize(): ~1/1024 of the zone, at most 1 MiB, /4, rounded to 2^n - 1."""
    batch = min(managed_pages >> 10, (1 << 20) >> PAGE_SHIFT)
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


@dataclass(frozen=True)
class Machine:
    """The sizes the kernel derives for one node, one ZONE_NORMAL, `cpus` CPUs."""

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

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def derive_machine(
    cpus: int,
    mem_bytes: int,
    *,
    min_free_kbytes: int = 0,
    watermark_scale_factor: int = 10,
    percpu_pagelist_high_fraction: int = 0,
    thp: int = 1,
    pcp_batch: int = 0,
    pcp_high: int = 0,
) -> Machine:
    """Boot order as in the kernel: init_per_zone_wmark_min() computes min_free_kbytes and the
    watermarks; khugepaged's start raises min_free_kbytes when THP is on and recomputes them;
    a user-set vm.min_free_kbytes wins over both. Each watermark change calls
    zone_pcp_update(), so PCP high follows the final low watermark. `pcp_batch` and `pcp_high`
    replace the derived batch and pin high (calibration kernels), when not 0."""
    managed = mem_bytes >> PAGE_SHIFT
    if min_free_kbytes:
        mfk = min_free_kbytes
    else:
        mfk = calculate_min_free_kbytes(managed)  # watermarks are 0 at this point
        if thp:
            _, _, high, _ = setup_per_zone_wmarks(managed, mfk, watermark_scale_factor)
            mfk = max(mfk, recommended_min_free_kbytes(managed, high))
    wmin, low, high, promo = setup_per_zone_wmarks(managed, mfk, watermark_scale_factor)
    batch = pcp_batch or zone_batchsize(managed)
    if pcp_high:
        high_min = high_max = pcp_high
    elif percpu_pagelist_high_fraction:
        high_min = high_max = zone_highsize(
            managed, low, batch, cpus, percpu_pagelist_high_fraction
        )
    else:
        high_min = zone_highsize(managed, low, batch, cpus, 0)
        high_max = zone_highsize(managed, low, batch, cpus, MIN_PERCPU_PAGELIST_HIGH_FRACTION)
    return Machine(
        cpus=cpus,
        mem_bytes=mem_bytes,
        managed_pages=managed,
        nr_pageblocks=managed // PAGEBLOCK_NR_PAGES,
        min_free_kbytes=mfk,
        wmark_min=wmin,
        wmark_low=low,
        wmark_high=high,
        wmark_promo=promo,
        batch=batch,
        high_min=high_min,
        high_max=high_max,
    )
