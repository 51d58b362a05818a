"""`sweep compile`: build the compiled engine of every (policy, mix) pair a scenario needs, once
per machine, before any point runs; `sweep run` does the same for the pairs of its plan.

An engine compiled here lands in the disk cache (allocator.compile_engine), which every later
process and local Ray worker loads in well under a second; compiling is the only slow start.
Pairs compile in parallel, one process each, `workers` at a time. On a Ray cluster each node
has its own cache: put `sweep compile SCENARIO` in cluster.yaml's setup_commands.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

from allocator import Spec, compile_engine, is_compiled, registered_mixes, registered_policies
from allocator.params.errors import SpecError
from allocator.sim.engine_cache import kernels_cached

# Measured on the 2-core development machine (CPU seconds, one process per pair): an engine
# alone 24.5 s (upstream/exit) and 27.1 s (pcp-buddy/exit); the very first pair on a machine
# also builds the shared kernels (buddy, pcp, locks, mixes) that every engine calls, 43-44 s
# in all. Two compiling at once on two cores took 1.2-1.4x as long each (51-59 s against 42 s,
# measured when an engine took 42 s alone).
ENGINE_COMPILE_S = 32.0
FIRST_COMPILE_S = 55.0


@dataclass(frozen=True)
class Pair:
    policy: str
    mix: str
    flat: dict  # the smallest point of the pair: its types are the engine's signature

    @property
    def name(self) -> str:
        return f"{self.policy}/{self.mix}"


def pairs_of(flats: Iterable[dict]) -> list[Pair]:
    """One pair per (policy, mix) among these points, each with its smallest point."""
    best: dict[tuple[str, str], dict] = {}
    for flat in flats:
        spec = Spec.from_flat(flat)
        key = (spec.policy, spec.mix)
        size = (spec.cpus, spec.mem_bytes)
        if key not in best or size < best[key][0]:
            best[key] = (size, flat)
    return [Pair(p, m, flat) for (p, m), (_, flat) in sorted(best.items())]


def builtin_pairs() -> list[Pair]:
    """Every built-in policy with every built-in mix that runs without input files (trace
    needs a pattern: compile it through a scenario that names one)."""
    small = {"cpus": 2, "mem": "256MiB", "duration": "1ms", "warmup": "0ms"}
    mixes = [m for m in sorted(registered_mixes()) if m != "trace"]
    return [Pair(p, m, {**small, "policy": p, "mix": m})
            for p in sorted(registered_policies()) for m in mixes]


def uncached(pairs: Iterable[Pair]) -> list[Pair]:
    return [p for p in pairs if not is_compiled(Spec.from_flat(p.flat))]


def estimate_s(todo: list[Pair], workers: int) -> float:
    """Compile time of `todo` (the pairs not cached yet: uncached()), `workers` at a time."""
    if not todo:
        return 0.0
    first = ENGINE_COMPILE_S if kernels_cached() else FIRST_COMPILE_S
    rest = ENGINE_COMPILE_S * (len(todo) - 1) / max(1, min(workers, len(todo)))
    return first + rest


def _compile(flat: dict) -> tuple[bool, float]:
    t0 = time.process_time()
    compiled = compile_engine(Spec.from_flat(flat))
    return compiled, time.process_time() - t0


def compile_pairs(
    todo: list[Pair],
    workers: int,
    on_start: Callable[[Pair, int, int], None] | None = None,
    on_done: Callable[[Pair, bool, float], None] | None = None,
    *,
    in_process: bool = False,
) -> list[tuple[Pair, bool, float]]:
    """Compile `todo` (the pairs not cached yet: uncached()): (pair, compiled?, CPU seconds)
    per pair, in the order they finished; a pair another one's compile already cached reports
    compiled? False. `on_start(pair, i, n)` as each starts (1-based), `on_done` as it ends."""
    done: list[tuple[Pair, bool, float]] = []

    def finish(pair: Pair, compiled: bool, cpu_s: float) -> None:
        done.append((pair, compiled, cpu_s))
        if on_done is not None:
            on_done(pair, compiled, cpu_s)

    if in_process or workers <= 1 or len(todo) <= 1:
        for i, pair in enumerate(todo, 1):
            if on_start is not None:
                on_start(pair, i, len(todo))
            finish(pair, *_compile(pair.flat))
        return done
    queue = list(enumerate(todo, 1))
    running: dict[Future, Pair] = {}
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        while queue or running:
            while queue and len(running) < workers:
                i, pair = queue.pop(0)
                if on_start is not None:
                    on_start(pair, i, len(todo))
                running[pool.submit(_compile, pair.flat)] = pair
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                finish(running.pop(fut), *fut.result())
    return done


def compile_printing(pairs: list[Pair], workers: int, console: Any, *,
                     in_process: bool = False) -> int:
    """Compile with a line per pair as it starts and ends; returns how many compiled."""
    todo = uncached(pairs)
    if not todo:
        return 0
    est = estimate_s(todo, workers)
    console.print(f"compiling {len(todo)} (policy, mix) pair(s) not in the cache, "
                  f"{min(workers, len(todo))} at a time (about {est / 60:.1f} min; once per "
                  "machine and simulator version)", markup=False, highlight=False)

    def started(pair: Pair, i: int, n: int) -> None:
        console.print(f"compiling {pair.name}, {i} of {n}", markup=False, highlight=False)

    def done(pair: Pair, compiled: bool, cpu_s: float) -> None:
        what = f"compiled in {cpu_s:.0f} s of CPU" if compiled else "found in the cache"
        console.print(f"  {pair.name}: {what}", markup=False, highlight=False)

    results = compile_pairs(todo, workers, started, done, in_process=in_process)
    return sum(1 for _, compiled, _ in results if compiled)


def compile_scenario(scenario: str | None, workers: int | None, out: Any, err: Any) -> None:
    """`sweep compile [SCENARIO]`: every pair the scenario needs (or every built-in pair)."""
    import os

    if workers is not None and workers < 1:
        raise SpecError(f"--workers must be at least 1, got {workers}")
    if scenario is None:
        pairs = builtin_pairs()
    else:
        from ..scenario import load_scenario

        pairs = pairs_of(p.flat for p in load_scenario(scenario).points)
    n = len(pairs)
    compiled = compile_printing(pairs, workers or os.cpu_count() or 1, err)
    out.print(f"{n} (policy, mix) pair(s): {compiled} compiled, {n - compiled} already cached",
              markup=False)
