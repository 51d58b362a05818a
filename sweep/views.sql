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
-- gains     pcp-buddy against upstream on the very same workload (pair_id: same parameters,
--           replicate and seed; same sweep and simulator version), positive when pcp-buddy does
--           better:
--             sys_gain: sys_frac, 1 - rfc/up
--             throughput_gain: throughput_ops_per_s, rfc/up - 1
--             zone_lock_acquisitions_gain: zone_lock_acq_per_kop, 1 - rfc/up
--             zone_lock_wait_gain: zone_lock_wait_frac, 1 - rfc/up
--             pcp_pages_change: pcp_pages_mean, rfc/up - 1 (a cost: + is more of it)
--             alloc_p99_gain: alloc_latency_p99_ns, 1 - rfc/up
--             unusable_index_order9_change: unusable_index_order9, rfc - up (a cost, absolute)
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

CREATE OR REPLACE VIEW gains AS
WITH up AS (SELECT * FROM points WHERE policy = 'upstream'),
     rfc AS (SELECT * FROM points WHERE policy = 'pcp-buddy')
SELECT
    rfc.sweep, rfc.sim_version, rfc.pair_id, rfc.mix, rfc.cpus, rfc.mem_bytes,
    rfc.replicate, rfc.seed,
    -- the topology (points from before it have one node: their columns are NULL)
    coalesce(rfc.nodes, 1) AS nodes, coalesce(rfc.node_cpus, rfc.cpus) AS node_cpus,
    1 - rfc.sys_frac / NULLIF(up.sys_frac, 0) AS sys_gain,
    rfc.throughput_ops_per_s / NULLIF(up.throughput_ops_per_s, 0) - 1 AS throughput_gain,
    1 - rfc.zone_lock_acq_per_kop / NULLIF(up.zone_lock_acq_per_kop, 0)
        AS zone_lock_acquisitions_gain,
    1 - coalesce(rfc.zone_lock_wait_frac / NULLIF(up.zone_lock_wait_frac, 0),
                 rfc.zone_lock_wait_ns / NULLIF(up.zone_lock_wait_ns, 0)) AS zone_lock_wait_gain,
    rfc.pcp_pages_mean / NULLIF(up.pcp_pages_mean, 0) - 1 AS pcp_pages_change,
    1 - rfc.alloc_latency_p99_ns / NULLIF(up.alloc_latency_p99_ns, 0) AS alloc_p99_gain,
    rfc.unusable_index_order9 - up.unusable_index_order9 AS unusable_index_order9_change,
    up.sys_frac AS upstream_sys_frac,
    rfc.sys_frac AS rfc_sys_frac,
    up.throughput_ops_per_s AS upstream_throughput_ops_per_s,
    rfc.throughput_ops_per_s AS rfc_throughput_ops_per_s,
    up.zone_lock_acq_per_kop AS upstream_zone_lock_acq_per_kop,
    rfc.zone_lock_acq_per_kop AS rfc_zone_lock_acq_per_kop,
    up.zone_lock_wait_frac AS upstream_zone_lock_wait_frac,
    rfc.zone_lock_wait_frac AS rfc_zone_lock_wait_frac,
    up.pcp_pages_mean AS upstream_pcp_pages_mean,
    rfc.pcp_pages_mean AS rfc_pcp_pages_mean,
    up.alloc_latency_p99_ns AS upstream_alloc_latency_p99_ns,
    rfc.alloc_latency_p99_ns AS rfc_alloc_latency_p99_ns,
    up.unusable_index_order9 AS upstream_unusable_index_order9,
    rfc.unusable_index_order9 AS rfc_unusable_index_order9,
    up.free_pageblocks AS upstream_free_pageblocks,
    rfc.free_pageblocks AS rfc_free_pageblocks,
    up.zone_lock_wait_ns AS upstream_zone_lock_wait_ns,
    rfc.zone_lock_wait_ns AS rfc_zone_lock_wait_ns,
    -- steady state: a pair counts for a verdict only when both runs were stationary
    coalesce(up.stationary, false) AND coalesce(rfc.stationary, false) AS stationary,
    up.stationary AS upstream_stationary, rfc.stationary AS rfc_stationary,
    -- each gain's 95% half-width from both runs' (delta method on the ratio, the runs'
    -- errors taken as independent; common random numbers correlate them positively, so
    -- this is wide)
    rfc.sys_frac / NULLIF(up.sys_frac, 0) * sqrt(
        pow(rfc.sys_frac_ci95 / NULLIF(rfc.sys_frac, 0), 2)
        + pow(up.sys_frac_ci95 / NULLIF(up.sys_frac, 0), 2)) AS sys_gain_ci95,
    rfc.throughput_ops_per_s / NULLIF(up.throughput_ops_per_s, 0) * sqrt(
        pow(rfc.throughput_ops_per_s_ci95 / NULLIF(rfc.throughput_ops_per_s, 0), 2)
        + pow(up.throughput_ops_per_s_ci95 / NULLIF(up.throughput_ops_per_s, 0), 2))
        AS throughput_gain_ci95,
    rfc.zone_lock_wait_frac / NULLIF(up.zone_lock_wait_frac, 0) * sqrt(
        pow(rfc.zone_lock_wait_frac_ci95 / NULLIF(rfc.zone_lock_wait_frac, 0), 2)
        + pow(up.zone_lock_wait_frac_ci95 / NULLIF(up.zone_lock_wait_frac, 0), 2))
        AS zone_lock_wait_gain_ci95
FROM rfc JOIN up USING (sweep, sim_version, pair_id);

CREATE OR REPLACE VIEW curves AS
WITH long AS (
    UNPIVOT (SELECT sweep, sim_version, mix, mem_bytes, cpus, nodes, sys_gain, throughput_gain,
             zone_lock_acquisitions_gain, zone_lock_wait_gain, pcp_pages_change, alloc_p99_gain,
             unusable_index_order9_change
             FROM gains)
    ON sys_gain, throughput_gain, zone_lock_acquisitions_gain, zone_lock_wait_gain,
       pcp_pages_change, alloc_p99_gain, unusable_index_order9_change
    INTO NAME metric VALUE value
),
agg AS (
    SELECT sweep, sim_version, mix, metric, mem_bytes, cpus, nodes,
           count(value) AS n, avg(value) AS mean, stddev_samp(value) AS sd
    FROM long GROUP BY ALL
)
SELECT *,
       mean - t975(n - 1) * sd / sqrt(n) AS ci95_lo,
       mean + t975(n - 1) * sd / sqrt(n) AS ci95_hi
FROM agg;

-- Last, as they may have no files yet (DuckDB then reports an error for that view alone).
CREATE OR REPLACE VIEW samples AS
SELECT * FROM read_parquet(getvariable('pcp_sweep_results') || '/*/samples/*.parquet',
                           union_by_name = true);

CREATE OR REPLACE VIEW failures AS
SELECT * FROM read_parquet(getvariable('pcp_sweep_results') || '/*/failures/*.parquet',
                           union_by_name = true);
