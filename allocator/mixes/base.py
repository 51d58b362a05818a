"""Workload mixes: per-CPU operation streams from a seed. A registry by name.

A mix has typed parameters and one compiled hook:

    next_op(z, ms, cpu) -> (op, order, migratetype, gfp, list, user_ns)

called each time CPU `cpu` is ready for its next operation. `op` is one of consts.OP_*: allocate
an entry and link it on one of the mix's lists (or the LRU, for page cache), free the oldest or
newest entry of a mix list, or do nothing; `user_ns` is the time the CPU then spends outside
the allocator. `z.ag[cpu, AG_LAST_OK]` tells whether the CPU's previous allocation succeeded,
`z.clock[cpu]` is its time, `z.rng` its random stream (rng.py). Mix lists are numbered from 0 to
`lists(nr_cpus) - 1`; `mix_list_len(z, k)` gives a list's length.
"""

from __future__ import annotations

import math
from collections import namedtuple
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from allocator.core.jit import njit
from allocator.core.layout import PG_NR_LRU, ZC_L_MIX0, ZC_NODE
from allocator.mm.machine import Machine
from allocator.params.errors import SpecError
from allocator.params.knobs import K_FOLIO_BATCH
from allocator.params.registry import Registry
from allocator.params.units import parse_duration, parse_size

MixHooks = namedtuple("MixHooks", ["next_op"])

KINDS = ("int", "bytes", "ns", "frac", "path")


@dataclass(frozen=True)
class Param:
    """A mix parameter. `kind`: int; bytes (sizes like 128MiB); ns (durations like 750ms);
    frac (a fraction in [0, 1], handed to the kernel in parts per million); path (an input
    file, handed over as a string)."""

    name: str
    default: object
    kind: str
    doc: str
    lo: float = 0
    hi: float = math.inf

    def resolve(self, value: object, mix: str) -> int | str:
        field = f"mix.{mix}.{self.name}"
        if self.kind == "path":
            if not isinstance(value, str) or not value:
                raise SpecError(f"{field} must be a file path ({self.doc}), got {value!r}")
            if not Path(value).is_file():
                raise SpecError(f"{field}: no such file {value!r} ({self.doc})")
            return value
        if self.kind == "bytes":
            v = parse_size(value, field)
        elif self.kind == "ns":
            v = parse_duration(value, field)
        elif self.kind == "frac":
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise SpecError(f"{field} must be a fraction in [0, 1], got {value!r}")
            try:
                f = float(value)
            except ValueError:
                raise SpecError(f"{field} must be a fraction in [0, 1], got {value!r}") from None
            if not 0.0 <= f <= 1.0:
                raise SpecError(f"{field} must be a fraction in [0, 1], got {value!r}")
            v = int(round(f * 1_000_000))
            return v
        else:
            if isinstance(value, bool) or not isinstance(value, int):
                raise SpecError(f"{field} must be an integer, got {value!r}")
            v = value
        if not self.lo <= v <= self.hi:
            hi = "" if self.hi == math.inf else f", at most {int(self.hi)}"
            raise SpecError(f"{field} must be at least {int(self.lo)}{hi}, got {value!r}")
        return v


IDLE_NS = 10_000_000  # an idle CPU (no task on it) looks again every 10 ms: none ever arrives


def check_tasks(tasks: int, cpus: int, nodes: int, mix: str, name: str = "tasks") -> None:
    """`tasks` (0: one per CPU) must fit the machine's CPUs and split evenly over its nodes."""
    if tasks > cpus:
        raise SpecError(f"mix.{mix}.{name} must be at most the machine's {cpus} CPUs (one per "
                        f"CPU), got {tasks}")
    if tasks % nodes:
        raise SpecError(f"mix.{mix}.{name} must be a multiple of nodes ({nodes}): the nodes "
                        f"share the tasks evenly, got {tasks}")


def node_tasks(machine: Machine, tasks: int, mix: str, name: str = "tasks") -> int:
    """The tasks each simulated node runs: `tasks` (0: one per CPU) shared evenly by the
    nodes."""
    if tasks == 0:
        return machine.node_cpus
    check_tasks(tasks, machine.machine_cpus or machine.cpus, machine.nodes, mix, name)
    return tasks // machine.nodes


def idle_mask(machine: Machine, per_node: int) -> np.ndarray:
    """1 for the CPUs that idle: on each simulated node, those after its first `per_node`
    (CPUs are numbered node by node)."""
    cpn = machine.node_cpus
    return (np.arange(machine.cpus) % cpn >= per_node).astype(np.int64)


def kernel_frac_param(default: float, basis: str) -> Param:
    """Every mix's `kernel_frac`: the share of its time outside the page allocator that is
    kernel time all the same (faults, syscalls, zeroing, page tables, exit_mmap), so that
    kernel_sys_frac = sys_frac + kernel_frac * (1 - sys_frac) is %sys as mpstat or `time`
    report it for the whole kernel, the RFC's unit. `basis` says where the default comes from."""
    return Param(
        "kernel_frac",
        default,
        "frac",
        f"non-allocator kernel share of the time outside the allocator ({basis})",
    )


class Mix:
    """Base class. Subclasses set `name`, `params`, `hooks` and implement `lists`/`build`."""

    name: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    hooks: ClassVar[MixHooks]
    # rough simulated operations per CPU per simulated second: `sweep run --dry-run`'s time
    # estimate before anything comparable is stored
    ops_per_cpu_second: ClassVar[int] = 500_000

    def lists(self, nr_cpus: int) -> int:
        return 0

    def build(self, machine: Machine, values: dict[str, int]) -> Any:
        """The mix state `ms` (a `core.structs.state_struct` of scalars and arrays) for this
        machine."""
        raise NotImplementedError

    def idle_cpus(self, ms: Any, nr_cpus: int) -> np.ndarray:
        """1 for each CPU that runs none of the mix's tasks (`tasks`, `jobs` below the CPU
        count), else 0. Default: none idle."""
        return np.zeros(nr_cpus, dtype=np.int64)

    def cpu_classes(self, ms: Any, nr_cpus: int) -> np.ndarray:
        """Each CPU's role (0, 1, ...): CPUs of one class run the same stream, so their PCPs
        converge alike; steady.high_converged asks every class to settle. Default: running
        and idle CPUs (idle_cpus)."""
        return self.idle_cpus(ms, nr_cpus).astype(np.int64)

    @classmethod
    def check_machine(cls, values: dict[str, int], cpus: int, nodes: int) -> None:
        """Refuse parameters this machine (all its `cpus`, over `nodes`) cannot run, as Spec
        validates, before anything is built. Default: none."""

    def busy_frac(self, ms: Any, nr_cpus: int) -> float:
        """The share of the CPUs that run the mix's tasks (idle_cpus: the rest): the part of
        CPU time kernel_frac applies to."""
        return float(nr_cpus - self.idle_cpus(ms, nr_cpus).sum()) / nr_cpus

    @classmethod
    def resolve_params(cls, overrides: dict[str, object]) -> dict[str, int]:
        table = {p.name: p for p in cls.params}
        for key in overrides:
            if key not in table:
                known = ", ".join(table) or "none"
                raise SpecError(f"unknown parameter 'mix.{cls.name}.{key}'; known: {known}")
        return {p.name: p.resolve(overrides.get(p.name, p.default), cls.name) for p in cls.params}

    @classmethod
    def describe(cls) -> str:
        return (cls.__doc__ or cls.name).strip().splitlines()[0]


def _load_builtins() -> None:
    import allocator.mixes  # noqa: F401  (registers the built-ins)


_REGISTRY: Registry[type[Mix]] = Registry("mix", "mixes", Mix, _load_builtins)


def register_mix(cls: type[Mix]) -> type[Mix]:
    """Class decorator: make a mix selectable by its `name`."""
    return _REGISTRY.register(cls)


def registered_mixes() -> dict[str, type[Mix]]:
    return _REGISTRY.all()


def get_mix(name: str) -> type[Mix]:
    """A registered mix by name, or `module:Class` imported from the user's code."""
    return _REGISTRY.get(name)


@njit
def mix_list_len(z, k):
    """Number of entries on mix list k."""
    return z.llen[z.zc[ZC_L_MIX0] + k]


@njit
def lru_pages(z):
    """Pages on the file LRU of the zone's node (the page cache): what NR_FILE_PAGES counts
    here."""
    return z.pgdat[z.zc[ZC_NODE], PG_NR_LRU]


@njit
def free_batch_len(z, k):
    """How many entries of mix list k one free batch takes: a folio batch (knob folio_batch,
    FOLIO_BATCH_SIZE in the kernel), or what is left on the list."""
    return min(z.knob[K_FOLIO_BATCH], mix_list_len(z, k))
