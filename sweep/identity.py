"""Stable identities: a point's id, its parameter id, and its seed.

- `canonical`: the one spelling of a point, taken before any id: `Spec.to_flat` (sizes in
  bytes, durations in ns), every mix parameter in its unit's number (`map_bytes = "4MiB"` and
  `4194304` alike), and every cost, knob and mix parameter at its default left out (set to its
  default and left unset are the same point). A point already spelt so keeps the id it had.

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


def canonical(flat: dict[str, Any]) -> dict[str, Any]:
    """`flat` (as `Spec.to_flat` gives it, so already valid) in its one spelling."""
    from allocator import get_mix

    mix = get_mix(str(flat.get("mix", "kbuild")))
    params = {p.name: p for p in mix.params}
    defaults = flat_defaults()
    out: dict[str, Any] = {}
    for key, value in flat.items():
        kind, dot, name = key.partition(".")
        if dot and kind == "mix":  # (a top-level key is as Spec.to_flat spelt it)
            param = params[name.rpartition(".")[2]]
            if param.kind != "path":  # a path is kept as written: no default, no unit
                value = _param_number(param, param.resolve(value, mix.name))
                if value == _param_number(param, param.resolve(param.default, mix.name)):
                    continue
        elif key in defaults and defaults[key] == value:  # a cost or knob at its default
            continue
        out[key] = value
    return dict(sorted(out.items()))


def flat_defaults() -> dict[str, Any]:
    """`cost.<name>` and `knob.<name>` (the engine's and every registered policy's) ->
    default, as flat keys spell them."""
    from allocator.params.costs import default_costs
    from allocator.params.knobs import USER_KNOBS
    from allocator.policies.base import registered_policies

    knobs = [*USER_KNOBS, *(k for pol in registered_policies().values() for k in pol.knobs)]
    return ({f"cost.{k}": v for k, v in default_costs().items()}
            | {f"knob.{k.name}": k.default for k in knobs})


def _param_number(param: Any, resolved: int | str) -> int | float | str:
    """A mix parameter as it is written canonically: a fraction as the fraction the mix was
    handed (ppm back to [0, 1]), everything else as resolved (bytes, ns, an integer, a path)."""
    return resolved / 1e6 if param.kind == "frac" else resolved


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
