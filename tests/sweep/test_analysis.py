"""The statistics on synthetic data with planted effects: a growing gain is called supported
and a flat one is not; a planted regression is found; null changes are flagged no more often
than the false discovery rate allows."""

import numpy as np

from sweep.analysis import benjamini_hochberg, curve_change, pooled_tests, trends
from sweep.regress import compare


def grid(gain_fn, noise, rng, seeds=3):
    cpus = np.array([8, 16, 32, 64, 128, 256, 512, 1024])
    mems = np.array([16, 128, 1024]) * 2**30
    x1, x2, y = [], [], []
    for c in cpus:
        for m in mems:
            for _ in range(seeds):
                x1.append(np.log2(c))
                x2.append(np.log2(m))
                y.append(gain_fn(c, m) + noise * rng.standard_normal())
    return np.array(x1), np.array(x2), np.array(y)


def test_a_planted_growth_with_cpus_is_supported_and_memory_is_not():
    rng = np.random.default_rng(1)
    x1, x2, y = grid(lambda c, m: 0.02 * np.log2(c / 8), 0.01, rng)
    cpu, mem = trends(x1, x2, y)
    assert cpu.verdict == "supported"
    assert 0.015 < cpu.slope < 0.025 and cpu.lo > 0 and cpu.rho > 0.8
    assert mem.verdict == "not supported"


def test_a_flat_gain_is_not_supported_and_noise_is_inconclusive():
    rng = np.random.default_rng(2)
    x1, x2, y = grid(lambda c, m: 0.05, 0.005, rng)
    assert trends(x1, x2, y)[0].verdict == "not supported"
    x1, x2, y = grid(lambda c, m: 0.05 + 0.003 * np.log2(c), 0.2, rng, seeds=2)
    assert trends(x1, x2, y)[0].verdict == "inconclusive"


def test_growth_with_memory_is_seen_apart_from_cpus():
    rng = np.random.default_rng(3)
    x1, x2, y = grid(lambda c, m: 0.01 * np.log2(m / 2**34), 0.005, rng)
    cpu, mem = trends(x1, x2, y)
    assert mem.verdict == "supported" and cpu.verdict == "not supported"


def test_benjamini_hochberg_matches_the_textbook_example():
    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan])
    q = benjamini_hochberg(p)
    assert np.allclose(q[:4], [0.02, 0.04, 0.04, 0.02])
    assert np.isnan(q[4])


def test_pooled_tests_on_identical_and_shifted_cells():
    cells = [np.array([0.0, 0.0, 0.0]), np.array([0.1, 0.1, 0.1])]
    means, p = pooled_tests(cells)
    assert np.allclose(means, [0.0, 0.1]) and list(p) == [1.0, 0.0]
    rng = np.random.default_rng(7)
    cells = [rng.normal(0, 0.02, 3) for _ in range(4)] + [rng.normal(-0.2, 0.02, 3)]
    means, p = pooled_tests(cells)
    assert p[-1] < 1e-4 and min(p[:-1]) > 1e-3


def test_curve_change_sees_a_slope_and_the_top():
    x = np.repeat(np.log2([8.0, 16, 32, 64]), 3)
    rng = np.random.default_rng(8)
    change = curve_change(x, -0.05 * (x - 3) + rng.normal(0, 0.005, len(x)))
    assert abs(change.slope + 0.05) < 0.01 and change.slope_p < 1e-4
    assert abs(change.top + 0.15) < 0.02 and change.top_p < 1e-4
    flat = curve_change(x, rng.normal(0, 0.005, len(x)))
    assert abs(flat.slope) < 0.01 and abs(flat.top) < 0.01


def synthetic_sets(rng, worse=None, noise=0.02, seeds=3):
    base, cand = {}, {}
    for mix in ("a", "b"):
        for policy in ("upstream", "pcp-buddy"):
            for cpus in (8, 16, 32, 64):
                for r in range(seeds):
                    key = ("s", f"{mix}{policy}{cpus}r{r}")
                    row = {"sweep": "s", "param_id": key[1], "pair_id": f"{mix}{cpus}r{r}",
                           "replicate": r, "mix": mix,
                           "policy": policy, "cpus": cpus, "mem_bytes": 16 << 30,
                           "seed": r, "stationary": True,
                           "throughput_ops_per_s": 1e7 * (1 + noise * rng.standard_normal()),
                           "sys_frac": 0.1 * (1 + noise * rng.standard_normal()),
                           "zone_lock_wait_frac": 1e-3 * (1 + noise * rng.standard_normal()),
                           "alloc_latency_p99_ns": 500 * (1 + noise * rng.standard_normal())}
                    base[key] = row
                    c = dict(row)
                    for m in ("throughput_ops_per_s", "sys_frac", "zone_lock_wait_frac",
                              "alloc_latency_p99_ns"):
                        c[m] = row[m] * (1 + noise * rng.standard_normal())
                    if worse:
                        c["throughput_ops_per_s"] *= worse(mix, policy, cpus)
                    cand[key] = c
    return base, cand


def test_a_planted_regression_is_found():
    rng = np.random.default_rng(4)
    base, cand = synthetic_sets(
        rng, worse=lambda mix, policy, cpus: 0.85 if mix == "a" and cpus >= 32 else 1.0)
    outcome = compare(base, cand)
    assert outcome.verdict == "regression" and outcome.exit_code == 1
    flagged = {f.where for f in outcome.findings
               if f.status == "regression" and f.kind == "point"}
    assert flagged and all(": a " in w and ("cpus=32" in w or "cpus=64" in w) for w in flagged)
    assert all(": a " in f.where for f in outcome.findings if f.status == "regression")


def test_a_gain_that_shrinks_at_scale_is_a_curve_regression():
    """The candidate's pcp-buddy loses ground as CPUs grow while upstream is unchanged: the
    gain's slope and its value at the largest CPU count regress."""
    rng = np.random.default_rng(9)
    shrink = {8: 1.0, 16: 0.97, 32: 0.94, 64: 0.91}
    base, cand = synthetic_sets(
        rng, worse=lambda mix, policy, cpus: shrink[cpus] if policy == "pcp-buddy" else 1.0,
        noise=0.01)
    outcome = compare(base, cand)
    kinds = {(f.kind, f.where.split()[2]) for f in outcome.findings if f.status == "regression"}
    assert ("slope", "gain") in kinds and ("top", "gain") in kinds
    assert ("slope", "pcp-buddy") in kinds
    assert not any(series == "upstream" for _, series in kinds)


def test_null_changes_are_rarely_flagged():
    rng = np.random.default_rng(5)
    runs = 300
    flagged = sum(compare(*synthetic_sets(rng, noise=0.04)).verdict == "regression"
                  for _ in range(runs))
    # Under no change at all, Benjamini-Hochberg bounds the chance of any flagged check at
    # 5% per grid, and the 5% effect floor cuts it further.
    assert flagged / runs <= 0.05


def test_identical_results_pass():
    rng = np.random.default_rng(6)
    base, _ = synthetic_sets(rng)
    assert compare(base, base).verdict == "pass"
