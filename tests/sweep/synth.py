"""Synthetic result sets with planted effects, written in the store's own layout."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sweep.identity import pair_id, param_id, point_id


def point_row(sweep, mix, policy, cpus, mem, replicate, metrics, sim_version="synthetic",
              nodes=1):
    flat = {"cpus": cpus, "mem": mem, "mix": mix, "policy": policy, "seed": 1000 + replicate,
            "duration": 10_000_000, "warmup": 0, "sample_interval": 1_000_000}
    if nodes != 1:
        flat["nodes"] = nodes
    metrics = {**metrics, "nodes": nodes, "node_cpus": cpus // nodes}  # as every record has
    pid = param_id(flat, replicate)
    return {
        "point_id": point_id(pid, sim_version), "param_id": pid, "sweep": sweep,
        "replicate": replicate, "pair_id": pair_id(flat, replicate), "sim_version": sim_version,
        "cpus": cpus, "mem_bytes": mem, "mix": mix, "policy": policy, "seed": 1000 + replicate,
        "params": json.dumps(flat, sort_keys=True), **metrics,
    }


def base_metrics(rng, noise):
    def jitter(v):
        return float(v * (1 + noise * rng.standard_normal()))

    return {
        "sys_frac": jitter(0.10), "throughput_ops_per_s": jitter(1e7),
        "zone_lock_wait_ns": jitter(1e6), "zone_lock_acq_per_kop": jitter(2.0),
        "alloc_latency_p99_ns": jitter(500.0), "unusable_index_order9": jitter(0.01),
        "pcp_pages_mean": jitter(1e4), "free_pageblocks": jitter(100.0),
        "stationary": True, "stop_reason": "precision", "warmup_ns": 1_000_000_000,
        "window_ns": 2_000_000_000, "zone_lock_wait_frac": jitter(1e-3),
        "sys_frac_ci95": 0.001, "throughput_ops_per_s_ci95": 1e5,
        "zone_lock_wait_frac_ci95": 1e-5,
    }


def write_sweep(root, sweep="synthetic", mixes=("grows", "flat"), cpus=(8, 16, 32, 64, 128),
                mems=(16 << 30, 64 << 30), seeds=3, sys_gain=None, noise=0.01, seed=0,
                scale=None, sim_version="synthetic", nodes=(1,)):
    """Upstream and pcp-buddy points. `sys_gain(mix, cpus, mem)` plants pcp-buddy's %sys
    gain (`sys_gain(mix, cpus, mem, nodes)` with several `nodes`); `scale(mix, policy, cpus,
    mem)` multiplies every metric (for regressions)."""
    rng = np.random.default_rng(seed)
    rows = []
    for mix, c, m, n in itertools.product(mixes, cpus, mems, nodes):
        for r in range(seeds):
            up = base_metrics(rng, noise)
            rfc = dict(up)
            args = (mix, c, m, n) if len(nodes) > 1 else (mix, c, m)
            g = sys_gain(*args) if sys_gain else 0.0
            rfc["sys_frac"] = up["sys_frac"] * (1 - g) * (1 + noise * rng.standard_normal())
            for policy, metrics in (("upstream", up), ("pcp-buddy", rfc)):
                k = scale(mix, policy, c, m) if scale else 1.0
                if k != 1.0:
                    metrics = dict(metrics)
                    metrics["throughput_ops_per_s"] /= k
                    metrics["sys_frac"] *= k
                rows.append(point_row(sweep, mix, policy, c, m, r, metrics, sim_version,
                                      n))
    directory = Path(root) / sweep / "points"
    directory.mkdir(parents=True, exist_ok=True)
    for row in rows:
        pq.write_table(pa.Table.from_pylist([row]),
                       directory / f"{row['param_id']}.{row['point_id']}.parquet")
    return rows
