"""Kernel history: the upstream commits the model can switch, and the kernel versions as presets.

Each `Commit` is a change to mm/page_alloc.c that the model mirrors both ways: with the commit
in, the code as merged; reverted, the code as it was before it (the before/after of each is in
the docstring of the function that reads its switch, allocator/mm/pcp.py, machine.py and
page_alloc.py). A point names a kernel (`kernel = "v6.6"`, default v7.0) and may revert
commits of it (`revert = ["51a755c56dc0"]`), as `git revert` on that tree would.

What each commit's switch does is the kernel's own diff, read in the posted patch named by its
Message-Id (https://lore.kernel.org/r/<id>); ids were checked against a listing of the tree
that merged them (`id_source`). A commit that later code builds on (`needed_by`) cannot be
reverted alone: the later ones are reverted with it or the revert is refused, naming them, as
git would refuse with a conflict.

The compiled kernels read a commit as the knob slot of its `switch` (1 in, 0 reverted); the
slots follow the engine's knobs (knobs.py) and are not user knobs.
"""

from __future__ import annotations

from dataclasses import dataclass

from allocator.params.errors import SpecError


@dataclass(frozen=True)
class Commit:
    id: str  # 12 hex digits
    subject: str
    version: str  # the release that first had it
    author: str
    switch: str  # the knob slot the compiled code reads
    mechanism: str  # what the model does differently with it in
    source: str  # where its before/after code was read
    id_source: str = "mainline"  # how the id is known
    requires: tuple[str, ...] = ()  # commits it builds on


V6_7_SERIES = ("[PATCH -V3 n/9] mm: PCP high auto-tuning, "
               "20231016053002.756205-*-ying.huang@intel.com")

COMMITS: tuple[Commit, ...] = (
    Commit(
        "d8a759b57035", "mm, page_alloc: double zone's batchsize", "v4.19", "Aaron Lu",
        "zone_batch_1m",
        "zone_batchsize() caps a zone's batch at 1 MiB of pages before dividing by 4: "
        "batch 63 on any zone of 1 GiB or more; reverted, at 512 KiB, as v4.18's "
        "zone_batchsize() did: batch 31 (and pcp->high 6 * 31 = 186 with b92ca18e8ca5 "
        "reverted too)",
        "[RFC PATCH] 20180711055855.29072-1-aaron.lu@intel.com (31 to 63); v4.18's "
        "zone_batchsize() read in mm/page_alloc.c (`if (batch * PAGE_SIZE > 512 * 1024)`)",
        id_source="quoted with its subject by later mail: Mel Gorman's reply to Aaron Lu, "
        "2018-10-17, and Liu Shixin's 'mm: add pcp_free to meminfo' threads, 2022-08; not "
        "checked against a listing of Linus's tree"),
    Commit(
        "44042b449872", "mm/page_alloc: allow high-order pages to be stored on the per-cpu lists",
        "v5.14", "Mel Gorman", "pcp_high_order",
        "orders 1..3 and THPs (order 9, with THP on) go through the PCP lists "
        "(pcp_allowed_order()); reverted, only order 0 does and the rest take zone->lock",
        "patch v2 in-reply-to 20210603084621.24109-1-mgorman@techsingularity.net"),
    Commit(
        "b92ca18e8ca5", "mm/page_alloc: disassociate the pcp->high from pcp->batch",
        "v5.14", "Mel Gorman", "pcp_high_zonesize",
        "pcp->high from zone_highsize(): the low watermark shared over the node's CPUs, at "
        "least 4 * batch; reverted, high = 6 * batch (pageset_set_batch(), v5.13: 378 with "
        "batch 63, published-results.md row 40)",
        "20210525080119.5455-3-mgorman@techsingularity.net"),
    Commit(
        "3b12e7e97938", "mm/page_alloc: scale the number of pages that are batch freed",
        "v5.14", "Mel Gorman", "free_factor",
        "a drain frees batch << free_factor pages, free_factor growing by one per drain "
        "without an allocation between (halved by each allocation), within [batch, high - "
        "batch]; reverted, a drain frees batch pages",
        "20210525080119.5455-5-mgorman@techsingularity.net"),
    Commit(
        "c49c2c47dab6", "mm/page_alloc: limit the number of pages on PCP lists when reclaim is "
        "active", "v5.14", "Mel Gorman", "pcp_reclaim_limit",
        "while kswapd reclaims the zone (ZONE_RECLAIM_ACTIVE) a free drains once count "
        "reaches min(4 * batch, high); reverted, high holds during reclaim too",
        "20210525080119.5455-6-mgorman@techsingularity.net"),
    Commit(
        "ca71fe1ad922", "mm, pcp: avoid to drain PCP when process exit", "v6.7", "Huang Ying",
        "free_high_prev_order",
        "free_high (drain on a high-order free) needs the previous free to be high-order too "
        "(PCPF_PREV_FREE_HIGH_ORDER); reverted, any order 1..3 free after a free without an "
        "allocation between drains",
        V6_7_SERIES.replace("n/9", "1/9")),
    Commit(
        "362d37a106dd", "mm, pcp: reduce lock contention for draining high-order pages", "v6.7",
        "Huang Ying", "free_high_batch",
        "with PCPF_FREE_HIGH_BATCH (a CPU's LLC share above 3 * batch pages, "
        "knob.pcpf_free_high_batch) free_high keeps batch pages on the PCP; reverted, the "
        "flag is not looked at",
        V6_7_SERIES.replace("n/9", "3/9")),
    Commit(
        "52166607ecc9", "mm: restrict the pcp batch scale factor to avoid too long latency",
        "v6.7", "Huang Ying", "batch_scale_max",
        "free_factor stops at CONFIG_PCP_BATCH_SCALE_MAX (knob.pcp_batch_scale_max); "
        "reverted, it grows while batch << free_factor < high - batch",
        V6_7_SERIES.replace("n/9", "4/9"), requires=("3b12e7e97938",)),
    Commit(
        "c0a242394cb9", "mm, page_alloc: scale the number of pages that are batch allocated",
        "v6.7", "Huang Ying", "alloc_factor",
        "an order-0 refill takes batch << alloc_factor pages (nr_pcp_alloc()), alloc_factor "
        "growing per refill up to the scale maximum and halved by each free; reverted, a "
        "refill takes batch >> order pages (at least 2)",
        V6_7_SERIES.replace("n/9", "5/9"), requires=("52166607ecc9",)),
    Commit(
        "90b41691b988", "mm: add framework for PCP high auto-tuning", "v6.7", "Huang Ying",
        "pcp_high_bounds",
        "pcp->high_min and pcp->high_max, equal in this commit, so no behaviour of its own; "
        "51a755c56dc0 sets them apart",
        V6_7_SERIES.replace("n/9", "6/9"), requires=("b92ca18e8ca5",)),
    Commit(
        "51a755c56dc0", "mm: tune PCP high automatically", "v6.7", "Huang Ying",
        "pcp_high_autotune",
        "high_max = managed / 8 over the node's CPUs; refills raise pcp->high by their size "
        "(not during reclaim), drains raise it to hold free_factor's batch, free_high lowers "
        "it, decay_pcp_high() lowers it by 1/8 per vmstat interval and frees the excess; a "
        "free_high drain frees batch << 5, not everything; reverted, high = high_min fixed, "
        "no decay",
        V6_7_SERIES.replace("n/9", "7/9"),
        requires=("90b41691b988", "c0a242394cb9", "c49c2c47dab6")),
    Commit(
        "57c0419c5f0e", "mm, pcp: decrease PCP high if free pages < high watermark", "v6.7",
        "Huang Ying", "zone_below_high",
        "an allocation that finds the zone below its high watermark sets ZONE_BELOW_HIGH: "
        "refills stop raising high (instead of only during reclaim) and frees lower it, until "
        "a drain lifts the zone over the mark; reverted, the flag is never set",
        V6_7_SERIES.replace("n/9", "8/9"), requires=("51a755c56dc0",)),
    Commit(
        "6ccdcb6d3a74", "mm, pcp: reduce detecting time of consecutive high order page freeing",
        "v6.7", "Huang Ying", "free_count",
        "free_count counts pages freed since the last allocation (halved by each, capped at "
        "batch << 5): free_high needs free_count >= batch and a drain frees clamp(free_count, "
        "batch, high - batch); reverted, free_factor (3b12e7e97938) does both",
        V6_7_SERIES.replace("n/9", "9/9"), requires=("51a755c56dc0",)),
    Commit(
        "c2f6ea38fc1b", "mm: page_alloc: don't steal single pages from biggest buddy", "v6.15",
        "Johannes Weiner", "fallback_claim_steal",
        "the fallback either claims a whole block (top-down, try_to_steal_block(), half of "
        "it free or compatible) or takes the smallest fallback buddy; reverted "
        "(steal_suitable_fallback(), v6.10 .. v6.14), a request that cannot claim splits the "
        "largest fallback buddy in place, movable requests of low orders excepted (they take "
        "the smallest)",
        "the 6.14-stable review copy of the commit (20250225001023.1494422-2-hannes@cmpxchg.org)"),
    Commit(
        "90abee6d7895", "mm: page_alloc: speed up fallbacks in rmqueue_bulk()", "v6.15",
        "Johannes Weiner", "rmqueue_mode",
        "rmqueue_bulk() keeps the rmqueue_mode (normal, claim, steal) across its loop, so a "
        "refill that had to steal does not search for a block to claim again per page; "
        "reverted, every page of a refill starts at __rmqueue_smallest()",
        "20250407180154.63348-1-hannes@cmpxchg.org (kernel-model.md 2.4 item 5); merged "
        "through mm-hotfixes for 6.15-rc", requires=("c2f6ea38fc1b",)),
    Commit(
        "c544a952ba61", "mm: pcp: increase pcp->free_count threshold to trigger free_high",
        "v6.16", "Nikhil Dhama", "free_high_threshold",
        "free_high needs free_count >= batch + high_min / 2; reverted, batch",
        "[PATCH v3] of 7 Apr 2025 (published-results.md Q10); the LKP report on it names it "
        "in linus/master and benchmarks it against v6.15",
        requires=("6ccdcb6d3a74",)),
    Commit(
        "9adeb58feed4", "mm/page_alloc: batch page freeing in decay_pcp_high", "v6.19",
        "Joshua Hahn", "decay_in_batches",
        "decay_pcp_high() frees the excess in chunks of batch, taking pcp->lock per chunk; "
        "reverted, one free_pcppages_bulk() for all of it",
        "[PATCH v4 2/3] 20251013190812.787205-3-joshua.hahnjy@gmail.com",
        id_source="the mm tree as linux-next of 2025-11-17 carries it (next-20251117); not "
        "checked against Linus's tree", requires=("51a755c56dc0",)),
    Commit(
        "c5ce37dd3564", "mm/page_alloc: batch page freeing in free_frozen_page_commit", "v6.19",
        "Joshua Hahn", "free_in_batches",
        "a drain of free_frozen_page_commit() frees nr_pcp_free() pages in chunks of batch, "
        "one zone->lock hold each, dropping and retaking (trylock) pcp->lock between chunks "
        "and giving up when that fails; reverted, one free_pcppages_bulk() call",
        "[PATCH v4 3/3] 20251013190812.787205-4-joshua.hahnjy@gmail.com",
        id_source="the mm tree as linux-next of 2025-11-17 carries it (next-20251117); not "
        "checked against Linus's tree"),
)

# Releases the presets name, oldest first. A preset holds every commit above of its version or
# an earlier one: v6.12 is v6.7 as far as these switches go, v7.0 is v6.19.
KERNELS: tuple[str, ...] = ("v6.6", "v6.7", "v6.12", "v6.15", "v6.16", "v6.19", "v7.0")
DEFAULT_KERNEL = "v7.0"

BY_ID = {c.id: c for c in COMMITS}
SWITCHES: tuple[str, ...] = tuple(c.switch for c in COMMITS)
assert len(set(SWITCHES)) == len(SWITCHES) and all(len(c.id) == 12 for c in COMMITS)


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.lstrip("v").split("."))


def in_kernel(commit: Commit, kernel: str) -> bool:
    return version_key(commit.version) <= version_key(kernel)


def needed_by(commit_id: str) -> tuple[str, ...]:
    """Every commit that builds on `commit_id`, directly or through others, in table order."""
    out: list[str] = []
    frontier = {commit_id}
    changed = True
    while changed:
        changed = False
        for c in COMMITS:
            if c.id not in out and frontier & set(c.requires):
                out.append(c.id)
                frontier.add(c.id)
                changed = True
    return tuple(c.id for c in COMMITS if c.id in out)


def check_kernel(kernel: str) -> str:
    if kernel not in KERNELS:
        raise SpecError(f"unknown kernel '{kernel}'; known kernels: {', '.join(KERNELS)}")
    return kernel


def commits_in(kernel: str, reverts: tuple[str, ...] = ()) -> tuple[Commit, ...]:
    """The modelled commits present in `kernel` with `reverts` reverted. Refuses an unknown
    kernel or commit, a commit the kernel does not have, and a revert that leaves a commit in
    whose code builds on it."""
    check_kernel(kernel)
    present = [c for c in COMMITS if in_kernel(c, kernel)]
    ids = {c.id for c in present}
    for rid in reverts:
        commit = BY_ID.get(rid)
        if commit is None:
            known = ", ".join(c.id for c in present) or "none"
            raise SpecError(
                f"unknown commit '{rid}' in revert; the commits the model knows in {kernel} "
                f"(12-character ids, `sweep describe --kernel {kernel} --commits`): {known}")
        if commit.id not in ids:
            raise SpecError(
                f"revert {rid}: {kernel} does not have it (it is in {commit.version}: "
                f"{commit.subject})")
    gone = set(reverts)
    for rid in reverts:
        left = [d for d in needed_by(rid) if d in ids and d not in gone]
        if left:
            raise SpecError(
                f"revert {rid}: {', '.join(left)} build{'s' if len(left) == 1 else ''} on it; "
                f"revert {'it' if len(left) == 1 else 'them'} too")
    return tuple(c for c in present if c.id not in gone)


def switch_values(kernel: str, reverts: tuple[str, ...] = ()) -> dict[str, int]:
    """The knob slot of every commit: 1 when in `kernel` less `reverts`, else 0."""
    present = {c.switch for c in commits_in(kernel, reverts)}
    return {s: int(s in present) for s in SWITCHES}


def later_than(kernel: str) -> tuple[str, ...]:
    """The ids of the modelled commits after `kernel`: what turns v7.0 into it."""
    check_kernel(kernel)
    return tuple(c.id for c in COMMITS if not in_kernel(c, kernel))
