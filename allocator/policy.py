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
numba-typed value, usually a namedtuple of arrays). Built-in policies register exactly as a
user's does; `get_policy("mymodule:MyPolicy")` imports one from anywhere.

Example (see examples/my_policy.py):

    @register_policy
    class MyPolicy(Upstream):
        name = "my-policy"
        hooks = Upstream.hooks._replace(free_pcp=my_free_pcp)
"""

from __future__ import annotations

import importlib
from collections import namedtuple
from typing import Any, ClassVar

from .consts import NR_PCP_LISTS
from .errors import SpecError
from .knobs import Knob
from .layout import NR_POLICY_EVENTS, NR_POLICY_GAUGES

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


_REGISTRY: dict[str, type[Policy]] = {}


def register_policy(cls: type[Policy]) -> type[Policy]:
    """Class decorator: make a policy selectable by its `name`."""
    if not cls.name:
        raise TypeError(f"{cls.__qualname__} has no name")
    if len(cls.event_names) > NR_POLICY_EVENTS or len(cls.gauge_names) > NR_POLICY_GAUGES:
        raise TypeError(
            f"{cls.name}: at most {NR_POLICY_EVENTS} events and {NR_POLICY_GAUGES} gauges"
        )
    _REGISTRY[cls.name] = cls
    return cls


def registered_policies() -> dict[str, type[Policy]]:
    _load_builtins()
    return dict(_REGISTRY)


def get_policy(name: str) -> type[Policy]:
    """A registered policy by name, or `module:Class` imported from the user's code."""
    _load_builtins()
    if name in _REGISTRY:
        return _REGISTRY[name]
    if ":" in name:
        module_name, _, attr = name.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise SpecError(
                f"policy '{name}': cannot import module '{module_name}': {exc}"
            ) from exc
        cls = getattr(module, attr, None)
        if not (isinstance(cls, type) and issubclass(cls, Policy)):
            raise SpecError(f"policy '{name}': '{attr}' is not a Policy subclass in {module_name}")
        return cls
    known = ", ".join(sorted(_REGISTRY))
    raise SpecError(f"unknown policy '{name}'; known policies: {known} (or module:Class)")


def all_policy_knob_names() -> frozenset[str]:
    _load_builtins()
    return frozenset(k.name for cls in _REGISTRY.values() for k in cls.knobs)


def _load_builtins() -> None:
    from . import policies  # noqa: F401  (registers the built-ins)
