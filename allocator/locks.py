"""Spinlocks as FIFO queues in simulated time (qspinlock).

A request at time t waits `max(0, free_at - t)`; the engine always runs the agent with the
earliest clock, so requests are served in arrival order. When the lock's cache line was last
held by another CPU, taking it costs one line transfer (near on the same socket, far across):
paid on every hand-off, contended or not, so a contended lock sustains one holder per
(hold + transfer). Spinning is allocator time: it counts towards %sys and latency.

One approximation: an operation runs to completion when its agent is picked, so a second lock
request later in the same operation can overtake requests of agents whose clocks lie in between.
The error is bounded by one operation's length (microseconds) and moves wait between agents
without changing the lock's total busy time.
"""

from __future__ import annotations

from ._jit import njit
from .costs import C_CACHELINE_FAR, C_CACHELINE_NEAR
from .knobs import K_CPUS_PER_SOCKET
from .layout import (
    E_NOW,
    EV_PCP_LOCK_REMOTE,
    EV_PCP_LOCK_REMOTE_WAIT_NS,
    LK_ACQ,
    LK_CONTENDED,
    LK_FREE_AT,
    LK_HOLD_NS,
    LK_OWNER,
    LK_T0,
    LK_WAIT_NS,
    LOCK_ZONE,
)


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
def spin_lock(z, lock, cpu, acquire_ns):
    """spin_lock(): queue behind the current holder, then take the lock. Returns the wait."""
    t = z.eng[E_NOW]
    free_at = z.lk[lock, LK_FREE_AT]
    wait = free_at - t if free_at > t else 0
    start = t + wait + line_transfer_ns(z, z.lk[lock, LK_OWNER], cpu)
    z.lk[lock, LK_ACQ] += 1
    if wait > 0:
        z.lk[lock, LK_CONTENDED] += 1
        z.lk[lock, LK_WAIT_NS] += wait
    z.lk[lock, LK_OWNER] = cpu
    z.lk[lock, LK_T0] = start
    z.eng[E_NOW] = start + acquire_ns
    return wait


@njit
def spin_trylock(z, lock, cpu, acquire_ns):
    """spin_trylock(): take the lock only if nobody holds it now."""
    if z.lk[lock, LK_FREE_AT] > z.eng[E_NOW]:
        return False
    spin_lock(z, lock, cpu, acquire_ns)
    return True


@njit
def spin_unlock(z, lock):
    now = z.eng[E_NOW]
    z.lk[lock, LK_HOLD_NS] += now - z.lk[lock, LK_T0]
    z.lk[lock, LK_FREE_AT] = now


@njit
def pcp_lock_id(agent):
    return LOCK_ZONE + 1 + agent


@njit
def pcp_spin_lock(z, owner, cpu, acquire_ns):
    """Take `owner`'s pcp->lock from `cpu` (a remote drain or a routed free when they
    differ)."""
    lock = pcp_lock_id(owner)
    wait = spin_lock(z, lock, cpu, acquire_ns)
    if owner != cpu:
        z.ev[EV_PCP_LOCK_REMOTE] += 1
        z.ev[EV_PCP_LOCK_REMOTE_WAIT_NS] += wait
