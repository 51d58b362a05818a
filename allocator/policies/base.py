"""PCP policies: how per-CPU lists refill, cache, free and drain. A registry by name.

A policy is a small class with compiled hooks. The engine calls them at the points where the
kernel's page allocator calls into the PCP layer:

    rmqueue_pcplist(z, ps, cpu, order, mt) -> node or -1   rmqueue_pcplist(): -1 sends the
                                                            allocation to rmqueue_buddy()
    free_pcp(z, ps, cpu, pfn, order)                        free_unref_page() for a
                                                            pcp_allowed_order() entry
    decay_pcp_high(z, ps, cpu)                              vmstat_update() once per interval
    drain_pages(z, ps, cpu, target)                         drain_pages_zone(target), run by cpu
    sample(z, ps, row)                                      fill the policy's gauges in a
                                                            time-series row

`z` is the simulator state (state.Zone), `ps` the policy's own state from `init_state` (any
numba-typed value; `allocator.core.structs.state_struct` makes one that a call passes as one
pointer, as the built-in policies' and mixes' states are, where a namedtuple of arrays is
passed field by field). Built-in policies register exactly as a
user's does; `get_policy("mymodule:MyPolicy")` imports one from anywhere.

Example (see examples/my_policy.py):

    @register_policy
    class MyPolicy(Upstream):
        name = "my-policy"
        hooks = Upstream.hooks._replace(free_pcp=my_free_pcp)
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any, ClassVar

from allocator.core.catalogue import Metric
from allocator.core.consts import NR_PCP_LISTS
from allocator.core.layout import NR_POLICY_EVENTS, NR_POLICY_GAUGES
from allocator.params.knobs import Knob
from allocator.params.registry import Registry

PolicyHooks = namedtuple(
    "PolicyHooks", ["rmqueue_pcplist", "free_pcp", "decay_pcp_high", "drain_pages", "sample"]
)


class Policy:
    """Base class. Subclasses set `name`, `hooks`, and optionally the rest."""

    name: ClassVar[str] = ""
    hooks: ClassVar[PolicyHooks]
    knobs: ClassVar[tuple[Knob, ...]] = ()
    event_names: ClassVar[tuple[str, ...]] = ()  # up to 16 counters, metric names
    gauge_names: ClassVar[tuple[str, ...]] = ()  # up to 4 time-series gauges
    # what each of them means, for the docs: a catalogue Metric per event and per gauge's
    # record field (<gauge>_mean), as core/catalogue.py documents the engine's own
    metrics: ClassVar[tuple[Metric, ...]] = ()
    pcp_lists_per_agent: ClassVar[int] = NR_PCP_LISTS

    def policy_lists(self, nr_cpus: int) -> int:
        """Extra list sentinels the policy needs (ids from Z.zc[ZC_L_POL0])."""
        return 0

    def init_state(self, z: Any, knobs: dict[str, int]) -> Any:
        """Policy-private state passed to every hook as `ps`."""
        return ()

    def check_invariants(self, z: Any, ps: Any) -> list[str]:
        """The policy's own invariants, in plain Python (see invariants.py); [] if all hold."""
        return []

    @classmethod
    def describe(cls) -> str:
        return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else cls.name


def _load_builtins() -> None:
    from allocator import policies  # noqa: F401  (registers the built-ins)


_REGISTRY: Registry[type[Policy]] = Registry("policy", "policies", Policy, _load_builtins)


def register_policy(cls: type[Policy]) -> type[Policy]:
    """Class decorator: make a policy selectable by its `name`."""
    if len(cls.event_names) > NR_POLICY_EVENTS or len(cls.gauge_names) > NR_POLICY_GAUGES:
        raise TypeError(
            f"{cls.name}: at most {NR_POLICY_EVENTS} events and {NR_POLICY_GAUGES} gauges"
        )
    return _REGISTRY.register(cls)


def registered_policies() -> dict[str, type[Policy]]:
    return _REGISTRY.all()


def get_policy(name: str) -> type[Policy]:
    """A registered policy by name, or `module:Class` imported from the user's code."""
    return _REGISTRY.get(name)


def all_policy_knob_names() -> frozenset[str]:
    return frozenset(k.name for cls in _REGISTRY.all().values() for k in cls.knobs)
