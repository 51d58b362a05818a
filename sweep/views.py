"""views.sql, written from the metric catalogue (allocator/core/catalogue.py).

views.sql is what a plain DuckDB session reads (`.read sweep/views.sql`), so it stays a file;
its `gains` and `curves` views list every metric the catalogue gives a gain, which no one
writes by hand. After changing the catalogue:

    PCP_SWEEP_UPDATE_DOCS=1 python -m pytest tests/sweep/test_docs.py

rewrites it (tests/sweep/test_docs.py fails while it differs from `render()`).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from allocator.core import catalogue
from allocator.policies import RFC, UPSTREAM

VIEWS_SQL = Path(__file__).with_name("views.sql")

_HEAD = """\
-- pcp-sweep: views over the results store, for any DuckDB session (nothing of ours needed).
-- Written by sweep/views.py from the metric catalogue (allocator/core/catalogue.py).
--
--   $ duckdb
--   D SET VARIABLE pcp_sweep_results = 'results';   -- a directory or s3://bucket/prefix
--   D .read sweep/views.sql
--   D SELECT mix, cpus, mean, ci95_lo, ci95_hi FROM curves WHERE metric = 'sys_gain';
--
-- points    one row per simulated point (parameters, metrics, provenance columns)
-- samples   the time series, one row per sample (join on point_id)
-- failures  points that failed after their retries (error, traceback)
-- gains     {rfc} against {up} on the very same workload (pair_id: same parameters,
--           replicate and seed; same sweep and simulator version), positive when {rfc} does
--           better:
{gain_lines}
--           Beside them each such metric of both runs (upstream_<metric>, rfc_<metric>);
--           `stationary`: both runs were (allocator/sim/runlength.py); *_gain_ci95: the gain's
--           half-width from both runs'.
-- curves    per sweep, mix, metric, memory size, CPU count and nodes: the gain's mean over seeds,
--           its sample standard deviation and a 95% confidence interval (Student's t).
--
-- Points stored before run-length control (no `stationary`, no *_ci95) need `sweep query`,
-- which adds those columns as NULL (db.LATER_COLUMNS); a plain session needs new points.
--
-- A view whose files do not exist yet (say, no failures) cannot be created: DuckDB refuses an
-- empty glob. Those views come last in this file; `sweep query` makes them empty views.

CREATE OR REPLACE VIEW points AS
SELECT * FROM read_parquet(getvariable('pcp_sweep_results') || '/*/points/*.parquet',
                           union_by_name = true);

CREATE OR REPLACE MACRO t975(df) AS CASE
    WHEN df IS NULL OR df < 1 THEN NULL
    WHEN df <= 30 THEN [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                        2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045,
                        2.042][df::INTEGER]
    WHEN df <= 60 THEN 2.000
    WHEN df <= 120 THEN 1.980
    ELSE 1.960 END;
"""

_TAIL = """
-- Last, as they may have no files yet (DuckDB then reports an error for that view alone).
CREATE OR REPLACE VIEW samples AS
SELECT * FROM read_parquet(getvariable('pcp_sweep_results') || '/*/samples/*.parquet',
                           union_by_name = true);

CREATE OR REPLACE VIEW failures AS
SELECT * FROM read_parquet(getvariable('pcp_sweep_results') || '/*/failures/*.parquet',
                           union_by_name = true);
"""

_MEANING = {
    "saved": "1 - {rfc}/{up}",
    "gained": "{rfc}/{up} - 1",
    "change": "{rfc}/{up} - 1 (a cost: + is more of it)",
    "difference": "{rfc} - {up} (a cost, absolute)",
}


def _gain_expr(m: catalogue.Metric, g: catalogue.Gain) -> str:
    expr = catalogue.GAIN_SQL[g.kind].format(m=m.name)
    if g.fallback:  # a store from before the metric existed is compared on another
        assert g.kind == "saved", "a fallback is written for savings only"
        expr = (f"1 - coalesce(rfc.{m.name} / NULLIF(up.{m.name}, 0),\n"
                f"                 rfc.{g.fallback} / NULLIF(up.{g.fallback}, 0))")
    return _fit(f"    {expr}", f"AS {g.name},")


def _fit(expr: str, alias: str) -> str:
    """`expr alias`, the alias on a line of its own when the two pass 100 columns."""
    last = expr.rsplit("\n", 1)[-1]
    return f"{expr} {alias}" if len(last) + len(alias) < 100 else f"{expr}\n        {alias}"


def _wrap(names: list[str], indent: int, first: str) -> str:
    return textwrap.fill(", ".join(names), width=98, initial_indent=first,
                         subsequent_indent=" " * indent, break_on_hyphens=False)


def _ci_expr(m: catalogue.Metric, g: catalogue.Gain) -> str:
    n = m.name
    return _fit(f"    rfc.{n} / NULLIF(up.{n}, 0) * sqrt(\n"
                f"        pow(rfc.{n}_ci95 / NULLIF(rfc.{n}, 0), 2)\n"
                f"        + pow(up.{n}_ci95 / NULLIF(up.{n}, 0), 2))", f"AS {g.name}_ci95,")


def compared() -> tuple[str, ...]:
    """The metrics both runs' values of which the `gains` view carries: gains and costs."""
    names = [m.name for m, _ in catalogue.gains()] + [m.name for m in catalogue.costs()]
    names += [g.fallback for _, g in catalogue.gains() if g.fallback]
    return tuple(dict.fromkeys(names))


def render() -> str:
    gains = catalogue.gains()
    lines = "\n".join(
        f"--             {g.name}: {m.name}, {_MEANING[g.kind].format(rfc='rfc', up='up')}"
        for m, g in gains)
    head = _HEAD.format(rfc=RFC, up=UPSTREAM, gain_lines=lines)
    cols = [
        "    rfc.sweep, rfc.sim_version, rfc.pair_id, rfc.mix, rfc.cpus, rfc.mem_bytes,",
        "    rfc.replicate, rfc.seed,",
        "    -- the topology (points from before it have one node: their columns are NULL)",
        "    coalesce(rfc.nodes, 1) AS nodes, coalesce(rfc.node_cpus, rfc.cpus) AS node_cpus,",
        *(_gain_expr(m, g) for m, g in gains),
        *(f"    up.{n} AS upstream_{n},\n    rfc.{n} AS rfc_{n}," for n in compared()),
        "    -- steady state: a pair counts for a verdict only when both runs were stationary",
        "    coalesce(up.stationary, false) AND coalesce(rfc.stationary, false) AS stationary,",
        "    up.stationary AS upstream_stationary, rfc.stationary AS rfc_stationary,",
        "    -- each gain's 95% half-width from both runs' (delta method on the ratio, the runs'",
        "    -- errors taken as independent; common random numbers correlate them positively, so",
        "    -- this is wide)",
        *(_ci_expr(m, g) for m, g in gains if g.ci),
    ]
    cols[-1] = cols[-1].rstrip(",")
    names = [g.name for _, g in gains]
    select = _wrap(["SELECT sweep", "sim_version", "mix", "mem_bytes", "cpus", "nodes", *names],
                   13, "    UNPIVOT (")
    gains_view = (
        "\nCREATE OR REPLACE VIEW gains AS\n"
        f"WITH up AS (SELECT * FROM points WHERE policy = '{UPSTREAM}'),\n"
        f"     rfc AS (SELECT * FROM points WHERE policy = '{RFC}')\n"
        "SELECT\n" + "\n".join(cols) + "\n"
        "FROM rfc JOIN up USING (sweep, sim_version, pair_id);\n")
    curves_view = (
        "\nCREATE OR REPLACE VIEW curves AS\n"
        "WITH long AS (\n"
        f"{select}\n"
        "             FROM gains)\n"
        f"{_wrap(names, 7, '    ON ')}\n"
        "    INTO NAME metric VALUE value\n"
        "),\n"
        "agg AS (\n"
        "    SELECT sweep, sim_version, mix, metric, mem_bytes, cpus, nodes,\n"
        "           count(value) AS n, avg(value) AS mean, stddev_samp(value) AS sd\n"
        "    FROM long GROUP BY ALL\n"
        ")\n"
        "SELECT *,\n"
        "       mean - t975(n - 1) * sd / sqrt(n) AS ci95_lo,\n"
        "       mean + t975(n - 1) * sd / sqrt(n) AS ci95_hi\n"
        "FROM agg;\n")
    return head + gains_view + curves_view + _TAIL
