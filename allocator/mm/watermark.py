"""Watermark checks (mm/page_alloc.c __zone_watermark_ok, zone_watermark_fast).

No highatomic reserve, no CMA: the unusable part of free memory is 2^order - 1 pages plus the
zone's lowmem_reserve for the allocations' highest zone (ZONE_NORMAL and above: 0 in a Normal
zone, what Normal's pages protect in DMA32 and DMA; setup_per_zone_lowmem_reserve()).
The readers add `watermark_boost` to the stored marks, as
`wmark_pages()` does.
"""

from __future__ import annotations

from allocator.core.consts import MIGRATE_PCPTYPES, NR_PAGE_ORDERS
from allocator.core.jit import njit
from allocator.core.layout import (
    ZC_LOWMEM_RESERVE,
    ZC_NR_FREE_PAGES,
    ZC_WATERMARK_BOOST,
    ZC_WMARK_MIN,
)


@njit
def wmark_pages(z, which):
    """wmark_pages(): ALLOC_WMARK_MIN/LOW/HIGH mark plus the boost."""
    return z.zc[ZC_WMARK_MIN + which] + z.zc[ZC_WATERMARK_BOOST]


@njit
def zone_watermark_ok(z, order, mark):
    """__zone_watermark_ok(): enough free pages above `mark`, and for order > 0 a free entry
    of at least `order` on one of the MIGRATE_PCPTYPES lists."""
    free_pages = z.zc[ZC_NR_FREE_PAGES] - ((1 << order) - 1)
    if free_pages <= mark + z.zc[ZC_LOWMEM_RESERVE]:
        return False
    if order == 0:
        return True
    for o in range(order, NR_PAGE_ORDERS):
        for mt in range(MIGRATE_PCPTYPES):
            if z.nr_free[o, mt] > 0:
                return True
    return False
