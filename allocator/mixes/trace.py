"""`trace`: replay a real kmem trace's pattern (from `sweep trace import`) under any policy.

What replays is the pattern, not the pages: each allocation's order, migratetype, CPU and time,
and its free's CPU and time (so lifetimes and cross-CPU frees), with the gaps between events
taken from the timestamps (../shared/reference/calibration.md s6). Pfns are remapped: the
simulated allocator picks its own pages. A CPU waits until its next event's time; if the
allocator is slower than the traced machine, the CPU runs behind and catches up in the gaps.

Frees: the kernel frees a given page; the mix frees, on the freeing CPU, the oldest live entry
of the same (order, migratetype) allocated for that CPU, one list per (CPU, class). That page
has the same order and migratetype, and where lifetimes within a class overlap out of order the
pfns differ from the trace's pairing, which replay does not keep anyway. A free whose
allocation has not happened yet (its CPU runs behind) waits up to `free_wait_ns`, then is
dropped (counted in the state's st[:, DROPPED]).

Machine size (`spread`): with spread = 1 (default) the trace's T CPUs are tiled over the
simulated machine: simulated CPU s plays trace CPU s mod T in copy s div T, copies staggered in
time by duration / copies so they are not in lock step; S mod T CPUs stay idle. With spread = 0
only the first T CPUs replay. A machine with fewer CPUs than the trace folds trace CPU c onto
c mod S. `repeat` passes (0: until the run ends), one after the other. Allocations the trace
never frees are freed by their CPU at the end of each pass when `unfreed` = 1 (default: a
repeated trace does not accumulate them), or kept for the whole run when 0.

The pattern reaches the mix as arrays (PATTERN_ARRAYS); the spec keeps the file's path, which
names the point, and sweep reads the file (every worker of a cluster needs it at that path).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from allocator.core.consts import (
    MIGRATE_RECLAIMABLE,
    OP_ALLOC,
    OP_FREE_OLDEST,
    OP_NONE,
)
from allocator.core.jit import njit
from allocator.core.structs import state_struct
from allocator.mixes.base import Mix, MixHooks, Param, kernel_frac_param, mix_list_len, register_mix
from allocator.mm.machine import Machine
from allocator.params.errors import SpecError

# What the mix replays, one array per column, one row per allocation: its time, CPU, order,
# migratetype (UNMOVABLE, MOVABLE or RECLAIMABLE) and gfp bits (core/consts.py GFP_*), its free's
# time and CPU (-1, -1: never freed). The allocator reads no file: sweep's pattern reader
# (sweep/trace/pattern.py read_pattern) turns `sweep trace import`'s file into these, and
# `simulate(spec, inputs={"pattern": arrays})` hands them to the mix.
PATTERN_ARRAYS = ("t_alloc_ns", "cpu", "order", "migratetype", "gfp_bits", "t_free_ns",
                  "cpu_free")

TraceState = state_struct(
    "TraceState",
    [
        "ev_t",
        "ev_free",
        "ev_list",
        "ev_order",
        "ev_mt",
        "ev_gfp",
        "start",
        "end",
        "period",
        "repeat",
        "wait_ns",
        "st",
    ],
    __name__,
)
# st[cpu, ...]
CUR = 0  # next event index
PASS = 1  # pass number
WAITED = 2  # ns waited so far for the current free
DROPPED = 3  # frees dropped after waiting
_NF = 4
_IDLE_NS = 1_000_000_000
_POLL_NS = 1_000


@njit
def next_op(z, ms, cpu):
    st = ms.st
    if ms.start[cpu] == ms.end[cpu]:
        return OP_NONE, 0, 0, 0, 0, _IDLE_NS
    i = st[cpu, CUR]
    if i == ms.end[cpu]:
        if ms.repeat and st[cpu, PASS] + 1 >= ms.repeat:
            return OP_NONE, 0, 0, 0, 0, _IDLE_NS
        st[cpu, PASS] += 1
        i = ms.start[cpu]
        st[cpu, CUR] = i
    t = ms.ev_t[i] + st[cpu, PASS] * ms.period
    now = z.clock[cpu]
    if now < t:
        return OP_NONE, 0, 0, 0, 0, t - now
    lst = ms.ev_list[i]
    if not ms.ev_free[i]:
        st[cpu, CUR] = i + 1
        return OP_ALLOC, ms.ev_order[i], ms.ev_mt[i], ms.ev_gfp[i], lst, 0
    if mix_list_len(z, lst) > 0:
        st[cpu, CUR] = i + 1
        st[cpu, WAITED] = 0
        return OP_FREE_OLDEST, 0, 0, 0, lst, 0
    if st[cpu, WAITED] < ms.wait_ns:  # the allocating CPU runs behind: wait for it
        st[cpu, WAITED] += _POLL_NS
        return OP_NONE, 0, 0, 0, 0, _POLL_NS
    st[cpu, CUR] = i + 1
    st[cpu, WAITED] = 0
    st[cpu, DROPPED] += 1
    return OP_NONE, 0, 0, 0, 0, 0


def check_pattern(p: Any) -> dict[str, np.ndarray]:
    """The pattern's arrays as the mix takes them, or a one-line SpecError."""
    if not isinstance(p, Mapping):
        raise SpecError("mix.trace.pattern: the allocator reads no file; pass the pattern's "
                        "arrays: simulate(spec, inputs={'pattern': "
                        "sweep.trace.pattern.read_pattern(path)})")
    missing = [c for c in PATTERN_ARRAYS if c not in p]
    if missing:
        raise SpecError(f"mix.trace.pattern: arrays missing: {', '.join(missing)} (needs "
                        f"{', '.join(PATTERN_ARRAYS)})")
    out = {c: np.asarray(p[c], dtype=np.int64) for c in PATTERN_ARRAYS}
    if len({len(v) for v in out.values()}) != 1:
        raise SpecError("mix.trace.pattern: its arrays differ in length")
    if not len(out["t_alloc_ns"]):
        raise SpecError("mix.trace.pattern: the pattern holds no allocation")
    bad = (out["migratetype"] < 0) | (out["migratetype"] > MIGRATE_RECLAIMABLE)
    if bad.any():
        raise SpecError("mix.trace.pattern: migratetype must be 0, 1 or 2 (UNMOVABLE, MOVABLE, "
                        "RECLAIMABLE)")
    return out


@register_mix
class Trace(Mix):
    """Replay an imported kmem trace (sweep trace import): orders, migratetypes, CPUs,
    lifetimes and gaps, tiled over the machine."""

    name = "trace"
    params = (
        kernel_frac_param(
            0.1,
            "an estimate; set it from the traced machine's own %sys",
        ),
        Param("pattern", "", "path", "pattern file written by `sweep trace import`"),
        Param(
            "spread", 1, "int", "1: tile the trace's CPUs over the machine; 0: first T only", hi=1
        ),
        Param("repeat", 0, "int", "passes over the trace (0: until the run ends)"),
        Param(
            "unfreed",
            1,
            "int",
            "1: free what the trace never frees at each pass's end; 0: keep it",
            hi=1,
        ),
        Param("free_wait_ns", "1ms", "ns", "how long a free waits for its allocation"),
    )
    hooks = MixHooks(next_op=next_op)
    _classes = 0  # (order, migratetype) classes of the pattern: known once build() has run

    def lists(self, nr_cpus: int) -> int:
        if not self._classes:
            raise RuntimeError("trace: lists() before build(): the pattern's classes decide it")
        return nr_cpus * self._classes

    def build(self, machine: Machine, values: dict) -> TraceState:
        p = check_pattern(values["pattern"])
        ncpu = machine.cpus
        t_cpus = int(max(p["cpu"].max(), p["cpu_free"].max())) + 1
        duration = int(max(p["t_alloc_ns"].max(), p["t_free_ns"].max()))
        period = duration + 1
        keys = p["order"].astype(np.int64) * 16 + p["migratetype"].astype(np.int64) + 1
        classes, cls = np.unique(keys, return_inverse=True)
        self._classes = len(classes)
        copies = max(1, ncpu // t_cpus) if values["spread"] else 1
        freed = p["t_free_ns"] >= 0
        ends = values["unfreed"] == 1
        t_free = np.where(freed, p["t_free_ns"], duration)
        c_free = np.where(freed, p["cpu_free"], p["cpu"])
        has_free = freed | ends

        cpu_parts, t_parts, free_parts, list_parts, idx_parts = [], [], [], [], []
        for k in range(copies):
            off = k * period // copies

            def sim(c, k=k):
                return (c + k * t_cpus) if t_cpus * copies <= ncpu else c % ncpu

            a, f = sim(p["cpu"]), sim(c_free)
            lst = f * self._classes + cls
            rows = np.arange(len(a))
            cpu_parts += [a, f[has_free]]
            t_parts += [p["t_alloc_ns"] + off, t_free[has_free] + off]
            free_parts += [np.zeros(len(a), bool), np.ones(int(has_free.sum()), bool)]
            list_parts += [lst, lst[has_free]]
            idx_parts += [rows, rows[has_free]]
        cpu = np.concatenate(cpu_parts).astype(np.int64)
        t = np.concatenate(t_parts).astype(np.int64)
        is_free = np.concatenate(free_parts)
        lists = np.concatenate(list_parts).astype(np.int64)
        idx = np.concatenate(idx_parts)
        order = np.lexsort((is_free, t, cpu))  # per CPU, by time, an allocation first
        cpu, t, is_free, lists, idx = cpu[order], t[order], is_free[order], lists[order], idx[order]
        start = np.searchsorted(cpu, np.arange(ncpu), "left").astype(np.int64)
        end = np.searchsorted(cpu, np.arange(ncpu), "right").astype(np.int64)
        st = np.zeros((ncpu, _NF), dtype=np.int64)
        st[:, CUR] = start
        return TraceState(
            ev_t=t,
            ev_free=is_free.astype(np.int8),
            ev_list=lists,
            ev_order=p["order"][idx].astype(np.int64),
            ev_mt=p["migratetype"][idx].astype(np.int64),
            ev_gfp=p["gfp_bits"][idx],
            start=start,
            end=end,
            period=period,
            repeat=values["repeat"],
            wait_ns=values["free_wait_ns"],
            st=st,
        )
