"""Run-length control in the simulator: auto warm-up and duration, the window's accounting,
the fields every point records, and the checks on bad input."""

import sys
from pathlib import Path

import pytest

from allocator import Spec, SpecError, simulate
from allocator.runlength import KEY_METRICS, STOP_REASONS

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
