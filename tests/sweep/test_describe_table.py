"""Validation (issue 7, item 1): `sweep describe` against the kernel's boot arithmetic over a
table of machines, 1 GiB to 16 TiB and 1 to 4096 CPUs. The expected values are computed here
from the kernel's C, written out again line by line (mm/page_alloc.c v6.12:
calculate_min_free_kbytes(), __setup_per_zone_wmarks(), zone_batchsize(), zone_highsize();
mm/khugepaged.c set_recommended_min_free_kbytes()), over the zones of the model's x86-64
layout (allocator/mm/topology.py: ZONE_DMA of 16 MiB with 3840 pages managed, ZONE_DMA32 of
2 GiB - 16 MiB, the rest ZONE_NORMAL; the layout is the model's choice, the arithmetic is the
kernel's), and of the one-zone layout `zones = "normal"`. THP enabled, default sysctls.
Tolerance: none."""

import json
import math

import pytest

from .cli_run import run

PAGE_SHIFT = 12
PAGEBLOCK_ORDER = 9
MIGRATE_PCPTYPES = 3
WATERMARK_SCALE_FACTOR = 10  # vm.watermark_scale_factor default
MIN_PERCPU_PAGELIST_HIGH_FRACTION = 8


def zones_of(mem_bytes, layout):
    """(managed, present) pages of DMA, DMA32, Normal, Movable on one node."""
    pages = mem_bytes >> PAGE_SHIFT
    if layout == "normal":
        return [(0, 0), (0, 0), (pages, pages), (0, 0)]
    dma32 = min(pages - 4096, ((2 << 30) - (16 << 20)) >> PAGE_SHIFT)
    normal = pages - 4096 - dma32
    return [(3840, 4095), (dma32, dma32), (normal, normal), (0, 0)]


def kernel_boot(nr_cpus, mem_bytes, layout="x86_64"):
    zones = zones_of(mem_bytes, layout)
    lowmem_zones = zones[:3]  # up to gfp_zone(GFP_USER) = ZONE_NORMAL

    def nr_free_buffer_pages(highs):
        # nr_free_zone_pages(): sum of managed - high over the zones, where managed > high
        return sum(max(m - h, 0) for (m, _), h in zip(lowmem_zones, highs, strict=True))

    # calculate_min_free_kbytes(): lowmem_kbytes = nr_free_buffer_pages() * (PAGE_SIZE >> 10);
    # int_sqrt(lowmem_kbytes * 16), clamped to [128, 262144]; watermarks are still 0 then
    new_min = math.isqrt(nr_free_buffer_pages([0, 0, 0]) * (4096 >> 10) * 16)
    min_free_kbytes = min(max(new_min, 128), 262144)

    def wmarks(min_free_kbytes):
        # __setup_per_zone_wmarks(): pages_min = min_free_kbytes >> (PAGE_SHIFT - 10);
        # lowmem_pages = managed of every zone but Movable; each zone gets
        # tmp = pages_min * managed / lowmem_pages; Movable: clamp(managed / 1024, 32, 128);
        # gap = max(tmp >> 2, mult_frac(managed, wsf, 10000)); low = min + gap, high = low + gap
        pages_min = min_free_kbytes >> (PAGE_SHIFT - 10)
        lowmem = sum(m for m, _ in zones[:3])
        out = []
        for i, (managed, _) in enumerate(zones):
            tmp = pages_min * managed // lowmem
            wmin = min(max(managed // 1024, 32), 128) if i == 3 else tmp
            gap = max(tmp >> 2, managed * WATERMARK_SCALE_FACTOR // 10000)
            out.append((wmin, wmin + gap, wmin + 2 * gap))
        return out

    highs = [h for _, _, h in wmarks(min_free_kbytes)[:3]]
    # set_recommended_min_free_kbytes(): nr_zones counts populated zones (present pages) up
    # to gfp_zone(GFP_USER); pageblock_nr_pages * nr_zones * 2, plus pageblock_nr_pages *
    # nr_zones * MIGRATE_PCPTYPES^2, at most nr_free_buffer_pages() / 20; raises only upward
    nr_zones = sum(1 for _, present in lowmem_zones if present)
    recommended = (1 << PAGEBLOCK_ORDER) * nr_zones * (2 + MIGRATE_PCPTYPES * MIGRATE_PCPTYPES)
    recommended = min(recommended, nr_free_buffer_pages(highs) // 20)
    min_free_kbytes = max(min_free_kbytes, recommended << (PAGE_SHIFT - 10))
    marks = wmarks(min_free_kbytes)
    # the engine runs the highest populated zone (Normal, or DMA32 at 2 GiB and below)
    z = 2 if zones[2][0] else 1
    managed = zones[z][0]
    wmark_min, wmark_low, wmark_high = marks[z]
    # zone_batchsize(): batch = min(zone_managed_pages >> 10, SZ_1M / PAGE_SIZE); batch /= 4;
    # if (batch < 1) batch = 1; batch = rounddown_pow_of_two(batch + batch / 2) - 1
    batch = max(min(managed >> 10, (1 << 20) >> PAGE_SHIFT) // 4, 1)
    batch = (1 << (batch + batch // 2).bit_length() - 1) - 1
    # zone_highsize(): high_min from the low watermark, high_max from managed / 8, each
    # divided by the node's CPUs and at least batch << 2
    high_min = max(wmark_low // nr_cpus, batch << 2)
    high_max = max(managed // MIN_PERCPU_PAGELIST_HIGH_FRACTION // nr_cpus, batch << 2)
    return {"managed_pages": managed, "min_free_kbytes": min_free_kbytes,
            "wmark_min": wmark_min, "wmark_low": wmark_low, "wmark_high": wmark_high,
            "batch": batch, "high_min": high_min, "high_max": high_max}


MEMS = {"1GiB": 1 << 30, "16GiB": 16 << 30, "256GiB": 256 << 30, "4TiB": 4 << 40,
        "16TiB": 16 << 40}


@pytest.mark.parametrize("cpus", [1, 2, 64, 1024, 4096])
@pytest.mark.parametrize("mem", list(MEMS))
def test_describe_equals_the_kernel_arithmetic(mem, cpus, capsys):
    code, out, _ = run(["describe", "--cpus", str(cpus), "--mem", mem, "--json"], capsys)
    assert code == 0
    got = json.loads(out)
    want = kernel_boot(cpus, MEMS[mem])
    assert {k: got[k] for k in want} == want


@pytest.mark.parametrize("cpus", [1, 64, 4096])
@pytest.mark.parametrize("mem", ["1GiB", "256GiB", "16TiB"])
def test_describe_one_zone_layout_equals_the_kernel_arithmetic(mem, cpus, capsys):
    code, out, _ = run(["describe", "--cpus", str(cpus), "--mem", mem, "--json",
                        "--set", "zones=normal"], capsys)
    assert code == 0
    got = json.loads(out)
    want = kernel_boot(cpus, MEMS[mem], "normal")
    assert {k: got[k] for k in want} == want
