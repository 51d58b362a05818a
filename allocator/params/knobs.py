"""Knobs: kernel sysctls and the model's own choices, each named, with default and reasoning.

The engine's knobs are below. Policies add their own (`Policy.knobs`); a scenario sets any of
them with `knob.<name> = value`. The kernels read them as an int64 array indexed by `K_*`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allocator.params.errors import SpecError


@dataclass(frozen=True)
class Knob:
    name: str
    default: int
    lo: int
    hi: int
    doc: str


ENGINE_KNOBS: tuple[Knob, ...] = (
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
        "free_high_v615",
        1,
        0,
        1,
        "free_high threshold: 1 = batch + high_min / 2 (v6.15+, Nikhil Dhama); 0 = batch "
        "(v6.7-v6.14).",
    ),
    Knob(
        "drain_in_batches",
        1,
        0,
        1,
        "1 = v6.19 (Joshua Hahn's series, v5 as merged): free_frozen_page_commit frees "
        "nr_pcp_free() pages in chunks of `batch`, one zone->lock hold each, dropping and "
        "retaking (trylock) pcp->lock between chunks; decay_pcp_high likewise, pcp->lock taken "
        "per chunk; 0 = one free_pcppages_bulk call for the whole amount (v6.10 .. v6.18). "
        "drain_pages_zone frees batch << pcp_batch_scale_max per pcp->lock hold either way.",
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
        "With nodes > 1: 1 simulates one node and reports the machine as `nodes` copies of it, "
        "exact when the nodes are alike and the workload node-local (every mix here is), up to "
        "cross-node fallback under memory pressure, which balances out between alike nodes. "
        "0 asks for every node simulated with cross-node frees and fallback: not built yet.",
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
K_FREE_HIGH_V615 = 7
K_DRAIN_IN_BATCHES = 8
K_CPUS_PER_SOCKET = 9
K_KSWAPD = 10
K_VMSTAT_INTERVAL_MS = 11
K_PCP_BATCH = 12
K_PCP_HIGH = 13
K_FOLIO_BATCH = 14
K_SYMMETRIC_NODES = 15
NR_ENGINE_KNOBS = len(ENGINE_KNOBS)
assert ENGINE_KNOBS[K_SYMMETRIC_NODES].name == "symmetric_nodes"


def resolve_knobs(
    overrides: dict[str, object], extra: tuple[Knob, ...], known_elsewhere: frozenset[str]
) -> dict[str, int]:
    """Engine knobs plus the policy's `extra` knobs, with overrides applied.

    A knob that belongs to another registered policy (`known_elsewhere`) is accepted and ignored,
    so one scenario can set knobs for every policy it sweeps. Anything else unknown is an error.
    """
    table = {k.name: k for k in (*ENGINE_KNOBS, *extra)}
    values = {k.name: k.default for k in table.values()}
    for name, value in overrides.items():
        knob = table.get(name)
        if knob is None:
            if name in known_elsewhere:
                continue
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
    return values


def knob_array(values: dict[str, int], extra: tuple[Knob, ...]) -> np.ndarray:
    order = [k.name for k in (*ENGINE_KNOBS, *extra)]
    return np.array([values[name] for name in order], dtype=np.int64)
