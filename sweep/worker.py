"""One point, end to end: simulate, retry on error, store the result or the failure.

This is the function every executor runs (in-process or as a Ray task): the worker writes its
own files, so nothing but a small status travels back to the driver.
"""

from __future__ import annotations

import contextlib
import time
import traceback
from functools import cache
from typing import Any

from allocator import SIM_VERSION, Spec, get_mix
from allocator.sim.simulate import simulate

from . import store
from .identity import pair_id
from .trace.pattern import mix_inputs

# The first axis columns of every point row (the rest follow from the flat spec).
_TOP_COLUMNS = {
    "cpus": "cpus",
    "mem": "mem_bytes",
    "mix": "mix",
    "policy": "policy",
    "seed": "seed",
    "duration": "duration_ns",
    "warmup": "warmup_ns",
    "sample_interval": "sample_interval_ns",
    "duration_cap": "duration_cap_ns",
}


def column_name(key: str) -> str:
    """`knob.merge_mode` -> `knob_merge_mode`, `mix.purge.purger_cpus` -> `mix_purge_purger_cpus`:
    names SQL takes without quotes."""
    return _TOP_COLUMNS.get(key) or key.replace(".", "_").replace("-", "_")


def param_columns(flat: dict[str, Any]) -> dict[str, Any]:
    """The point's parameters as typed columns: mix parameters resolved (bytes, ns, fractions
    as floats) so that a swept parameter sorts and aggregates as a number."""
    out: dict[str, Any] = {}
    mix = get_mix(flat["mix"])
    kinds = {p.name: p.kind for p in mix.params}
    resolved = mix.resolve_params({k.rpartition(".")[2]: v for k, v in flat.items()
                                   if k.startswith("mix.")})
    for key, value in flat.items():
        if value == "auto" and key in ("duration", "warmup"):
            # the length run and the warm-up found are the record's warmup_ns/window_ns
            out[f"{key}_auto"] = True
            value = None
        elif key in ("duration", "warmup"):
            out[f"{key}_auto"] = False
        if key.startswith("mix."):
            name = key.rpartition(".")[2]
            value = resolved[name]
            if kinds[name] == "frac":
                value = value / 1e6
        out[column_name(key)] = value
    return out


@cache
def warm_up(policy: str, mix: str) -> None:
    """Compile this process's engine for (policy, mix) on a tiny run, so that the wall time
    stored with a point is the simulation's, not the compiler's."""
    simulate(Spec(cpus=1, mem_bytes=64 << 20, mix=mix, policy=policy, duration_ns=1000))


def run_point(
    root: str,
    sweep: str,
    flat: dict[str, Any],
    ids: tuple[str, str, int],
    retries: int,
    run: str = "",
) -> dict[str, Any]:
    """Simulate `flat` (a canonical flat spec), store it; on error retry `retries` times, then
    store the failure. Returns a small status dict. `run` names the sweep run the point belongs
    to: a point another live run has claimed is left to it ("claimed")."""
    param_id, point_id, replicate = ids
    name = store.file_name(param_id, point_id)
    if not store.claim(root, sweep, name, run):  # another live run is computing it now
        return {"point_id": point_id, "status": "claimed"}
    try:
        return _run_point(root, sweep, flat, ids, retries)
    finally:
        store.release(root, sweep, name)


def _run_point(
    root: str,
    sweep: str,
    flat: dict[str, Any],
    ids: tuple[str, str, int],
    retries: int,
) -> dict[str, Any]:
    param_id, point_id, replicate = ids
    attempts = 0
    with contextlib.suppress(Exception):  # the point's own run reports what is wrong
        warm_up(str(flat["policy"]), str(flat["mix"]))
    while True:
        attempts += 1
        started = time.perf_counter()
        try:
            spec = Spec.from_flat(flat)
            result = simulate(spec, inputs=mix_inputs(spec))
            wall = time.perf_counter() - started
            row = {
                "point_id": point_id,
                "param_id": param_id,
                "sweep": sweep,
                "replicate": replicate,
                "pair_id": pair_id(flat, replicate),
                "sim_version": SIM_VERSION,
                **param_columns(flat),
                "params": store.to_json(flat),
                **dict(result),
                "duration_ns": result["warmup_ns"] + result["window_ns"],  # as run
                "wall_s": wall,
                "host": store.provenance()["host"],
            }
            store.write_point(root, sweep, row, dict(result.samples), wall)
            return {"point_id": point_id, "status": "done", "wall_s": wall,
                    "attempts": attempts, "ops": result["ops"]}
        except Exception as exc:  # a point's failure is data: recorded, and the sweep goes on
            if attempts <= retries:
                continue
            error = f"{type(exc).__name__}: {exc}"
            try:
                store.write_failure(root, sweep, {
                    "point_id": point_id,
                    "param_id": param_id,
                    "sweep": sweep,
                    "replicate": replicate,
                    "sim_version": SIM_VERSION,
                    "params": store.to_json(flat),
                    "error": error,
                    "traceback": traceback.format_exc(),
                    "attempts": attempts,
                    "host": store.provenance()["host"],
                })
            except OSError as again:  # a full disk, a lost mount: say so, store nothing
                error += f" (and its failure could not be recorded: {again})"
            return {"point_id": point_id, "status": "failed", "attempts": attempts,
                    "error": error}
