"""Validation (issue 7, item 3), small size: zone->lock hold time grows linearly with the
pages a refill or drain moves, at the per-page cost Huang Ying measured (calibration.md s2:
page_fault1 with pcp->high = 2 * batch; 27 ns/page on Ice Lake's free side to 42 ns on
Cascade Lake; calibration.md s3 suggests 28-55 ns). Full size: validation/calibration.py."""

import numpy as np

from allocator import Spec, simulate

BATCHES = (63, 255, 1023)


def hold_per_acquisition_us(batch):
    r = simulate(Spec(cpus=8, mem_bytes=16 << 30, mix="page_fault1", seed=1,
                      duration_ns=20_000_000, warmup_ns=5_000_000,
                      knobs={"pcp_batch": batch, "pcp_high": 2 * batch}))
    assert r["pcp_refill_pages"] == batch * r["pcp_refills"]  # each refill moves one batch
    return r["zone_lock_hold_ns"] / r["zone_lock_acquisitions"] / 1e3


def test_hold_time_is_linear_in_batch_at_the_measured_cost_per_page():
    us = np.array([hold_per_acquisition_us(b) for b in BATCHES])
    slope, intercept = np.polyfit(np.array(BATCHES, float), us * 1e3, 1)
    fit = np.polyval([slope, intercept], BATCHES) / 1e3
    assert np.max(np.abs(fit - us) / us) < 0.03  # linear
    assert 27 <= slope <= 52  # ns per page: Ice Lake (free side) to Cascade Lake
    assert abs(intercept) < 1000  # a small fixed part, as measured
