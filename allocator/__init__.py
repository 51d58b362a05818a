"""allocator: a simulator of the Linux page allocator (zone buddy lists, per-CPU page lists,
zone->lock and pcp->lock contention, reclaim), with the upstream PCP policy and the RFC's.

    from allocator import Spec, simulate
    result = simulate(Spec(cpus=32, mem_bytes=32 << 30, mix="kbuild", policy="upstream"))
    result["sys_frac"], result.samples["nr_free_pages"]

A policy or mix of your own is a class whose hooks are functions decorated with `hook` (the
simulator's compiler: numba's njit, cached on disk); see examples/my_policy.py.

Pure and deterministic given (spec, seed): no clocks, threads or Ray, and no files but the
compile cache (`compile_engine`, `is_compiled`: one engine per (policy, mix) per machine).
"""

from allocator.core.jit import SOURCE_HASH
from allocator.core.jit import njit as hook
from allocator.mixes.base import Mix, MixHooks, Param, get_mix, register_mix, registered_mixes
from allocator.mm.machine import Machine, derive_machine
from allocator.params.errors import SpecError
from allocator.policies.base import (
    Policy,
    PolicyHooks,
    get_policy,
    register_policy,
    registered_policies,
)
from allocator.sim.simulate import SimResult, compile_engine, is_compiled, machine_for, simulate
from allocator.sim.spec import Spec

__version__ = "0.1.0"
# The simulator's identity for result staleness: release version plus the hash of its sources.
SIM_VERSION = f"{__version__}+{SOURCE_HASH}"

__all__ = [
    "Machine",
    "Mix",
    "MixHooks",
    "Param",
    "Policy",
    "PolicyHooks",
    "SIM_VERSION",
    "SimResult",
    "Spec",
    "SpecError",
    "compile_engine",
    "derive_machine",
    "get_mix",
    "get_policy",
    "hook",
    "is_compiled",
    "machine_for",
    "register_mix",
    "register_policy",
    "registered_mixes",
    "registered_policies",
    "simulate",
]
