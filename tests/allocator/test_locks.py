"""locks.py, the contention model, against a brute-force reference: critical sections placed
FIFO in simulated time never overlap, waits are never negative, trylock fails exactly when a
placed section covers the time, and each request starts at the earliest gap at or after it
that fits (the reference scans every gap)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from allocator import Spec
from allocator.core.layout import (
    E_GMIN,
    E_NOW,
    LK_CONTENDED,
    LK_HOLD_NS,
    LK_NRES,
    LK_WAIT_NS,
    LOCK_ZONE,
)
from allocator.core.state import LOCK_TIMELINE
from allocator.mm.locks import spin_lock, spin_trylock, spin_unlock, zone_spin_lock
from allocator.params.costs import C_CACHELINE_NEAR, C_ZONE_LOCK, C_ZONE_LOCK_HANDOFF
from allocator.sim.simulate import setup

_SPEC = Spec.from_flat(dict(cpus=2, mem="64MiB", mix="page_fault1", policy="upstream",
                            duration="1ms", warmup="0ms"))


def _zone():
    (z,), *_ = setup(_SPEC, 0)
    z.eng[E_GMIN] = 0  # nothing is pruned: the reference keeps every section too
    return z


def _reference(requests):
    """Each (t, length) in turn: the earliest start >= t whose section overlaps none placed."""
    placed, starts = [], []
    for t, length in requests:
        start = t
        moved = True
        while moved:
            moved = False
            for s, e in placed:
                if s < start + length and start < e:  # overlaps: try after it
                    start = e
                    moved = True
        placed.append((start, start + length))
        starts.append(start)
    return starts


def _run(z, requests, cpu=0):
    """Request, hold `length`, release, for each request, as a holder does inside an
    operation; returns each section's start (the request time plus the wait it got)."""
    starts = []
    for t, length in requests:
        z.eng[E_NOW] = t
        spin_lock(z, LOCK_ZONE, cpu, 0)
        z.eng[E_NOW] = t + length
        spin_unlock(z, LOCK_ZONE)
        starts.append(int(z.eng[E_NOW]) - length)
    return starts


requests = st.lists(st.tuples(st.integers(0, 5_000), st.integers(1, 400)),
                    min_size=1, max_size=LOCK_TIMELINE - 2)


@settings(max_examples=150, deadline=None)
@given(requests)
def test_sections_match_the_brute_force_placement_and_never_overlap(reqs):
    z = _zone()
    starts = _run(z, reqs)
    assert starts == _reference(reqs)
    for (t, _), s in zip(reqs, starts, strict=True):
        assert s >= t  # a wait is never negative
    n = int(z.lk[LOCK_ZONE, LK_NRES])
    assert n == len(reqs)
    sections = [(int(z.lkres[LOCK_ZONE, 2 * i]), int(z.lkres[LOCK_ZONE, 2 * i + 1]))
                for i in range(n)]
    assert sections == sorted(sections)
    for (_, e0), (s1, _) in zip(sections, sections[1:], strict=False):
        assert e0 <= s1  # no two sections overlap
    waits = [s - t for (t, _), s in zip(reqs, starts, strict=True)]
    assert int(z.lk[LOCK_ZONE, LK_WAIT_NS]) == sum(waits)
    assert int(z.lk[LOCK_ZONE, LK_CONTENDED]) == sum(1 for w in waits if w > 0)


@settings(max_examples=150, deadline=None)
@given(requests, st.integers(0, 6_000))
def test_trylock_fails_exactly_when_a_section_covers_the_time(reqs, t):
    z = _zone()
    _run(z, reqs)
    placed = [(s, s + length) for s, (_, length) in zip(_reference(reqs), reqs, strict=True)]
    covered = any(s <= t < e for s, e in placed)
    z.eng[E_NOW] = t
    taken = spin_trylock(z, LOCK_ZONE, 0, 0)
    assert taken == (not covered)


def test_fifo_a_later_request_queues_behind_an_earlier_one():
    z = _zone()
    # A holds [100, 400); B asks at 200 for 50 ns and waits until 400; C asks at 150 for 40 ns,
    # after A began: no gap at or after 150 before B's end fits it, so it queues behind B
    assert _run(z, [(100, 300), (200, 50), (150, 40)]) == [100, 400, 450]
    # an early short request that fits before everything placed slips in, as FIFO serves it
    assert _run(z, [(10, 50)]) == [10]


many = st.lists(st.tuples(st.integers(0, 2_000), st.integers(1, 400)),
                min_size=LOCK_TIMELINE, max_size=4 * LOCK_TIMELINE)


@settings(max_examples=200, deadline=None)
@given(many)
def test_a_saturated_lock_never_overlaps_its_holders(reqs):
    """More sections queued than the timeline remembers (nothing pruned): none is left out,
    so no two overlap, and none starts before its request."""
    z = _zone()
    starts = _run(z, reqs)
    spans = sorted((s, s + length) for s, (_, length) in zip(starts, reqs, strict=True))
    for (_, e1), (s2, _) in zip(spans, spans[1:], strict=False):
        assert s2 >= e1
    assert all(s >= t for s, (t, _) in zip(starts, reqs, strict=True))


def test_zone_lock_is_never_held_more_than_the_time_there_is():
    """32 CPUs of page_fault1 on 512 MiB saturate zone->lock: its hold time in the window is
    at most the window (it was 1.65 times it while the timeline dropped sections)."""
    from allocator import simulate

    r = simulate(Spec.from_flat(dict(cpus=32, mem="512MiB", mix="page_fault1", seed=1,
                                     duration="30ms", warmup="10ms")))
    assert r["zone_lock_contended"] > 1000
    assert r["zone_lock_hold_ns"] <= r["sim_time_ns"]


def test_zone_lock_handoff_is_charged_only_when_another_cpu_held_it_last():
    z = _zone()
    z.cost[C_ZONE_LOCK_HANDOFF] = 480
    fixed, line = int(z.cost[C_ZONE_LOCK]), int(z.cost[C_CACHELINE_NEAR])
    took, held = [], []
    for t, cpu in ((0, 0), (10_000, 0), (20_000, 1), (30_000, 1), (40_000, 0)):
        z.eng[E_NOW] = t
        hold = int(z.lk[LOCK_ZONE, LK_HOLD_NS])
        zone_spin_lock(z, cpu)
        took.append(int(z.eng[E_NOW]) - t)
        spin_unlock(z, LOCK_ZONE)
        held.append(int(z.lk[LOCK_ZONE, LK_HOLD_NS]) - hold)
    # the first taker and a CPU taking it again pay the acquire alone; a hand-over pays the
    # lock's line (not hold) and the section's fixed part (hold)
    assert took == [fixed, fixed, line + fixed + 480, fixed, line + fixed + 480]
    assert held == [fixed, fixed, fixed + 480, fixed, fixed + 480]
