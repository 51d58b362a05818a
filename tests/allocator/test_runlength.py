"""Run-length control in the simulator: auto warm-up and duration, the window's accounting,
the fields every point records, and the checks on bad input."""

import sys
from pathlib import Path

import pytest

from allocator import Spec, SpecError, simulate
from allocator.sim.runlength import KEY_METRICS, STOP_REASONS

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "validation"))
import steady_state  # noqa: E402

PF1 = {"cpus": 2, "mem": "512MiB", "mix": "page_fault1", "seed": 1, "sample_interval": "5ms"}
AUTO = {"duration": "auto", "warmup": "auto", "duration_cap": "3s", "precision": 0.05}
COUNTERS = ("ops", "sim_time_ns", "sys_frac", "throughput_ops_per_s", "zone_lock_acquisitions",
            "zone_lock_wait_ns", "pcp_refills", "pcp_drains", "alloc_latency_p99_ns",
            "alloc_latency_max_ns", "free_latency_max_ns", "pcp_pages_peak", "pcp_pages_mean",
            "pcp_high_mean", "remote_frees", "engine_steps")


@pytest.fixture(scope="module", params=["upstream", "pcp-buddy"])
def auto(request):
    spec = Spec.from_flat({**PF1, **AUTO, "policy": request.param})
    return spec, simulate(spec)


def test_an_auto_point_records_its_window_and_precision(auto):
    spec, r = auto
    assert r["stationary"] is True and r["stop_reason"] in STOP_REASONS
    # pcp->high is judged over two whole decay intervals before a run may stop
    assert 2_000_000_000 <= r["warmup_ns"] + r["window_ns"] <= spec.duration_ns
    assert r["warmup_ns"] % 50_000_000 == 0  # on a segment boundary
    assert r["sim_time_ns"] == r["window_ns"]
    for m in KEY_METRICS:
        assert 0 <= r[f"{m}_ci95"] < float("inf")
    if r["stop_reason"] == "precision":
        assert r["sys_frac_ci95"] <= 0.05 * r["sys_frac"]
        assert r["throughput_ops_per_s_ci95"] <= 0.05 * r["throughput_ops_per_s"]


def test_the_window_found_after_the_run_counts_as_a_warm_up_given_before_it(auto):
    """Counters taken from snapshots at the detected warm-up are exactly those of a run told
    that warm-up in advance (end_warmup resets them there)."""
    spec, r = auto
    fixed = simulate(Spec.from_flat({**PF1, "policy": spec.policy, "warmup": r["warmup_ns"],
                                     "duration": r["warmup_ns"] + r["window_ns"]}))
    assert {k: r[k] for k in COUNTERS} == {k: fixed[k] for k in COUNTERS}


def test_auto_is_deterministic(auto):
    spec, r = auto
    assert dict(simulate(spec)) == dict(r)


def test_a_short_fixed_window_is_not_stationary():
    r = simulate(Spec.from_flat({**PF1, "duration": "20ms", "warmup": "5ms"}))
    assert r["stationary"] is False and r["stop_reason"] == "fixed"
    assert r["warmup_ns"] == 5_000_000 and r["window_ns"] == 15_000_000
    assert "no end of the warm-up" in r["steady_note"]


@pytest.mark.parametrize("flat, message", [
    ({"duration": "auto", "duration_cap": "1s", "warmup": "2s"},
     "warmup must be at least 0 and shorter than duration_cap"),
    ({"duration": "auto", "precision": 1.5}, "precision must be a relative half-width"),
    ({"duration": "auto", "precision": 0}, "precision must be a relative half-width"),
    ({"duration": "auto", "precision": "tight"}, "precision must be a relative half-width"),
    ({"duration": "1s", "warmup": "2s"}, "warmup must be at least 0 and shorter than duration"),
    ({"duration": "1s", "warmup": "auto"}, "warmup = 'auto' needs a duration of at least"),
    ({"duration": "1s", "precision": 0.1}, "precision applies only with duration = 'auto'"),
    ({"duration": "1s", "duration_cap": "2s"}, "duration_cap applies only with duration"),
])
def test_bad_run_length_input_is_one_clear_error(flat, message):
    with pytest.raises(SpecError, match=message):
        Spec.from_flat({"cpus": 2, "mem": "1GiB", **flat})


def test_the_flat_form_of_an_auto_spec_round_trips():
    spec = Spec.from_flat({**PF1, **AUTO})
    flat = spec.to_flat()
    assert flat["duration"] == "auto" and flat["warmup"] == "auto"
    assert flat["duration_cap"] == 3_000_000_000 and flat["precision"] == 0.05
    assert Spec.from_flat(flat) == spec
    fixed = Spec.from_flat({**PF1, "duration": "20ms"}).to_flat()
    assert "duration_cap" not in fixed and "precision" not in fixed  # ids of fixed runs stay


@pytest.mark.slow
@pytest.mark.parametrize("mix, cpus, mem", [("page_fault1", 2, 512 << 20),
                                            ("kbuild", 4, 4 << 30)])
@pytest.mark.parametrize("policy", ["upstream", "pcp-buddy"])
def test_auto_agrees_with_a_run_four_times_as_long(mix, cpus, mem, policy):
    """validation/steady_state.py on small machines (docs/validation.md has 16 CPUs): %sys
    and throughput within their half-width, or 3%, of a window four times as long."""
    r = steady_state.check(cpus, mem, mix, policy, seed=1, cap="4s", sample_interval="5ms")
    for m in steady_state.METRICS:
        a, hw, ref, ok = r[m]
        assert ok, f"{m}: auto {a} ± {hw}, long run {ref}"


def _synthetic_samples(n, free):
    """Engine rows every 1 ms: flat, noisy counters and gauges, and the given free pages."""
    import numpy as np

    from allocator.core.layout import (
        S_NR_FREE_PAGES,
        S_OPS,
        S_PCP_HIGH_MEAN,
        S_PCP_PAGES,
        S_SYS_NS,
        S_T_NS,
        S_ZONE_LOCK_WAIT_NS,
    )

    rng = np.random.default_rng(3)
    rows = np.zeros((n, 20), dtype=np.int64)
    rows[:, S_T_NS] = np.arange(n) * 1_000_000
    rows[:, S_OPS] = np.cumsum(rng.integers(9_000, 11_000, n))
    rows[:, S_SYS_NS] = np.cumsum(rng.integers(90_000, 110_000, n))
    rows[:, S_ZONE_LOCK_WAIT_NS] = np.cumsum(rng.integers(900, 1_100, n))
    rows[:, S_PCP_PAGES] = rng.integers(9_000, 11_000, n)
    rows[:, S_PCP_HIGH_MEAN] = 5_000
    rows[:, S_NR_FREE_PAGES] = free
    return rows


def test_free_memory_still_falling_is_not_a_steady_state():
    """Everything flat but the free pages, which fall as a page cache fills the zone: the
    run is not stationary (issue 12: filecache's upstream windows were taken while memory
    filled, its pcp-buddy windows in reclaim)."""
    import numpy as np

    from allocator.sim.runlength import assess

    n = 4_000
    rng = np.random.default_rng(4)
    steady = rng.integers(1_000_000, 1_010_000, n)
    filling = np.linspace(8_000_000, 1_000_000, n).astype(np.int64) + rng.integers(0, 10_000, n)
    obs_t = np.arange(0, n * 1_000_000, 50_000_000)
    obs_high = np.full((len(obs_t), 1), 5_000.0)
    kw = dict(interval_ns=1_000_000_000, start_ns=0, auto_warmup=True, precision=0.02,
              batch=63)
    flat = assess(_synthetic_samples(n, steady), 4, obs_t, obs_high, **kw)
    assert flat.stationary, flat.why
    falling = assess(_synthetic_samples(n, filling), 4, obs_t, obs_high, **kw)
    assert not falling.stationary
    assert falling.warmup_by["nr_free_pages_mean"] == -1 or "nr_free_pages_mean" in falling.why
