"""Validation (issue 7, item 1): `sweep describe` against the kernel's boot arithmetic over a
table of machines, 1 GiB to 16 TiB and 1 to 4096 CPUs. The expected values are computed here
from the kernel's C, written out again line by line (mm/page_alloc.c v6.12:
calculate_min_free_kbytes(), __setup_per_zone_wmarks(), zone_batchsize(), zone_highsize();
mm/khugepaged.c set_recommended_min_free_kbytes()), one node with one ZONE_NORMAL holding all
of memory, THP enabled, default sysctls. Tolerance: none."""

import json
import math

import pytest

from .cli_run import run

PAGE_SHIFT = 12
PAGEBLOCK_ORDER = 9
MIGRATE_PCPTYPES = 3
WATERMARK_SCALE_FACTOR = 10  # vm.watermark_scale_factor default
MIN_PERCPU_PAGELIST_HIGH_FRACTION = 8


def kernel_boot(nr_cpus, mem_bytes):
    managed = mem_bytes >> PAGE_SHIFT
    # calculate_min_free_kbytes(): lowmem_kbytes = nr_free_buffer_pages() * (PAGE_SIZE >> 10);
    # new_min_free_kbytes = int_sqrt(lowmem_kbytes * 16), clamped to [128, 262144]. At
    # init_per_zone_wmark_min() the high watermark is still 0, so nr_free_buffer_pages() is
    # all managed pages.
    new_min = math.isqrt(managed * (4096 >> 10) * 16)
    min_free_kbytes = min(max(new_min, 128), 262144)

    def wmarks(min_free_kbytes):
        # __setup_per_zone_wmarks(): pages_min = min_free_kbytes >> (PAGE_SHIFT - 10); one
        # lowmem zone takes all of it; tmp = max(min / 4, mult_frac(managed, wsf, 10000))
        pages_min = min_free_kbytes >> (PAGE_SHIFT - 10)
        tmp = max(pages_min >> 2, managed * WATERMARK_SCALE_FACTOR // 10000)
        return pages_min, pages_min + tmp, pages_min + 2 * tmp

    _, _, high = wmarks(min_free_kbytes)
    # set_recommended_min_free_kbytes(): pageblock_nr_pages * nr_zones * 2, plus
    # pageblock_nr_pages * nr_zones * MIGRATE_PCPTYPES^2, at most 5% of nr_free_buffer_pages()
    # (managed minus the high watermark); raises min_free_kbytes only upward.
    recommended = (1 << PAGEBLOCK_ORDER) * (2 + MIGRATE_PCPTYPES * MIGRATE_PCPTYPES)
    recommended = min(recommended, (managed - high) // 20)
    min_free_kbytes = max(min_free_kbytes, recommended << (PAGE_SHIFT - 10))
    wmark_min, wmark_low, wmark_high = wmarks(min_free_kbytes)
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
