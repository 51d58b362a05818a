"""Spinlocks as FIFO queues in simulated time (qspinlock).

The engine runs the agent with the earliest clock, one whole operation at a time. Inside an
operation a lock may be requested well after the agent's start time (after a long merge pass,
say), so requests reach a lock out of time order. Each lock therefore keeps a timeline of the
critical sections already placed (`Z.lkres`), and a critical section is placed when it ends
(`spin_unlock`, when its length is known): at the earliest time at or after its request where
it fits between the sections already there. The wait is the distance from the request to that
time; the holder's time moves on by it. A request that comes later in simulated time than a
section already placed queues behind it; one that comes earlier slips in before it if it fits,
as FIFO service would have it. (What the model cannot do is push back a section already
placed: when two sections overlap that way, the one processed second waits. The error is
bounded by one hold time, microseconds, not by the length of an operation.)

Taking a lock whose cache line another CPU wrote last costs one line transfer (near on the
same socket, far across), contended or not, and counts as part of the section. Spinning is
allocator time: it counts towards %sys and latency.
"""

from __future__ import annotations

from allocator.core.jit import njit
from allocator.core.layout import (
    AG_BATCH_LOCK,
    AG_BATCH_ZONE,
    AG_IN_BATCH,
    E_GMIN,
    E_NOW,
    EV_PCP_LOCK_REMOTE,
    EV_PCP_LOCK_REMOTE_WAIT_NS,
    LK_ACQ,
    LK_CONTENDED,
    LK_HOLD_NS,
    LK_NRES,
    LK_OWNER,
    LK_REMOTE,
    LK_T0,
    LK_TRANSFER,
    LK_WAIT_NS,
    LOCK_ZONE,
    ZC_ZONE_ID,
)
from allocator.params.costs import (
    C_CACHELINE_FAR,
    C_CACHELINE_NEAR,
    C_ZONE_LOCK,
    C_ZONE_LOCK_HANDOFF,
)
from allocator.params.knobs import K_CPUS_PER_SOCKET


@njit
def line_transfer_ns(z, from_cpu, to_cpu):
    """Cost of moving a modified cache line from one CPU to another (0 if the same CPU)."""
    if from_cpu < 0 or from_cpu == to_cpu:
        return 0
    per_socket = z.knob[K_CPUS_PER_SOCKET]
    if from_cpu // per_socket == to_cpu // per_socket:
        return z.cost[C_CACHELINE_NEAR]
    return z.cost[C_CACHELINE_FAR]


@njit
def _prune(z, lock):
    """Forget sections that ended before every agent's clock: no request can reach them.
    Done when the timeline fills up; stale sections cost nothing to searches meanwhile."""
    n = z.lk[lock, LK_NRES]
    gmin = z.eng[E_GMIN]
    if n == 0 or z.lkres[lock, 1] > gmin:
        return  # ends are sorted: the first section still ends ahead of every agent
    keep = 0
    for i in range(n):
        if z.lkres[lock, 2 * i + 1] > gmin:
            z.lkres[lock, 2 * keep] = z.lkres[lock, 2 * i]
            z.lkres[lock, 2 * keep + 1] = z.lkres[lock, 2 * i + 1]
            keep += 1
    z.lk[lock, LK_NRES] = keep


@njit
def _coalesce(z, lock):
    """The timeline is full of sections no request can pass yet (a saturated lock: more
    sections queued ahead of the earliest agent than it holds): merge the two neighbours with
    the smallest gap into one span, the gap counted as busy. A request that would have fitted
    in that gap waits for the span instead (at most the gap longer); no section is ever left
    out of the timeline, so two holders never overlap."""
    n = z.lk[lock, LK_NRES]
    best = 0
    best_gap = z.lkres[lock, 2] - z.lkres[lock, 1]
    for i in range(1, n - 1):
        gap = z.lkres[lock, 2 * i + 2] - z.lkres[lock, 2 * i + 1]
        if gap < best_gap:
            best_gap = gap
            best = i
    z.lkres[lock, 2 * best + 1] = z.lkres[lock, 2 * best + 3]
    for i in range(best + 1, n - 1):
        z.lkres[lock, 2 * i] = z.lkres[lock, 2 * i + 2]
        z.lkres[lock, 2 * i + 1] = z.lkres[lock, 2 * i + 3]
    z.lk[lock, LK_NRES] = n - 1


@njit
def _place(z, lock, t, length):
    """Earliest start >= t where [start, start + length) fits between the placed sections
    (kept sorted; they do not overlap, so their ends are sorted too); records it and returns
    the start. The common case, no section ending after t, appends without a search."""
    n = z.lk[lock, LK_NRES]
    if n * 2 >= z.lkres.shape[1]:
        _prune(z, lock)
        n = z.lk[lock, LK_NRES]
        if n * 2 >= z.lkres.shape[1]:
            _coalesce(z, lock)
            n = z.lk[lock, LK_NRES]
    start = t
    pos = n
    if n > 0 and z.lkres[lock, 2 * n - 1] > t:
        for i in range(n):
            s = z.lkres[lock, 2 * i]
            e = z.lkres[lock, 2 * i + 1]
            if e <= start:
                continue
            if s >= start + length:
                pos = i
                break
            start = e
    for i in range(n, pos, -1):
        z.lkres[lock, 2 * i] = z.lkres[lock, 2 * i - 2]
        z.lkres[lock, 2 * i + 1] = z.lkres[lock, 2 * i - 1]
    z.lkres[lock, 2 * pos] = start
    z.lkres[lock, 2 * pos + 1] = start + length
    z.lk[lock, LK_NRES] = n + 1
    return start


@njit
def _busy_at(z, lock, t):
    """Does a placed section cover time t? Scans back from the latest section."""
    for i in range(z.lk[lock, LK_NRES] - 1, -1, -1):
        if z.lkres[lock, 2 * i + 1] <= t:
            return False
        if z.lkres[lock, 2 * i] <= t:
            return True
    return False


@njit
def spin_lock(z, lock, cpu, acquire_ns):
    """spin_lock(): take the lock at the agent's current time; the wait, if any, is known and
    added when the section ends (spin_unlock)."""
    t = z.eng[E_NOW]
    transfer = line_transfer_ns(z, z.lk[lock, LK_OWNER], cpu)
    z.lk[lock, LK_ACQ] += 1
    z.lk[lock, LK_OWNER] = cpu
    z.lk[lock, LK_T0] = t
    z.lk[lock, LK_TRANSFER] = transfer
    z.eng[E_NOW] = t + transfer + acquire_ns


@njit
def zone_spin_lock(z, cpu):
    """spin_lock(&zone->lock) (rmqueue_bulk(), free_pcppages_bulk(), free_one_page(),
    rmqueue_buddy(), mm/page_alloc.c v7.0): acquire + release, and when another CPU held it
    last, the section's fixed part (cost.zone_lock_handoff_ns: the lines the section works on
    come over with the lock), counted in the hold."""
    prev = z.lk[LOCK_ZONE, LK_OWNER]
    fixed = z.cost[C_ZONE_LOCK]
    if prev >= 0 and prev != cpu:
        fixed += z.cost[C_ZONE_LOCK_HANDOFF]
    spin_lock(z, LOCK_ZONE, cpu, fixed)


@njit
def spin_trylock(z, lock, cpu, acquire_ns):
    """spin_trylock(): take the lock only if no placed section covers the current time."""
    if _busy_at(z, lock, z.eng[E_NOW]):
        return False
    spin_lock(z, lock, cpu, acquire_ns)
    return True


@njit
def spin_unlock(z, lock):
    """Place the section on the lock's timeline; the holder waits for the gap it got."""
    t0 = z.lk[lock, LK_T0]
    end = z.eng[E_NOW]
    start = _place(z, lock, t0, end - t0)
    wait = start - t0
    z.eng[E_NOW] = end + wait
    z.lk[lock, LK_HOLD_NS] += end - t0 - z.lk[lock, LK_TRANSFER]
    if wait > 0:
        z.lk[lock, LK_CONTENDED] += 1
        z.lk[lock, LK_WAIT_NS] += wait
        if z.lk[lock, LK_REMOTE]:
            z.ev[EV_PCP_LOCK_REMOTE_WAIT_NS] += wait
    z.lk[lock, LK_REMOTE] = 0


@njit
def pcp_lock_id(agent):
    return LOCK_ZONE + 1 + agent


@njit
def pcp_spin_lock(z, owner, cpu, acquire_ns):
    """Take `owner`'s pcp->lock from `cpu` (a remote drain or a routed free when they
    differ)."""
    lock = pcp_lock_id(owner)
    spin_lock(z, lock, cpu, acquire_ns)
    if owner != cpu:
        z.ev[EV_PCP_LOCK_REMOTE] += 1
        z.lk[lock, LK_REMOTE] = 1


@njit
def pcp_spin_trylock(z, owner, cpu, acquire_ns):
    """pcp_spin_trylock() on `owner`'s pcp->lock from `cpu`, counted as pcp_spin_lock() counts
    a remote acquisition. Returns whether it was taken."""
    lock = pcp_lock_id(owner)
    if not spin_trylock(z, lock, cpu, acquire_ns):
        return False
    if owner != cpu:
        z.ev[EV_PCP_LOCK_REMOTE] += 1
        z.lk[lock, LK_REMOTE] = 1
    return True


@njit
def pcp_spin_relock(z, owner, cpu, acquire_ns):
    """Drop `owner`'s pcp->lock and retake it with a trylock, as v6.19's chunked drain does
    between chunks (free_frozen_page_commit(): pcp_spin_unlock(), pcp_spin_trylock()) so that
    others get a turn. Returns False, the lock no longer held, if someone took it meanwhile."""
    lock = pcp_lock_id(owner)
    remote = z.lk[lock, LK_REMOTE]
    spin_unlock(z, lock)
    if _busy_at(z, lock, z.eng[E_NOW]):
        return False
    spin_lock(z, lock, cpu, acquire_ns)
    z.lk[lock, LK_REMOTE] = remote
    return True


# --- free batches: free_unref_folios() keeps one pcp->lock across a folio batch -------------
# release_pages() / folios_put_refs() hand free_unref_folios() up to FOLIO_BATCH_SIZE (31)
# folios; it takes the pcp->lock once and keeps it while the folios' zone stays the same
# (mm/page_alloc.c, v6.10 .. v7.0-rc). The engine marks an agent as freeing a batch
# (AG_IN_BATCH); a policy's free hook then leaves the lock it took in AG_BATCH_LOCK for the next
# page, and the engine releases it when the batch ends.


@njit
def batch_lock_held(z, cpu, owner):
    """Does `cpu` hold `owner`'s pcp->lock from an earlier page of its free batch?"""
    return z.ag[cpu, AG_BATCH_LOCK] == pcp_lock_id(owner)


@njit
def batch_lock_release(z, cpu):
    """Release the pcp->lock a free batch holds, if any (the batch ended, or its next page
    needs another PCP: free_unref_folios() unlocks before it locks the next zone's)."""
    lock = z.ag[cpu, AG_BATCH_LOCK]
    if lock > 0:
        z.ag[cpu, AG_BATCH_LOCK] = 0
        spin_unlock(z, lock)


@njit
def batch_lock_done(z, cpu, owner):
    """After a free under `owner`'s pcp->lock: keep it for the batch's next page, or release it
    when the agent is not freeing a batch."""
    if z.ag[cpu, AG_IN_BATCH]:
        z.ag[cpu, AG_BATCH_LOCK] = pcp_lock_id(owner)
        z.ag[cpu, AG_BATCH_ZONE] = z.zc[ZC_ZONE_ID]
    else:
        spin_unlock(z, pcp_lock_id(owner))
