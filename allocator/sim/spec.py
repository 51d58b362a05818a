"""`Spec`: one simulation point, typed, frozen and validated when built.

Build one with keywords (`Spec(cpus=32, mem_bytes=32 << 30, mix="kbuild")`) or from flat
`key=value` strings as the CLI and the sweep do (`Spec.from_flat({...})`): `cpus`, `mem`, `mix`,
`policy`, `seed`, `nodes`, `zones`, `zone_pages`, `duration`, `warmup`, `sample_interval`,
`duration_cap`, `precision`, `kernel`, `revert`,
`cost.<name>`, `knob.<name>`, `mix.<mix>.<param>`. Every bad value raises SpecError naming the
field and what is allowed.

`nodes` (default 1) splits CPUs and memory evenly over NUMA nodes; `zones` is the layout
("x86_64": DMA and DMA32 on node 0, the rest Normal; or "normal"); `zone_pages` gives each
node's managed DMA, DMA32 and Normal pages instead, as a /proc/zoneinfo shows them
(topology.py). Several nodes run by the symmetric shortcut (knob.symmetric_nodes = 1, refused
where the nodes are not alike), or every node and zone at once (knob.symmetric_nodes = 0).

`kernel` (default v7.0) and `revert` (commit ids) choose the upstream code the point runs, commit
by commit (params/history.py): `kernel = "v6.6"`, `revert = "51a755c56dc0,57c0419c5f0e"` (a
list also does).

`duration = "auto"` runs until every key metric's 95% half-width is within `precision` of its
mean (default 2%), or `duration_cap` (default 10 s) of simulated time; `warmup = "auto"` finds
where the start-up transient ends from the run's own series (runlength.py). With auto,
`duration_ns` holds the cap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from allocator.core.consts import PAGE_SIZE, PAGEBLOCK_NR_PAGES
from allocator.mixes.base import get_mix
from allocator.mm.topology import (
    Topology,
    build_topology,
    format_zone_pages,
    parse_zone_pages,
    topology_from_pages,
)
from allocator.params.costs import validate_costs
from allocator.params.errors import SpecError
from allocator.params.history import COMMITS, DEFAULT_KERNEL, switch_values
from allocator.params.knobs import resolve_knobs
from allocator.params.units import parse_duration, parse_size
from allocator.policies.base import all_policy_knob_names, get_policy
from allocator.sim.runlength import DEFAULT_CAP_NS, DEFAULT_PRECISION, SEGMENT_NS

MIN_CPUS, MAX_CPUS = 1, 4096
MIN_MEM = 64 << 20
MAX_MEM = 16 << 40
PAGEBLOCK_BYTES = PAGEBLOCK_NR_PAGES * PAGE_SIZE
MAX_SAMPLES = 1_000_000


def _frozen(m: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(sorted((m or {}).items())))


@dataclass(frozen=True)
class Spec:
    cpus: int
    mem_bytes: int
    mix: str = "kbuild"
    policy: str = "upstream"
    seed: int = 0
    duration_ns: int = 100_000_000
    warmup_ns: int = 0
    sample_ns: int = 1_000_000
    auto_duration: bool = False  # run to `precision`, at most duration_ns (the cap)
    auto_warmup: bool = False  # the warm-up is found, not given (warmup_ns is then 0)
    precision: float = DEFAULT_PRECISION
    costs: Mapping[str, Any] = field(default_factory=dict)
    knobs: Mapping[str, Any] = field(default_factory=dict)
    mix_params: Mapping[str, Any] = field(default_factory=dict)
    nodes: int = 1
    zones: str = "x86_64"
    # managed pages of DMA, DMA32 and Normal per node, as read from a /proc/zoneinfo;
    # when given it replaces the layout `zones` would build from `mem` (topology.py)
    zone_pages: tuple[tuple[int, int, int], ...] = ()
    kernel: str = DEFAULT_KERNEL  # the upstream code, as a release (params/history.py)
    reverts: tuple[str, ...] = ()  # commits of it reverted, in history.COMMITS order

    def topology(self) -> Topology:
        if self.zone_pages:
            return topology_from_pages(self.cpus, self.zone_pages)
        return build_topology(self.cpus, self.mem_bytes, self.nodes, self.zones)

    def __post_init__(self) -> None:
        for name in ("costs", "knobs", "mix_params"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        _check_int("cpus", self.cpus)
        if not MIN_CPUS <= self.cpus <= MAX_CPUS:
            raise SpecError(f"cpus must be between {MIN_CPUS} and {MAX_CPUS}, got {self.cpus}")
        _check_int("mem", self.mem_bytes)
        if not MIN_MEM <= self.mem_bytes <= MAX_MEM:
            raise SpecError(f"mem must be between 64MiB and 16TiB, got {self.mem_bytes} bytes")
        if self.mem_bytes % PAGEBLOCK_BYTES:
            raise SpecError(
                f"mem must be a whole number of 2MiB pageblocks, got {self.mem_bytes} bytes"
            )
        _check_int("nodes", self.nodes)
        if self.zone_pages and len(self.zone_pages) != self.nodes:
            raise SpecError(f"zone_pages gives {len(self.zone_pages)} nodes, nodes is {self.nodes}")
        topology = self.topology()  # validates nodes against cpus and mem
        _check_int("seed", self.seed)
        if self.seed < 0:
            raise SpecError(f"seed must not be negative, got {self.seed}")
        _check_int("duration", self.duration_ns)
        if self.duration_ns <= 0:
            raise SpecError(f"duration must be positive, got {self.duration_ns}ns")
        _check_int("warmup", self.warmup_ns)
        length = "duration_cap" if self.auto_duration else "duration"
        if not 0 <= self.warmup_ns < self.duration_ns:
            raise SpecError(
                f"warmup must be at least 0 and shorter than {length} "
                f"({self.duration_ns}ns), got {self.warmup_ns}ns"
            )
        if self.auto_warmup and self.warmup_ns:
            raise SpecError("warmup is either 'auto' or a duration, not both")
        if (
            not isinstance(self.precision, float | int)
            or isinstance(self.precision, bool)
            or not (0 < self.precision < 1)
        ):
            raise SpecError(
                f"precision must be a relative half-width between 0 and 1 (exclusive), "
                f"got {self.precision!r}"
            )
        _check_int("sample_interval", self.sample_ns)
        if self.sample_ns <= 0:
            raise SpecError(f"sample_interval must be positive, got {self.sample_ns}ns")
        if (self.duration_ns - self.warmup_ns) // self.sample_ns + 1 > MAX_SAMPLES:
            raise SpecError(
                f"sample_interval gives more than {MAX_SAMPLES} samples; use a longer interval"
            )
        # Resolving validates; the results are recomputed where needed.
        if not isinstance(self.kernel, str):
            raise SpecError(f"kernel must be a release name such as v6.6, got {self.kernel!r}")
        object.__setattr__(self, "reverts", _commit_order(self.reverts))
        get_policy(self.policy)
        mix = get_mix(self.mix)
        mix.check_machine(mix.resolve_params(dict(self.mix_params)), self.cpus, self.nodes)
        validate_costs(dict(self.costs))
        knobs = self.resolved_knobs()
        if knobs["interleave"] and knobs["symmetric_nodes"]:
            raise SpecError("knob.interleave = 1 spreads each CPU's pages over every node: it "
                            "needs knob.symmetric_nodes = 0 (every node simulated)")
        if self.nodes > 1:
            self._check_shortcut(knobs["symmetric_nodes"], topology)
        if self.auto_warmup:
            need = 2 * knobs["vmstat_interval_ms"] * 1_000_000 + SEGMENT_NS
            if self.duration_ns < need:
                raise SpecError(
                    f"warmup = 'auto' needs a {length} of at least {need}ns (two decay "
                    f"intervals of pcp->high and a segment), got {self.duration_ns}ns"
                )

    def resolved_knobs(self) -> dict[str, int]:
        """Every knob's value: the user's, the policy's, and the commit switches of `kernel`
        less `reverts` (history.py)."""
        return resolve_knobs(dict(self.knobs), get_policy(self.policy).knobs,
                             all_policy_knob_names(), switch_values(self.kernel, self.reverts))

    def _check_shortcut(self, symmetric: int, topology: Topology) -> None:
        """Several nodes run as one (knob.symmetric_nodes = 1): refused where it is not exact;
        knob.symmetric_nodes = 0 runs every node."""
        if not symmetric:
            return
        differs = topology.alike()
        if differs:
            raise SpecError(
                f"{differs}: the symmetric shortcut (knob.symmetric_nodes = 1) needs alike "
                "nodes; set knob.symmetric_nodes = 0 to simulate every node")

    @classmethod
    def from_flat(cls, values: Mapping[str, Any]) -> Spec:
        """A spec from flat keys (strings or numbers as values), as `--set` and TOML give."""
        costs: dict[str, Any] = {}
        knobs: dict[str, Any] = {}
        mix_params: dict[str, Any] = {}
        kw: dict[str, Any] = {}
        mix = str(values.get("mix", "kbuild"))
        for key, value in values.items():
            if key.startswith("cost."):
                costs[key[5:]] = _number(key, value)
            elif key.startswith("knob."):
                knobs[key[5:]] = _number(key, value)
            elif key.startswith("mix."):
                _, _, rest = key.partition(".")
                mix_name, dot, param = rest.rpartition(".")
                if not dot or not mix_name:
                    raise SpecError(f"'{key}': mix parameters are written mix.<mix>.<param>")
                if mix_name != mix:
                    raise SpecError(f"'{key}' is a parameter of mix '{mix_name}', not of '{mix}'")
                mix_params[param] = value
            elif key == "duration" and _is_auto(value):
                kw["auto_duration"] = True
            elif key == "warmup" and _is_auto(value):
                kw["auto_warmup"] = True
            elif key in _TOP:
                kw[_TOP[key][0]] = _TOP[key][1](value, key)
            else:
                known = ", ".join([*_TOP, "cost.<name>", "knob.<name>", "mix.<mix>.<param>"])
                raise SpecError(f"unknown key '{key}'; known keys: {known}")
        if "zone_pages" in kw:
            if "zones" in kw:
                raise SpecError("zones and zone_pages are exclusive: zone_pages gives the layout")
            kw.setdefault("nodes", len(kw["zone_pages"]))
            total = sum(map(sum, kw["zone_pages"])) // PAGEBLOCK_NR_PAGES * PAGEBLOCK_BYTES
            kw.setdefault("mem_bytes", max(total, MIN_MEM))
        if "cpus" not in kw or "mem_bytes" not in kw:
            raise SpecError("cpus and mem are required")
        if kw.get("auto_duration"):
            kw["duration_ns"] = kw.pop("cap_ns", DEFAULT_CAP_NS)
        else:
            for key, field_ in (("duration_cap", "cap_ns"), ("precision", "precision")):
                if field_ in kw:
                    raise SpecError(f"{key} applies only with duration = 'auto'")
        return cls(**kw, costs=costs, knobs=knobs, mix_params=mix_params)

    def to_flat(self) -> dict[str, Any]:
        """The canonical flat form (sorted keys); `from_flat(to_flat())` gives the same spec."""
        flat: dict[str, Any] = {
            "cpus": self.cpus,
            "mem": self.mem_bytes,
            "mix": self.mix,
            "policy": self.policy,
            "seed": self.seed,
            "duration": "auto" if self.auto_duration else self.duration_ns,
            "warmup": "auto" if self.auto_warmup else self.warmup_ns,
            "sample_interval": self.sample_ns,
        }
        # only when not the default: the flat form (and identity) of one-node points stays
        if self.nodes != 1:
            flat["nodes"] = self.nodes
        if self.zones != "x86_64":
            flat["zones"] = self.zones
        if self.zone_pages:
            flat["zone_pages"] = format_zone_pages(self.zone_pages)
        if self.kernel != DEFAULT_KERNEL:
            flat["kernel"] = self.kernel
        if self.reverts:
            flat["revert"] = ",".join(self.reverts)
        if self.auto_duration:  # only then: the flat form (and identity) of fixed runs stays
            flat["duration_cap"] = self.duration_ns
            flat["precision"] = self.precision
        flat.update({f"cost.{k}": v for k, v in self.costs.items()})
        flat.update({f"knob.{k}": v for k, v in self.knobs.items()})
        flat.update({f"mix.{self.mix}.{k}": v for k, v in self.mix_params.items()})
        return dict(sorted(flat.items()))


def parse_reverts(value: Any, key: str = "revert") -> tuple[str, ...]:
    """`revert` as written: commit ids in a list, or in one string split at commas or spaces
    ("" or [] for none)."""
    if isinstance(value, str):
        items = value.replace(",", " ").split()
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise SpecError(f"{key} must be a list of commit ids or one string of them, got "
                        f"{value!r}")
    for item in items:
        if not isinstance(item, str):
            raise SpecError(f"{key}: commit ids are strings of 12 hex digits, got {item!r}")
    return tuple(dict.fromkeys(i.strip().lower() for i in items))


def format_reverts(value: Any, key: str = "revert") -> str:
    """`revert` in its one spelling: the ids once each, in history order, comma-joined."""
    return ",".join(_commit_order(parse_reverts(value, key)))


def _commit_order(reverts: Any) -> tuple[str, ...]:
    """The reverts once each, in history.COMMITS order (unknown ids, refused later, last)."""
    ids = parse_reverts(reverts)
    order = {c.id: i for i, c in enumerate(COMMITS)}
    return tuple(sorted(ids, key=lambda i: (order.get(i, len(order)), i)))


def _is_auto(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() == "auto"


def _precision(value: Any, key: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SpecError(
            f"{key} must be a relative half-width between 0 and 1 (exclusive), got {value!r}"
        ) from None


def _check_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{name} must be an integer, got {value!r}")


def _int(value: Any, key: str) -> int:
    if isinstance(value, bool):
        raise SpecError(f"{key} must be an integer, got {value!r}")
    if isinstance(value, int):
        return value
    try:
        return int(str(value), 10)
    except ValueError:
        raise SpecError(f"{key} must be an integer, got {value!r}") from None


def _number(key: str, value: Any) -> Any:
    """cost.* and knob.* values: integers (also from strings); the validators check ranges."""
    if isinstance(value, str):
        try:
            return int(value, 10)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                raise SpecError(f"{key} must be a number, got {value!r}") from None
    return value


_TOP = {
    "cpus": ("cpus", _int),
    "mem": ("mem_bytes", lambda v, k: parse_size(v, k)),
    "mix": ("mix", lambda v, k: str(v)),
    "policy": ("policy", lambda v, k: str(v)),
    "seed": ("seed", _int),
    "duration": ("duration_ns", lambda v, k: parse_duration(v, k)),
    "warmup": ("warmup_ns", lambda v, k: parse_duration(v, k)),
    "sample_interval": ("sample_ns", lambda v, k: parse_duration(v, k)),
    "duration_cap": ("cap_ns", lambda v, k: parse_duration(v, k)),
    "precision": ("precision", _precision),
    "nodes": ("nodes", _int),
    "zones": ("zones", lambda v, k: str(v)),
    "zone_pages": ("zone_pages", lambda v, k: parse_zone_pages(v)),
    "kernel": ("kernel", lambda v, k: str(v).strip()),
    "revert": ("reverts", parse_reverts),
}

TOP_KEYS = tuple(_TOP)  # the flat keys that are not cost.*, knob.* or mix.*
