"""The zone's buddy lists on hand-built situations: split, merge, tail placement, fallback."""

from allocator.core.consts import (
    MIGRATE_MOVABLE,
    MIGRATE_UNMOVABLE,
    NODE_ALLOC,
    PAGEBLOCK_NR_PAGES,
)
from allocator.core.layout import (
    EV_EXTFRAG_CLAIM,
    EV_EXTFRAG_FRAGMENTING,
    EV_EXTFRAG_STEAL,
    ZC_L_ZONE0,
    ZC_NR_FREE_PAGES,
)
from allocator.core.lists import list_first, list_last
from allocator.mm.buddy import (
    __free_one_page,
    __rmqueue,
    __rmqueue_smallest,
    pfn_node,
)

MOVABLE, UNMOVABLE = MIGRATE_MOVABLE, MIGRATE_UNMOVABLE


def zone_list(z, order, mt):
    return z.zc[ZC_L_ZONE0] + order * 3 + mt


def alloc(z, order, mt):
    pfn = __rmqueue_smallest(z, order, mt)
    assert pfn >= 0
    z.nstate[pfn_node(z, pfn, order)] = NODE_ALLOC
    return pfn


def test_boot_frees_everything_in_max_order_chunks(box):
    z = box.z
    # 64 MiB = 16384 pages = 16 chunks of order 10, all MOVABLE, lowest pfn first
    assert z.nr_free[10, MOVABLE] == 16
    assert z.nr_free[:10].sum() == 0
    assert z.zc[ZC_NR_FREE_PAGES] == 16384
    assert list_first(z, zone_list(z, 10, MOVABLE)) == pfn_node(z, 0, 10)


def test_split_then_merge_restores_the_max_order_chunk(box):
    z = box.z
    pfn = alloc(z, 0, MOVABLE)
    assert pfn == 0
    # expand() left one free entry at each order 0..9, upper halves: 1, 2, 4, ... 512
    assert list(z.nr_free[:10, MOVABLE]) == [1] * 10
    assert z.nr_free[10, MOVABLE] == 15
    assert z.pb_slot[0] >= 0  # the first pageblock is split and has per-page nodes
    __free_one_page(z, pfn, 0, MOVABLE, False)
    assert z.nr_free[10, MOVABLE] == 16 and z.nr_free[:10].sum() == 0
    assert z.pb_slot[0] == -1  # whole again: the slot went back
    assert z.zc[ZC_NR_FREE_PAGES] == 16384


def test_buddy_merge_likely_puts_the_entry_at_the_tail(box):
    z = box.z
    pages = [alloc(z, 0, MOVABLE) for _ in range(8)]
    assert pages == list(range(8))
    __free_one_page(z, 2, 0, MOVABLE, False)
    __free_one_page(z, 3, 0, MOVABLE, False)  # merges with 2 into order 1 at pfn 2
    # pfn 5: buddy 4 allocated, and the order-1 buddy of 4..5 (pfn 6) is allocated too:
    # no merge in sight, so the head
    __free_one_page(z, 5, 0, MOVABLE, False)
    assert list_first(z, zone_list(z, 0, MOVABLE)) == pfn_node(z, 5, 0)
    # pfn 0: buddy 1 allocated, but the order-1 buddy of 0..1 (pfn 2) is free: a merge is
    # likely once 1 frees, so 0 goes to the tail, away from allocations
    __free_one_page(z, 0, 0, MOVABLE, False)
    assert list_last(z, zone_list(z, 0, MOVABLE)) == pfn_node(z, 0, 0)
    assert list_first(z, zone_list(z, 0, MOVABLE)) == pfn_node(z, 5, 0)


def test_unmovable_request_claims_a_whole_free_chunk(box):
    z = box.z
    pfn, _ = __rmqueue(z, 0, UNMOVABLE, 0)
    assert pfn == 0
    # the largest MOVABLE chunk (order 10 at pfn 0) was taken over: both its pageblocks
    assert list(z.pb_mt[:3]) == [UNMOVABLE, UNMOVABLE, MOVABLE]
    assert z.ev[EV_EXTFRAG_CLAIM] == 1 and z.ev[EV_EXTFRAG_FRAGMENTING] == 0
    assert z.nr_free[9, UNMOVABLE] == 1  # the second pageblock, free, now UNMOVABLE


def test_movable_request_steals_a_small_entry_without_retagging(box):
    z = box.z
    nr_pb = box.machine.nr_pageblocks
    # Turn the whole zone UNMOVABLE and allocated, one pageblock at a time.
    blocks = [__rmqueue(z, 9, UNMOVABLE, 0)[0] for _ in range(nr_pb)]
    assert sorted(blocks) == [i * PAGEBLOCK_NR_PAGES for i in range(nr_pb)]
    assert z.zc[ZC_NR_FREE_PAGES] == 0
    # Give back block 0, split it into 512 allocated order-0 pages, free one of them.
    __free_one_page(z, 0, 9, UNMOVABLE, False)
    for _ in range(PAGEBLOCK_NR_PAGES):
        alloc(z, 0, UNMOVABLE)
    __free_one_page(z, 5, 0, UNMOVABLE, False)
    claims = z.ev[EV_EXTFRAG_CLAIM]
    pfn, mode = __rmqueue(z, 0, MOVABLE, 0)
    # claim is pointless below order 4 for a movable request; the steal takes the page
    assert pfn == 5
    assert z.ev[EV_EXTFRAG_STEAL] == 1 and z.ev[EV_EXTFRAG_CLAIM] == claims
    assert z.pb_mt[0] == UNMOVABLE
    assert mode == 2  # RMQUEUE_STEAL: the next call of this rmqueue_bulk starts there
