"""Compilation as a visible step: `sweep compile`, the plan's count of pairs to compile, and
`simulate` saying it compiles. Two policies of this test's own, never seen before, so their
engines are not in the cache however the suite ran."""

from __future__ import annotations

import re
import textwrap
import uuid

import numba
import pytest

from allocator.sim.engine_cache import engine_dir

from .cli_run import run

_POLICY = textwrap.dedent(
    """
    from allocator.core.jit import njit
    from allocator.policies import Upstream

    @njit
    def no_decay(z, ps, cpu):
        return None  # {token}

    class NoDecay(Upstream):
        name = "nodecay-{token}"
        hooks = Upstream.hooks._replace(decay_pcp_high=no_decay)
    """
)


def _forget_engines(modules: list[str]) -> None:
    """Remove this test's engines from the user's cache: they are never used again."""
    root = engine_dir()
    for gen in root.glob("pcp_sweep_engine_*.py"):
        if any(f"from {m} import" in gen.read_text() for m in modules):
            for cached in root.parent.glob(f"engines_*/{gen.stem}*"):
                cached.unlink(missing_ok=True)
            gen.unlink(missing_ok=True)


def _pairs_to_compile(out: str) -> str:
    found = re.search(r"\(policy, mix\) pairs to compile\s*│?\s*(\d+ of \d+)", out)
    assert found, out
    return found.group(1)


@pytest.mark.skipif(numba.config.DISABLE_JIT, reason="nothing is compiled without the JIT")
@pytest.mark.slow
def test_compile_step_reports_each_pair_and_the_plan_counts_them(tmp_path, capsys, monkeypatch):
    token = uuid.uuid4().hex[:12]
    mods = [f"pol_a_{token}", f"pol_b_{token}"]
    for m in mods:
        (tmp_path / f"{m}.py").write_text(_POLICY.format(token=f"{m}"))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # the compile processes import them too
    scen = tmp_path / "two.toml"
    scen.write_text(textwrap.dedent(f"""
        [sweep]
        name = "compile-test"
        duration = "2ms"
        [grid]
        policy = ["{mods[0]}:NoDecay", "{mods[1]}:NoDecay"]
        [fixed]
        cpus = 2
        mem = "256MiB"
        mix = "page_fault1"
    """))
    results = str(tmp_path / "results")
    try:
        code, out, _ = run(["run", str(scen), "--results", results, "--dry-run"], capsys)
        assert code == 0 and _pairs_to_compile(out) == "2 of 2"

        code, _, err = run(["simulate", "--cpus", "2", "--mem", "256MiB", "--mix",
                            "page_fault1", "--policy", f"{mods[1]}:NoDecay",
                            "--duration", "2ms", "--json"], capsys)
        assert code == 0
        assert f"compiling {mods[1]}:NoDecay/page_fault1" in err
        code, out, _ = run(["run", str(scen), "--results", results, "--dry-run"], capsys)
        assert _pairs_to_compile(out) == "1 of 2"

        code, out, err = run(["compile", str(scen), "--workers", "2"], capsys)
        assert code == 0
        assert f"compiling {mods[0]}:NoDecay/page_fault1, 1 of 1" in err
        assert re.search(rf"{mods[0]}:NoDecay/page_fault1: compiled in \d+ s of CPU", err)
        assert "2 (policy, mix) pair(s): 1 compiled, 1 already cached" in out

        code, out, _ = run(["run", str(scen), "--results", results, "--dry-run"], capsys)
        assert _pairs_to_compile(out) == "0 of 2"
        code, _, err = run(["simulate", "--cpus", "2", "--mem", "256MiB", "--mix",
                            "page_fault1", "--policy", f"{mods[0]}:NoDecay",
                            "--duration", "2ms", "--json"], capsys)
        assert code == 0 and "compiling" not in err
    finally:
        _forget_engines(mods)


def test_compile_refuses_bad_workers(capsys):
    code, _, err = run(["compile", "--workers", "0"], capsys)
    assert code == 2 and "--workers must be at least 1" in err
