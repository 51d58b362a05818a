"""The extfrag readings of mm/vmstat.c (v6.18): `fill_contig_page_info()` and
`unusable_free_index()`, one definition for the engine's samples and the run's end record."""

from __future__ import annotations

from allocator.core.jit import njit
from allocator.core.layout import ZC_NR_FREE_PAGES


@njit
def free_blocks_suitable(z, suitable_order):
    """fill_contig_page_info()'s free_blocks_suitable: the free blocks of at least
    2^suitable_order pages, counted in blocks of that order (an order-10 block is two
    pageblocks)."""
    n = 0
    for o in range(suitable_order, z.nr_free.shape[0]):
        for mt in range(z.nr_free.shape[1]):
            n += z.nr_free[o, mt] << (o - suitable_order)
    return n


@njit
def unusable_free_index_permille(z, order):
    """unusable_free_index(): the share of free pages not in blocks of at least 2^order pages,
    x1000 as /sys/kernel/debug/extfrag/unusable_index prints it (1000 with no free memory)."""
    free_pages = z.zc[ZC_NR_FREE_PAGES]
    if free_pages == 0:
        return 1000
    return (free_pages - (free_blocks_suitable(z, order) << order)) * 1000 // free_pages
