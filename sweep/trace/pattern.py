"""`sweep trace import`: a parsed kmem trace turned into a replayable pattern (Parquet).

Pairing: each free is matched to the live allocation of the same pfn and order (pfns are
physical, so a pfn is live once at a time). What does not pair is kept, not dropped:
- a free with no allocation in the trace (the page was allocated before tracing started) becomes
  an allocation at the trace's start on the freeing CPU, marked `prologue` (its migratetype is
  unknown: MOVABLE, the most common);
- an allocation never freed within the trace has no free (`t_free_ns` = -1); the `trace` mix
  decides what to do with it (mix.trace.unfreed);
- a second allocation of a live pfn (a free the trace lost) ends the first one unfreed;
- a free of a pfn the trace has already freed and not allocated since (some kernels traced a
  free twice, 2.6.33's mm_page_free_direct beside mm_pagevec_free) is a duplicate: counted and
  dropped, since a pfn is live once at a time and a second "allocated before the trace" row
  would hold it live twice;
- failed allocations (pfn 0) are counted and not replayed.
CPUs are renumbered densely in order (the trace's own numbers are kept in the metadata) and
times start at 0. The file's columns are PATTERN_COLUMNS; read_pattern() turns a file into the
arrays the trace mix replays (allocator/mixes/trace.py PATTERN_ARRAYS), and mix_inputs() hands
them to simulate() for a spec that names one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from allocator import Spec
from allocator.core.consts import GFP_DIRECT_RECLAIM, GFP_MOVABLE_PAGE, MIGRATE_MOVABLE
from allocator.mixes.trace import PATTERN_ARRAYS
from allocator.params.errors import SpecError

from ..store import write_atomic_bytes
from .parse import ALLOC, MAX_REPORTED, Event, ParseStats, parse_lines

# The pattern file's columns, one row per allocation (`sweep trace import` writes them)
PATTERN_COLUMNS = (
    "t_alloc_ns",
    "cpu",
    "order",
    "migratetype",
    "gfp_flags",
    "t_free_ns",
    "cpu_free",
    "prologue",
)


@dataclass
class ImportSummary:
    stats: ParseStats
    allocations: int = 0
    paired: int = 0
    unfreed: int = 0
    prologue: int = 0
    duplicate_frees: int = 0
    failed_allocs: int = 0
    cpus: tuple[int, ...] = ()
    duration_ns: int = 0

    def lines(self) -> list[str]:
        s = self.stats
        kept = ", ".join(f"{k} {v}" for k, v in sorted(s.events.items())) or "none"
        out = [
            f"read {s.lines} lines: {kept}",
            f"{self.allocations} allocations replayable: {self.paired} freed in the trace, "
            f"{self.unfreed} never freed, {self.prologue} freed but allocated before the trace "
            f"(replayed from its start); {self.failed_allocs} failed allocations not replayed; "
            f"{self.duplicate_frees} duplicate frees (a pfn freed again without an allocation "
            f"between) dropped",
            f"{len(self.cpus)} CPUs ({_cpus(self.cpus)}), {self.duration_ns / 1e9:.6f} s",
        ]
        if s.skipped:
            out.append("skipped events: " + ", ".join(
                f"{k} {v}" for k, v in s.skipped.most_common(8)))
        if s.malformed:
            out.append(f"{s.malformed} malformed line(s), first at line(s) "
                       f"{', '.join(map(str, s.malformed_lines))}")
        return out


def _cpus(cpus: tuple[int, ...]) -> str:
    if len(cpus) <= 8:
        return ", ".join(map(str, cpus))
    return f"{cpus[0]}..{cpus[-1]}"


def pair(events: Iterable[Event], summary: ImportSummary) -> dict[str, np.ndarray]:
    evs = sorted(events, key=lambda e: (e.ts_ns, e.line))
    if not evs:
        return {}
    t0 = evs[0].ts_ns
    cpus = sorted({e.cpu for e in evs})
    dense = {c: i for i, c in enumerate(cpus)}
    rows: dict[str, list] = {c: [] for c in PATTERN_COLUMNS}
    live: dict[tuple[int, int], int] = {}
    freed: set[tuple[int, int]] = set()  # freed in the trace and not allocated since

    def add(t, cpu, order, mt, gfp, prologue):
        for c, v in zip(PATTERN_COLUMNS, (t, cpu, order, mt, gfp, -1, -1, prologue),
                        strict=True):
            rows[c].append(v)
        return len(rows["t_alloc_ns"]) - 1

    for e in evs:
        key = (e.pfn, e.order)
        if e.kind == ALLOC:
            if e.pfn == 0:
                summary.failed_allocs += 1
                continue
            live[key] = add(e.ts_ns - t0, dense[e.cpu], e.order, e.migratetype, e.gfp, False)
            freed.discard(key)
            continue
        i = live.pop(key, None)
        if i is None and key in freed:
            summary.duplicate_frees += 1
            continue
        freed.add(key)
        if i is None:
            i = add(0, dense[e.cpu], e.order, MIGRATE_MOVABLE, "", True)
            summary.prologue += 1
        else:
            summary.paired += 1
        rows["t_free_ns"][i] = e.ts_ns - t0
        rows["cpu_free"][i] = dense[e.cpu]
    summary.allocations = len(rows["t_alloc_ns"])
    summary.unfreed = summary.allocations - summary.paired - summary.prologue
    summary.cpus = tuple(cpus)
    summary.duration_ns = evs[-1].ts_ns - t0
    return rows


def import_trace(path: Path, out: Path) -> ImportSummary:
    """Parse `path`, pair its events, write the pattern to `out` (whole or not at all)."""
    summary = ImportSummary(stats=ParseStats())
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            rows = pair(parse_lines(f, summary.stats), summary)
    except OSError as exc:
        raise SpecError(f"{path}: cannot read: {exc.strerror}") from None
    if not rows:
        first = summary.stats.malformed_lines[:MAX_REPORTED]
        hint = (f"; {summary.stats.malformed} malformed kmem line(s), first at "
                f"{', '.join(map(str, first))}" if first else "")
        raise SpecError(f"{path}: no kmem mm_page_alloc/mm_page_free event in "
                        f"{summary.stats.lines} lines (expected perf script, trace-cmd report "
                        f"or ftrace text){hint}")
    meta = {"source": str(path), "trace_cpus": json.dumps(list(summary.cpus)),
            "duration_ns": str(summary.duration_ns), "lines": str(summary.stats.lines),
            "malformed": str(summary.stats.malformed)}
    write_pattern(out, rows, meta)
    return summary


_TYPES = {"t_alloc_ns": pa.int64(), "cpu": pa.int32(), "order": pa.int8(),
          "migratetype": pa.int8(), "gfp_flags": pa.string(), "t_free_ns": pa.int64(),
          "cpu_free": pa.int32(), "prologue": pa.bool_()}


def write_pattern(out: Path, rows: dict[str, list], meta: dict[str, str] | None = None) -> None:
    """A pattern file (one row per allocation, PATTERN_COLUMNS), written whole or not at all.
    `rows` maps each column to its values; `gfp_flags` and `prologue` may be left out."""
    n = len(rows["t_alloc_ns"])
    defaults = {"gfp_flags": [""] * n, "prologue": [False] * n}
    table = pa.table({c: pa.array(rows.get(c, defaults.get(c)), _TYPES[c])
                      for c in PATTERN_COLUMNS})
    table = table.replace_schema_metadata(
        {f"pcp_sweep.{k}": v for k, v in (meta or {}).items()})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    write_atomic_bytes(Path(out), sink.getvalue().to_pybytes())


def read_pattern(path: str) -> dict[str, np.ndarray]:
    """A pattern file as the trace mix takes it (PATTERN_ARRAYS), or a one-line SpecError."""
    try:
        table = pq.read_table(path, columns=list(PATTERN_COLUMNS))
    except (OSError, ValueError, KeyError, pa.ArrowException) as exc:
        raise SpecError(
            f"mix.trace.pattern: {path} is not a pattern from `sweep trace "
            f"import`: {str(exc).splitlines()[0]}"
        ) from None
    if table.num_rows == 0:
        raise SpecError(f"mix.trace.pattern: {path} holds no allocation")
    out = {c: table.column(c).to_numpy(zero_copy_only=False) for c in PATTERN_COLUMNS}
    # requested migratetypes are UNMOVABLE, MOVABLE or RECLAIMABLE; anything else (an old
    # kernel's CMA or a pageblock type) replays as MOVABLE
    mt = out["migratetype"].astype(np.int64)
    out["migratetype"] = np.where((mt >= 0) & (mt <= 2), mt, MIGRATE_MOVABLE)
    out["gfp_bits"] = np.array(
        [gfp_bits(g, int(m)) for g, m in zip(out["gfp_flags"], out["migratetype"], strict=True)],
        dtype=np.int64,
    )
    return {c: out[c] for c in PATTERN_ARRAYS}


def gfp_bits(flags: str, mt: int) -> int:
    """The simulator's gfp bits from a traced gfp_flags: direct reclaim unless the mask says
    atomic/nowait/none (raw hex: ___GFP_DIRECT_RECLAIM, 0x400 since v4.4); movable pages for
    MOVABLE allocations."""
    bits = GFP_MOVABLE_PAGE if mt == MIGRATE_MOVABLE else 0
    f = flags or ""
    if f.lower().startswith("0x"):
        try:
            return bits | (GFP_DIRECT_RECLAIM if int(f, 16) & 0x400 else 0)
        except ValueError:
            return bits | GFP_DIRECT_RECLAIM
    names = set(f.split("|"))
    if names & {"GFP_ATOMIC", "GFP_NOWAIT", "none", "GFP_NOIO_ATOMIC"} and "GFP_KERNEL" not in f:
        return bits
    return bits | GFP_DIRECT_RECLAIM


def mix_inputs(spec: Spec) -> dict[str, dict[str, np.ndarray]]:
    """What simulate() needs beside `spec`: the pattern's arrays when the mix replays one."""
    path = dict(spec.mix_params).get("pattern") if spec.mix == "trace" else None
    return {"pattern": read_pattern(path)} if path else {}
