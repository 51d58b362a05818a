"""Knobs: kernel sysctls and the model's own choices, each named, with default and reasoning.

The engine's knobs are below. Policies add their own (`Policy.knobs`); a scenario sets any of
them with `knob.<name> = value`. The kernels read them as an int64 array indexed by `K_*`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allocator.params.errors import SpecError
from allocator.params.history import COMMITS, SWITCHES


@dataclass(frozen=True)
class Knob:
    name: str
    default: int
    lo: int
    hi: int
    doc: str


USER_KNOBS: tuple[Knob, ...] = (
    Knob(
        "percpu_pagelist_high_fraction",
        0,
        0,
        1 << 20,
        "vm.percpu_pagelist_high_fraction. 0 (the kernel default) auto-tunes pcp->high between "
        "high_min and high_max; N >= 8 pins high_min = high_max = managed / N / nr_cpus.",
    ),
    Knob(
        "min_free_kbytes",
        0,
        0,
        1 << 40,
        "vm.min_free_kbytes. 0 derives it as the kernel does at boot (int_sqrt(lowmem_kb * 16) "
        "clamped to [128, 262144], raised by khugepaged when THP is on); a value wins.",
    ),
    Knob(
        "watermark_scale_factor",
        10,
        1,
        3000,
        "vm.watermark_scale_factor in units of 0.01% of managed pages (kernel default 10).",
    ),
    Knob(
        "watermark_boost_factor",
        15000,
        0,
        1 << 30,
        "vm.watermark_boost_factor: cap of the boost after fragmenting fallbacks, in 0.01% "
        "of the high watermark (kernel default 15000); 0 disables boosting.",
    ),
    Knob(
        "thp",
        1,
        0,
        1,
        "Transparent huge pages enabled: order-9 PCP lists exist (pcp_allowed_order) and "
        "khugepaged raises min_free_kbytes (set_recommended_min_free_kbytes). 1 as on distros.",
    ),
    Knob(
        "pcp_batch_scale_max",
        5,
        0,
        6,
        "CONFIG_PCP_BATCH_SCALE_MAX: caps alloc_factor and the free batch at batch << N.",
    ),
    Knob(
        "pcpf_free_high_batch",
        1,
        0,
        1,
        "PCPF_FREE_HIGH_BATCH: set when a CPU's share of the LLC exceeds 3 * batch pages "
        "(756 KiB with batch 63). 1, as on current server parts with 1.5-4 MiB LLC per core.",
    ),
    Knob(
        "cpus_per_socket",
        64,
        1,
        1 << 16,
        "CPUs per socket, for the cost of moving a lock's cache line: near when the last "
        "holder shares the socket, far otherwise. 64 approximates a current 2-socket server.",
    ),
    Knob(
        "kswapd",
        1,
        0,
        1,
        "Run kswapd: woken below the low watermark, reclaims file LRU pages until high.",
    ),
    Knob(
        "vmstat_interval_ms",
        1000,
        1,
        1 << 30,
        "vm.stat_interval: period of vmstat_update, which calls decay_pcp_high per CPU.",
    ),
    Knob(
        "pcp_batch",
        0,
        0,
        1 << 16,
        "pcp->batch. 0 derives it (zone_batchsize()); a value replaces it, as the patched "
        "kernels of Huang Ying's batch-size measurements did (calibration.md s2).",
    ),
    Knob(
        "pcp_high",
        0,
        0,
        1 << 30,
        "pcp->high pinned to this many pages (high_min = high_max, no 4 * batch floor), as in "
        "Huang Ying's measurements (2 * batch); 0: zone_highsize() and auto-tuning.",
    ),
    Knob(
        "folio_batch",
        31,
        1,
        255,
        "Pages an unmap, exit or MADV_DONTNEED hands to free_unref_folios() at once (mmu_gather "
        "-> folios_put_refs() fills a folio_batch of FOLIO_BATCH_SIZE = 31, "
        "include/linux/folio_batch.h, v6.10 .. v7.0-rc), which keeps one pcp->lock across them; "
        "reclaim frees its SWAP_CLUSTER_MAX batch the same way. 1 frees page by page.",
    ),
    Knob(
        "symmetric_nodes",
        1,
        0,
        1,
        "1 simulates one zone, the last node's highest, and reports the machine as `nodes` "
        "copies of its node: exact when the nodes are alike and the workload node-local (every "
        "mix here is), up to fallback under memory pressure (into another node, or node 0's "
        "DMA32), which balances out between alike nodes. 0 simulates every populated zone of "
        "every node at once: zonelist fallback, frees of remote pages, numa_* counters, one "
        "kswapd per node (mm/page_alloc.c get_page_from_freelist(), v6.18).",
    ),
    Knob(
        "lru_lock",
        0,
        0,
        1,
        "1 models the node's lruvec->lru_lock beside the allocator's locks: LRU pages (anon "
        "and page cache) join the LRU through a per-CPU folio_batch moved under the lock when "
        "full (folio_add_lru() -> folio_batch_move_lru(), mm/swap.c v6.18) and leave it under "
        "the lock once per free batch (folios_put_refs() -> __page_cache_release()). 0 (the "
        "default until the published tables are rerun with it) leaves the LRU free of cost.",
    ),
    Knob(
        "interleave",
        0,
        0,
        1,
        "1 interleaves every allocation over all nodes, each CPU taking the nodes in turn "
        "(MPOL_INTERLEAVE, numactl --interleave=all; interleave_nodes(), mm/mempolicy.c "
        "v6.18): the preferred node, its zonelist and the numa_* counters follow. Needs "
        "knob.symmetric_nodes = 0. 0 (the default policy) allocates on the CPU's node.",
    ),
)

# Indices into the knob array: engine knobs first, in ENGINE_KNOBS order.
K_PERCPU_PAGELIST_HIGH_FRACTION = 0
K_MIN_FREE_KBYTES = 1
K_WATERMARK_SCALE_FACTOR = 2
K_WATERMARK_BOOST_FACTOR = 3
K_THP = 4
K_PCP_BATCH_SCALE_MAX = 5
K_PCPF_FREE_HIGH_BATCH = 6
K_CPUS_PER_SOCKET = 7
K_KSWAPD = 8
K_VMSTAT_INTERVAL_MS = 9
K_PCP_BATCH = 10
K_PCP_HIGH = 11
K_FOLIO_BATCH = 12
K_SYMMETRIC_NODES = 13
K_LRU_LOCK = 14
K_INTERLEAVE = 15
NR_USER_KNOBS = len(USER_KNOBS)
assert USER_KNOBS[K_SYMMETRIC_NODES].name == "symmetric_nodes"
assert USER_KNOBS[K_LRU_LOCK].name == "lru_lock"
assert USER_KNOBS[K_INTERLEAVE].name == "interleave"

# Then one slot per modelled upstream commit (history.py), 1 when the point's kernel has it:
# set from `kernel` and `revert`, never as knob.<name>.
SWITCH_KNOBS: tuple[Knob, ...] = tuple(
    Knob(c.switch, 1, 0, 1, f"commit {c.id} ({c.version}): {c.subject}") for c in COMMITS
)
ENGINE_KNOBS: tuple[Knob, ...] = (*USER_KNOBS, *SWITCH_KNOBS)
_SLOT = {k.name: i for i, k in enumerate(ENGINE_KNOBS)}
K_PCP_HIGH_ORDER = _SLOT["pcp_high_order"]
K_PCP_HIGH_ZONESIZE = _SLOT["pcp_high_zonesize"]
K_FREE_FACTOR = _SLOT["free_factor"]
K_PCP_RECLAIM_LIMIT = _SLOT["pcp_reclaim_limit"]
K_FREE_HIGH_PREV_ORDER = _SLOT["free_high_prev_order"]
K_FREE_HIGH_BATCH = _SLOT["free_high_batch"]
K_BATCH_SCALE_MAX = _SLOT["batch_scale_max"]
K_ALLOC_FACTOR = _SLOT["alloc_factor"]
K_PCP_HIGH_AUTOTUNE = _SLOT["pcp_high_autotune"]
K_ZONE_BELOW_HIGH = _SLOT["zone_below_high"]
K_FREE_COUNT = _SLOT["free_count"]
K_FALLBACK_CLAIM_STEAL = _SLOT["fallback_claim_steal"]
K_RMQUEUE_MODE = _SLOT["rmqueue_mode"]
K_FREE_HIGH_THRESHOLD = _SLOT["free_high_threshold"]
K_DECAY_IN_BATCHES = _SLOT["decay_in_batches"]
K_FREE_IN_BATCHES = _SLOT["free_in_batches"]
assert len(_SLOT) == len(ENGINE_KNOBS) and set(SWITCHES) <= set(_SLOT)
NR_ENGINE_KNOBS = len(ENGINE_KNOBS)


def resolve_knobs(
    overrides: dict[str, object], extra: tuple[Knob, ...], known_elsewhere: frozenset[str],
    switches: dict[str, int] | None = None,
) -> dict[str, int]:
    """User knobs plus the policy's `extra` knobs, with overrides applied, and the commit
    switches (`switches`, history.switch_values(); all in when not given).

    A knob that belongs to another registered policy (`known_elsewhere`) is accepted and ignored,
    so one scenario can set knobs for every policy it sweeps. Anything else unknown is an error,
    a commit switch named as a knob included.
    """
    table = {k.name: k for k in (*USER_KNOBS, *extra)}
    values = {k.name: k.default for k in table.values()}
    for name, value in overrides.items():
        knob = table.get(name)
        if knob is None:
            if name in known_elsewhere:
                continue
            if name in SWITCHES:
                commit = next(c for c in COMMITS if c.switch == name)
                raise SpecError(
                    f"knob.{name} is commit {commit.id} ({commit.subject}), not a knob; "
                    f"use kernel = \"vX.Y\" or revert = [\"{commit.id}\"]")
            known = ", ".join(sorted({*table, *known_elsewhere}))
            raise SpecError(f"unknown knob 'knob.{name}'; known knobs: {known}")
        if isinstance(value, bool):
            value = int(value)
        if not isinstance(value, int):
            raise SpecError(f"knob.{name} must be an integer, got {value!r}")
        if not knob.lo <= value <= knob.hi:
            raise SpecError(f"knob.{name} must be in [{knob.lo}, {knob.hi}], got {value}")
        values[name] = value
    fraction = values["percpu_pagelist_high_fraction"]
    if 0 < fraction < 8:
        raise SpecError(
            f"knob.percpu_pagelist_high_fraction must be 0 or at least 8 (as the sysctl), "
            f"got {fraction}"
        )
    values.update({k.name: k.default for k in SWITCH_KNOBS})
    values.update(switches or {})
    _check_against_commits(overrides, values)
    return values


# knob -> the commit without which the kernel has no such setting
_KNOB_NEEDS = {
    "percpu_pagelist_high_fraction": "pcp_high_zonesize",
    "pcp_batch_scale_max": "batch_scale_max",
    "pcpf_free_high_batch": "free_high_batch",
}


def _check_against_commits(overrides: dict[str, object], values: dict[str, int]) -> None:
    """A sysctl or config set away from its default on a kernel that does not have it."""
    for knob, switch in _KNOB_NEEDS.items():
        if knob in overrides and not values[switch]:
            default = next(k.default for k in USER_KNOBS if k.name == knob)
            if values[knob] != default:
                commit = next(c for c in COMMITS if c.switch == switch)
                raise SpecError(
                    f"knob.{knob} needs commit {commit.id} ({commit.subject}), which this "
                    "point's kernel does not have (kernel, revert)")


def knob_array(values: dict[str, int], extra: tuple[Knob, ...]) -> np.ndarray:
    order = [k.name for k in (*ENGINE_KNOBS, *extra)]
    return np.array([values[name] for name in order], dtype=np.int64)
