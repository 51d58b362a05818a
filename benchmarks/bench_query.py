"""The answers' cost, run by hand (never as a timed test):

    python benchmarks/bench_query.py             # ~6 minutes on a 2-core laptop, ~2 GB disk

Result sets are made by cloning one real point row (from a 2-point simulation, so every column
a real sweep stores is there) into one file per point, as `sweep run` writes them, with the
parameters and metrics varied:
- `sweep report` on 10,000 stored points (5 mixes x 2 policies x 10 CPU counts x 10 memory
  sizes x 10 seeds): the first report builds the sweep's compacted index (sweep/compact.py;
  `sweep run` does that when it finishes), a second one reads it (target: under 10 s); and a
  gains query straight over the 10,000 one-point files through views.sql, for comparison;
- a `gains` query (mean %sys gain per mix and CPU count) over 100,000 points (10 mixes, 50
  seeds): the first query builds the index, later ones read it (target: under 1 s).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from allocator import Spec
from allocator.sim.simulate import simulate  # noqa: F401  (compiles before the clock starts)
from sweep.db import VIEWS_SQL, connect
from sweep.identity import pair_id, param_id, point_id
from sweep.report import write_report
from sweep.worker import run_point

GAINS_SQL = ("SELECT mix, cpus, avg(sys_gain) AS gain, count(*) AS n FROM gains "
             "GROUP BY mix, cpus ORDER BY mix, cpus")


def template(tmp: Path) -> dict:
    """One real stored point row."""
    spec = Spec(cpus=2, mem_bytes=256 << 20, mix="page_fault1", policy="upstream",
                duration_ns=1_000_000)
    flat = spec.to_flat()
    pid = param_id(flat, 0)
    run_point(str(tmp), "template", flat, (pid, point_id(pid, "x"), 0), retries=0)
    (path,) = (tmp / "template" / "points").glob("*.parquet")
    return pq.read_table(path).to_pylist()[0]


def write_points(root: Path, row: dict, mixes: int, seeds: int) -> int:
    rng = np.random.default_rng(0)
    out = root / "bench" / "points"
    out.mkdir(parents=True)
    schema = pa.Table.from_pylist([row]).schema
    n = 0
    for m in range(mixes):
        mix = f"mix{m}"
        for cpus in 2 ** np.arange(10):
            for mem in 2 ** np.arange(30, 40):
                for r in range(seeds):
                    for policy in ("upstream", "pcp-buddy"):
                        flat = {"cpus": int(cpus), "mem": int(mem), "mix": mix,
                                "policy": policy}
                        pid = param_id(flat, r)
                        gain = 0.02 * np.log2(cpus) if policy == "pcp-buddy" else 0.0
                        noise = 1 + 0.01 * rng.standard_normal()
                        new = {**row, "sweep": "bench", "mix": mix, "policy": policy,
                               "cpus": int(cpus), "mem_bytes": int(mem), "replicate": r,
                               "param_id": pid, "point_id": point_id(pid, "bench"),
                               "pair_id": pair_id(flat, r),
                               "sys_frac": row["sys_frac"] * (1 - gain) * noise,
                               "zone_lock_wait_ns": row["zone_lock_wait_ns"] * noise}
                        pq.write_table(pa.Table.from_pylist([new], schema=schema),
                                       out / f"{pid}.{new['point_id']}.parquet")
                        n += 1
    return n


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


def plain_gains(root: Path) -> float:
    """The gains query over the one-point files, through views.sql as a user would run it."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute("SET VARIABLE pcp_sweep_results = ?", [str(root)])
    for statement in duckdb.extract_statements(VIEWS_SQL.read_text())[:-2]:
        con.execute(statement.query)
    return timed(lambda: con.execute(GAINS_SQL).fetchall())[0]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp_str:
        tmp = Path(tmp_str)
        row = template(tmp)
        for label, mixes, seeds in (("report", 5, 10), ("gains", 10, 50)):
            root = tmp / label
            t_write, n = timed(lambda root=root, m=mixes, s=seeds: write_points(root, row, m, s))
            print(f"{label}: {n} points written in {t_write:.1f} s", flush=True)
            if label == "report":
                for attempt in ("first (builds the index)", "second (reads the index)"):
                    t, _ = timed(lambda root=root: write_report(str(root), "bench",
                                                                tmp / "report"))
                    print(f"  sweep report, {attempt}: {t:.2f} s", flush=True)
                print(f"  gains query straight over the {n} files (views.sql): "
                      f"{plain_gains(root):.2f} s", flush=True)
            else:
                t_first, rows = timed(lambda root=root: connect(str(root)).execute(
                    GAINS_SQL).fetchall())
                print(f"  gains query, first (builds the index): {t_first:.2f} s "
                      f"({len(rows)} rows, {rows[0][3]} pairs each)", flush=True)
                times = []
                for _ in range(5):
                    t, _ = timed(lambda root=root: connect(str(root)).execute(
                        GAINS_SQL).fetchall())
                    times.append(t)
                print(f"  gains query with its connection, reading the index: median "
                      f"{np.median(times):.3f} s of 5", flush=True)


if __name__ == "__main__":
    sys.exit(main())
