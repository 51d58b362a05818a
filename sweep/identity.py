"""Stable identities: a point's id, its parameter id, and its seed.

- `param_id`: hash of the point's canonical parameters (the flat spec without the seed, sorted
  keys) and its replicate index. The same point of the same scenario always has it.
- `point_id`: `param_id` plus the simulator version: a changed simulator gives new ids, and a
  stored point whose param_id matches but whose point_id does not is *stale*, not wrong.
- the seed: from the scenario's seed, the replicate index and the *workload* parameters only
  (cpus, memory, mix and its parameters, durations), never the policy, knobs or costs, and
  never the order of execution. So upstream and pcp-buddy run the very same workload stream on
  each replicate (common random numbers): their difference is the policy's, not noise.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

WORKLOAD_KEYS = ("cpus", "mem", "mix", "duration", "warmup", "sample_interval")


def _digest(obj: Any, size: int = 8) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(text.encode(), digest_size=size).hexdigest()


def param_id(flat: dict[str, Any], replicate: int) -> str:
    """Identity of a point's parameters (the seed excluded: it derives from them)."""
    params = {k: v for k, v in flat.items() if k != "seed"}
    return _digest({"params": params, "replicate": replicate})


def pair_id(flat: dict[str, Any], replicate: int) -> str:
    """Identity of a point with its policy left out: an upstream row and a pcp-buddy row with
    the same pair_id ran the very same workload (same parameters, replicate and seed)."""
    params = {k: v for k, v in flat.items() if k not in ("seed", "policy")}
    return _digest({"pair": params, "replicate": replicate})


def point_id(pid: str, sim_version: str) -> str:
    return _digest({"param_id": pid, "sim": sim_version})


def derive_seed(base_seed: int, replicate: int, flat: dict[str, Any]) -> int:
    workload = {
        k: v for k, v in flat.items() if k in WORKLOAD_KEYS or k.startswith("mix.")
    }
    digest = _digest({"base": base_seed, "replicate": replicate, "workload": workload})
    return int(digest, 16) & 0x7FFFFFFF
