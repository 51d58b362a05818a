"""The compiled engine per (policy, mix) is built once and loaded from numba's disk cache by
every later process (allocator/sim/engine_cache.py). Asserted on numba's own cache statistics,
never on a time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import numba
import pytest

from allocator import Spec
from allocator.mixes.base import get_mix
from allocator.policies import Upstream
from allocator.policies.base import PolicyHooks, registered_policies
from allocator.sim.engine_cache import cached_run, engine_for

# A user's policy in its own file: its own source, so its engine is not yet in the cache.
_POLICY = textwrap.dedent(
    """
    # {token}
    from allocator.core.jit import njit
    from allocator.policies import Upstream
    from allocator.policies.base import register_policy

    @njit
    def no_decay(z, ps, cpu):
        return {ret}

    @register_policy
    class NoDecay(Upstream):
        name = "test-engine-cache-{token}"
        hooks = Upstream.hooks._replace(decay_pcp_high=no_decay)
    """
)

_CHILD = textwrap.dedent(
    """
    import json, sys
    from allocator import Spec, simulate
    from allocator.sim import engine_cache
    r = simulate(Spec.from_flat(dict(policy="cachepol:NoDecay", mix="page_fault1", cpus=4,
                                     mem="256MiB", duration="2ms", warmup="0ms")))
    (fn,) = engine_cache._LOADED.values()
    print(json.dumps({"hits": sum(fn.stats.cache_hits.values()),
                      "misses": sum(fn.stats.cache_misses.values()),
                      "ops": r["ops"], "sys_frac": r["sys_frac"],
                      "module": fn.py_func.__module__, "cache": fn.stats.cache_path}))
    """
)


def _child(tmp_path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(numba.config.DISABLE_JIT, reason="the cache is numba's")
@pytest.mark.slow
def test_second_process_loads_the_engine_and_an_edit_rebuilds_it(tmp_path):
    token = uuid.uuid4().hex  # a policy source never seen before, so never cached
    module = tmp_path / "cachepol.py"
    module.write_text(_POLICY.format(token=token, ret=""))
    runs = []
    try:
        runs.append(_child(tmp_path))
        runs.append(_child(tmp_path))
        first, second = runs
        assert (first["hits"], first["misses"]) == (0, 1)  # a new policy: compiled
        assert (second["hits"], second["misses"]) == (1, 0)  # the next process: loaded
        assert second["ops"] == first["ops"] and second["sys_frac"] == first["sys_frac"]
        # the user edits their hook: a new engine, not the stale one
        module.write_text(_POLICY.format(token=token, ret="None  # edited"))
        runs.append(_child(tmp_path))
        assert runs[-1]["module"] != first["module"]
        assert (runs[-1]["hits"], runs[-1]["misses"]) == (0, 1)
    finally:  # this test's engines are never used again: leave the user's cache as it was
        for run in runs:
            cache = Path(run["cache"])
            for path in [
                *cache.glob(f"{run['module']}*"),
                cache.parent / "engines" / f"{run['module']}.py",
            ]:
                path.unlink(missing_ok=True)


def test_every_builtin_pair_gets_a_cached_engine():
    if numba.config.DISABLE_JIT:
        pytest.skip("no engine to cache without the JIT")
    for cls in registered_policies().values():
        assert cached_run(cls.hooks, get_mix("kbuild").hooks.next_op) is not None, cls.name


@pytest.mark.slow
def test_a_hook_without_an_import_path_runs_uncached_with_the_same_numbers():
    from allocator.core.jit import njit
    from allocator.core.layout import E_END_NS
    from allocator.sim.simulate import setup

    decay = Upstream.hooks.decay_pcp_high

    @njit
    def local_decay(z, ps, cpu):  # defined in a function: no import path
        decay(z, ps, cpu)

    next_op = get_mix("kbuild").hooks.next_op
    hooks: PolicyHooks = Upstream.hooks._replace(decay_pcp_high=local_decay)
    assert cached_run(hooks, next_op) is None
    spec = Spec.from_flat(
        dict(policy="upstream", mix="kbuild", cpus=4, mem="256MiB", duration="20ms", warmup="0ms")
    )
    states = []
    for run in (engine_for(hooks, next_op), engine_for(Upstream.hooks, next_op)):
        zs, pss, ms, *_ = setup(spec, 0)
        zs[0].eng[E_END_NS] = spec.duration_ns
        run(zs, pss, ms)
        states.append(zs[0])
    uncached, cached = states
    assert int(cached.eng[E_END_NS]) == spec.duration_ns
    lazy = {"nxt", "prv", "nlist", "nstate", "norder"}  # np.empty page nodes (state.py)
    for name, a, b in zip(cached._fields, uncached, cached, strict=True):
        assert name in lazy or (a == b).all(), name
