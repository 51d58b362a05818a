"""Kernel sizing formulas, pinned to values derived by hand from the kernel's functions.

Each case shows its arithmetic: calculate_min_free_kbytes(), __setup_per_zone_wmarks(),
set_recommended_min_free_kbytes() (THP on), zone_batchsize(), zone_highsize().
"""

from allocator import derive_machine
from allocator.mm.machine import mult_frac, zone_batchsize


def test_mult_frac_matches_plain_arithmetic_when_it_fits():
    assert mult_frac(16777216, 10, 10000) == 16777216 * 10 // 10000 == 16777


def test_1gib_4cpus_thp_raises_min_free_kbytes():
    m = derive_machine(4, 1 << 30, zones="normal")
    # managed = 2^30 / 4096 = 262144 pages
    assert m.managed_pages == 262144
    # int_sqrt(262144 * 4 kB * 16) = int_sqrt(16777216) = 4096 kB; khugepaged then asks for
    # (2 + 3 * 3) pageblocks = 11 * 512 = 5632 pages = 22528 kB (below 5% of memory) and wins
    assert m.min_free_kbytes == 22528
    # pages_min = 22528 / 4 = 5632; gap = max(5632 / 4 = 1408, 262144 * 10 / 10000 = 262)
    assert (m.wmark_min, m.wmark_low, m.wmark_high, m.wmark_promo) == (5632, 7040, 8448, 9856)
    # batch: min(262144 >> 10, 256) / 4 = 64; rounddown_pow_of_two(64 + 32) - 1 = 63
    assert m.batch == 63
    # high_min = low / 4 CPUs = 1760; high_max = 262144 / 8 / 4 = 8192
    assert (m.high_min, m.high_max) == (1760, 8192)


def test_64gib_64cpus():
    m = derive_machine(64, 64 << 30, zones="normal")
    # managed = 16777216; int_sqrt(16777216 * 4 * 16) = 32768 kB, above THP's 22528
    assert m.min_free_kbytes == 32768
    # pages_min = 8192; gap = max(2048, mult_frac(16777216, 10, 10000) = 16777)
    assert (m.wmark_min, m.wmark_low, m.wmark_high) == (8192, 8192 + 16777, 8192 + 2 * 16777)
    assert m.batch == 63
    # high_min = 24969 // 64 = 390 (above 4 * 63); high_max = 16777216 / 8 / 64 = 32768
    assert (m.high_min, m.high_max) == (390, 32768)


def test_16tib_4096cpus_clamps_min_free_kbytes():
    m = derive_machine(4096, 16 << 40, zones="normal")
    # managed = 2^32; int_sqrt(2^32 * 4 * 16) = 2^19 = 524288, clamped to 262144 kB
    assert m.managed_pages == 1 << 32
    assert m.min_free_kbytes == 262144
    # pages_min = 65536; gap = max(16384, mult_frac(2^32, 10, 10000) = 4294967)
    assert (m.wmark_min, m.wmark_low, m.wmark_high) == (65536, 4360503, 8655470)
    # high_min = 4360503 // 4096 = 1064; high_max = 2^32 / 8 / 4096 = 131072
    assert (m.batch, m.high_min, m.high_max) == (63, 1064, 131072)


def test_128mib_2cpus_small_zone_batch():
    m = derive_machine(2, 128 << 20, zones="normal")
    # managed = 32768; int_sqrt(32768 * 4 * 16) = int_sqrt(2097152) = 1448 kB
    # watermarks from 1448: pages_min 362, gap max(90, 32) = 90, high = 542
    # THP asks 5632 pages but at most (32768 - 542) / 20 = 1611 pages = 6444 kB
    assert m.min_free_kbytes == 6444
    # pages_min = 1611; gap = max(402, 32) = 402
    assert (m.wmark_min, m.wmark_low, m.wmark_high) == (1611, 2013, 2415)
    # batch: min(32, 256) / 4 = 8; rounddown_pow_of_two(8 + 4) - 1 = 7
    assert m.batch == 7
    # high_min = 2013 // 2 = 1006; high_max = 32768 / 8 / 2 = 2048
    assert (m.high_min, m.high_max) == (1006, 2048)


def test_thp_off_keeps_the_boot_min_free_kbytes():
    m = derive_machine(4, 1 << 30, thp=0, zones="normal")
    # 4096 kB: pages_min 1024, gap max(256, 262) = 262
    assert m.min_free_kbytes == 4096
    assert (m.wmark_min, m.wmark_low, m.wmark_high) == (1024, 1286, 1548)


def test_user_min_free_kbytes_and_scale_factor_win():
    m = derive_machine(
        8, 8 << 30, min_free_kbytes=65536, watermark_scale_factor=100, zones="normal"
    )
    # pages_min = 16384; gap = max(4096, 2097152 * 100 / 10000 = 20971)
    assert (m.wmark_min, m.wmark_low, m.wmark_high) == (16384, 37355, 58326)


def test_percpu_pagelist_high_fraction_pins_high():
    m = derive_machine(64, 64 << 30, percpu_pagelist_high_fraction=8, zones="normal")
    # high_min = high_max = 16777216 / 8 / 64 = 32768: auto-tuning off
    assert m.high_min == m.high_max == 32768
    m = derive_machine(64, 64 << 30, percpu_pagelist_high_fraction=1024, zones="normal")
    # 16777216 / 1024 / 64 = 256, already above the floor of 4 * batch = 252
    assert m.high_min == m.high_max == 256


def test_zone_batchsize_tiny_zone():
    # 64 MiB: min(16384 >> 10, 256) / 4 = 4; rounddown_pow_of_two(4 + 2) - 1 = 3
    assert zone_batchsize(16384) == 3


def test_1gib_x86_64_is_dma_and_dma32():
    m = derive_machine(4, 1 << 30)
    # node 0: DMA takes the first 16 MiB (3840 of 4095 pages managed), DMA32 the other
    # 262144 - 4096 = 258048 pages; no Normal, so the workload runs in DMA32
    assert (m.zone, m.managed_pages, m.nr_pageblocks) == ("DMA32", 258048, 504)
    # int_sqrt((3840 + 258048) * 4 * 16) = 4094 kB; khugepaged counts two populated zones:
    # 2 * 512 * 2 + 2 * 512 * 9 = 11264 pages = 45056 kB, under 5% of (261888 - highs)
    assert m.min_free_kbytes == 45056
    # pages_min 11264 split by managed pages: 11264 * 258048 // 261888 = 11098
    # gap = max(11098 >> 2 = 2774, 258048 * 10 // 10000 = 258)
    assert (m.wmark_min, m.wmark_low, m.wmark_high) == (11098, 13872, 16646)
    # high_min = low / 4 CPUs; high_max = 258048 / 8 / 4
    assert (m.batch, m.high_min, m.high_max) == (63, 3468, 8064)


def test_two_nodes_split_pcp_high_over_the_node_cpus():
    m = derive_machine(64, 128 << 30, nodes=2)
    # the simulated zone is node 1's Normal: 64 GiB, 32 CPUs
    assert (m.node, m.zone, m.cpus, m.managed_pages) == (1, "Normal", 32, 1 << 24)
    # high_max = managed / 8 / CPUs of the node (zone_highsize), not of the machine
    assert m.high_max == (1 << 24) // 8 // 32
    assert m.machine_cpus == 64 and m.nodes == 2
