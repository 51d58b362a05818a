"""Random numbers for the workloads: L'Ecuyer's MRG32k3a, one stream per agent.

All arithmetic fits in int64 (products stay below 2^53), so the compiled and the pure-Python
kernels give bit-identical streams on any machine. Streams are seeded from (seed, agent) with a
hash, so an agent's stream does not depend on how many agents there are.
"""

from __future__ import annotations

import hashlib

import numpy as np

from allocator.core.jit import njit

_M1 = 4294967087
_M2 = 4294944443
_A12 = 1403580
_A13N = 810728
_A21 = 527612
_A23N = 1370589


def seed_streams(seed: int, n_streams: int, salt: str = "") -> np.ndarray:
    """A (n_streams, 6) int64 state array: stream i is derived from (seed, salt, i)."""
    out = np.empty((n_streams, 6), dtype=np.int64)
    for i in range(n_streams):
        digest = hashlib.blake2b(f"{seed}/{salt}/{i}".encode(), digest_size=48).digest()
        words = [int.from_bytes(digest[8 * k : 8 * k + 8], "little") for k in range(6)]
        # Each component must be below its modulus and each triple not all zero.
        out[i, :3] = [1 + w % (_M1 - 1) for w in words[:3]]
        out[i, 3:] = [1 + w % (_M2 - 1) for w in words[3:]]
    return out


@njit
def rand32(rng, i):
    """Next value of stream i, uniform in [0, 4294967087)."""
    p1 = (_A12 * rng[i, 1] - _A13N * rng[i, 0]) % _M1
    rng[i, 0] = rng[i, 1]
    rng[i, 1] = rng[i, 2]
    rng[i, 2] = p1
    p2 = (_A21 * rng[i, 5] - _A23N * rng[i, 3]) % _M2
    rng[i, 3] = rng[i, 4]
    rng[i, 4] = rng[i, 5]
    rng[i, 5] = p2
    return (p1 - p2) % _M1


@njit
def rand_below(rng, i, n):
    """Uniform integer in [0, n) for 0 < n < 2^31 (the product stays below 2^63)."""
    return (rand32(rng, i) * n) // _M1


@njit
def rand_permille(rng, i):
    """Uniform integer in [0, 1000)."""
    return (rand32(rng, i) * 1000) // _M1


@njit
def rand_around(rng, i, mean, spread_permille):
    """Uniform integer in mean * [1 - s, 1 + s], s = spread_permille / 1000; at least 0."""
    lo = mean - mean * spread_permille // 1000
    width = 2 * (mean * spread_permille // 1000) + 1
    if width < (1 << 31):
        v = lo + (rand32(rng, i) * width) // _M1
    else:  # keep the product below 2^63: draw in steps of 1024 (widths up to 2^41)
        v = lo + ((rand32(rng, i) * (width >> 10)) // _M1 << 10)
    return v if v > 0 else 0
