"""Scenario files: a TOML grid of simulation points, validated whole before anything runs.

    [sweep]
    name = "scaling"          # results/<name>/...
    seeds = 3                 # replicates: a count, or a list of base seeds
    seed = 0                  # base seed when `seeds` is a count
    duration = "auto"         # run until precise (the default), or a length such as "2s"
    warmup = "auto"           # found from each run's series (the default with auto), or "1s"
    duration_cap = "30s"      # with duration "auto": the most simulated time (default 10s)
    precision = 0.02          # with duration "auto": relative 95% half-width to reach
    sample_interval = "1ms"

    [grid]                    # axes: every combination runs; any simulator key may be an axis
    cpus = [8, 64, 1024]
    mem = ["16GiB", "1TiB"]
    policy = ["upstream", "pcp-buddy"]
    "knob.merge_mode" = [0, 1]

    [fixed]                   # the same for every point
    "cost.zone_page_ns" = 30
    "mix.purge.purger_cpus" = 2   # applies to points whose mix is purge

    [[zip]]                   # values that move together: one axis of tuples
    mix = ["kbuild", "purge"]
    duration = ["100ms", "20ms"]

    [[exclude]]               # drop the points matching every key (a value or a list)
    cpus = [1024]
    mem = "16GiB"

Keys are those of `sweep simulate --set`: cpus, mem, mix, policy, duration, warmup,
sample_interval, duration_cap, precision, nodes, zones, zone_pages, kernel, revert,
cost.<name>, knob.<name>, mix.<mix>.<param>. `kernel = ["v6.6", "v7.0"]` is an axis like any
other; `revert` takes a list of commit ids, so as an axis a list of lists (`revert = [[],
["51a755c56dc0", "57c0419c5f0e", ...]]`) or of comma-joined strings. Without `duration` a
point is a steady-state point (allocator/sim/runlength.py); a fixed duration without a
`warmup` has none. Every error names the file, the key and what was
expected.
"""

from __future__ import annotations

import itertools
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from allocator import SIM_VERSION, Spec, SpecError, get_mix
from allocator.params.units import parse_duration, parse_size
from allocator.sim.spec import TOP_KEYS, format_reverts

from . import identity
from .identity import derive_seed, param_id, point_id

_SWEEP_KEYS = {"name", "seeds", "seed", "duration", "warmup", "sample_interval", "duration_cap",
               "precision"}
_TABLES = {"sweep", "grid", "fixed", "zip", "exclude"}
# Steady state unless a scenario says otherwise (allocator/sim/runlength.py); a scenario that fixes
# the duration and says nothing of the warm-up gets none
_DEFAULTS = {"duration": "auto", "warmup": "auto", "sample_interval": "1ms"}
_OPTIONAL = ("duration_cap", "precision")  # only with duration = "auto"


def _duration_or_auto(v: Any, k: str) -> Any:
    return "auto" if isinstance(v, str) and v.strip().lower() == "auto" else parse_duration(v, k)


_NORMALIZE = {
    "mem": lambda v, k: parse_size(v, k),
    "duration": _duration_or_auto,
    "warmup": _duration_or_auto,
    "duration_cap": lambda v, k: parse_duration(v, k),
    "sample_interval": lambda v, k: parse_duration(v, k),
    "revert": format_reverts,  # an axis value is one string: "" or "id,id"
}


@dataclass(frozen=True)
class Point:
    flat: dict[str, Any]  # canonical flat spec, seed included
    spec: Spec
    replicate: int
    param_id: str
    point_id: str
    axes: dict[str, Any] = field(default_factory=dict)  # the point's value on each axis
    # the same point as ids were taken before they were canonical (identity.canonical), when
    # that differs: a store written then holds it under these ids (runner.adopt_legacy)
    legacy: Legacy | None = None


@dataclass(frozen=True)
class Legacy:
    """A point's pre-canonical spelling and ids; its Spec is built only if a store needs it
    (legacy_point)."""

    flat: dict[str, Any]  # seed included: the seed the old spelling derived
    param_id: str
    point_id: str


def legacy_point(p: Point) -> Point:
    """`p` under its pre-canonical spelling, seed and ids (runner.adopt_legacy)."""
    assert p.legacy is not None
    lg = p.legacy
    return Point(flat=lg.flat, spec=Spec.from_flat(lg.flat), replicate=p.replicate,
                 param_id=lg.param_id, point_id=lg.point_id, axes=p.axes)


@dataclass(frozen=True)
class Scenario:
    path: Path
    name: str
    axes: tuple[str, ...]
    points: tuple[Point, ...]


def _err(path: Path, where: str, message: str) -> SpecError:
    return SpecError(f"{path}: {where}: {message}")


def _normal(key: str, value: Any) -> Any:
    fn = _NORMALIZE.get(key)
    return fn(value, key) if fn else value


def _check_key(path: Path, table: str, key: str) -> None:
    top = set(TOP_KEYS) - {"seed"}
    if key in top or key.startswith(("cost.", "knob.")):
        return
    if key.startswith("mix."):
        mix, dot, param = key[4:].rpartition(".")
        if not dot or not mix:
            raise _err(path, f"[{table}] {key}", "mix parameters are written mix.<mix>.<param>")
        try:
            cls = get_mix(mix)
        except SpecError as exc:
            raise _err(path, f"[{table}] {key}", str(exc)) from None
        if param not in {p.name for p in cls.params}:
            known = ", ".join(p.name for p in cls.params)
            raise _err(path, f"[{table}] {key}", f"mix {mix} has no parameter {param!r}; "
                       f"known: {known}")
        return
    if key == "seed":
        raise _err(path, f"[{table}] seed", "seeds are set in [sweep] (seeds, seed)")
    expected = ", ".join(k for k in TOP_KEYS if k != "seed")
    raise _err(path, f"[{table}] {key}", f"unknown key; expected {expected}, cost.<name>, "
               "knob.<name>, mix.<mix>.<param>")


def _values(path: Path, where: str, value: Any) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise _err(path, where, f"expected a non-empty list of values, got {value!r}")
    return value


MAX_POINTS = 100_000  # a grid larger than this is refused before it is expanded


def load_scenario(path: str | Path, max_points: int = MAX_POINTS) -> Scenario:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: not UTF-8 text (byte {exc.start}); a scenario is TOML, "
                        "UTF-8") from None
    except FileNotFoundError:
        raise SpecError(f"{path}: no such scenario file") from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None
    return parse_scenario(path, data, max_points)


def parse_scenario(path: Path, data: dict[str, Any], max_points: int = MAX_POINTS) -> Scenario:
    for table in data:
        if table not in _TABLES:
            expected = ", ".join(sorted(_TABLES))
            raise _err(path, f"[{table}]", f"unknown table; expected {expected}")
    sweep = data.get("sweep")
    if not isinstance(sweep, dict):
        raise _err(path, "[sweep]", "missing; it needs at least name = \"...\"")
    for key in sweep:
        if key not in _SWEEP_KEYS:
            expected = ", ".join(sorted(_SWEEP_KEYS))
            raise _err(path, f"[sweep] {key}", f"unknown key; expected {expected}")
    name = sweep.get("name")
    if not isinstance(name, str) or not name.replace("-", "").replace("_", "").isalnum():
        raise _err(path, "[sweep] name", f"expected letters, digits, - and _, got {name!r}")
    seeds = sweep.get("seeds", 1)
    base = sweep.get("seed", 0)
    if isinstance(base, bool) or not isinstance(base, int) or base < 0:
        raise _err(path, "[sweep] seed", f"expected a non-negative integer, got {base!r}")
    if isinstance(seeds, bool) or not (
        (isinstance(seeds, int) and seeds >= 1)
        or (isinstance(seeds, list) and seeds and all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds))
    ):
        raise _err(path, "[sweep] seeds", f"expected a count >= 1 or a list, got {seeds!r}")
    base_seeds = [base] * seeds if isinstance(seeds, int) else list(seeds)
    common = {k: sweep.get(k, v) for k, v in _DEFAULTS.items()}
    common.update({k: sweep[k] for k in _OPTIONAL if k in sweep})

    grid = data.get("grid", {})
    fixed = data.get("fixed", {})
    zips = data.get("zip", [])
    excludes = data.get("exclude", [])
    for table, value in (("grid", grid), ("fixed", fixed)):
        if not isinstance(value, dict):
            raise _err(path, f"[{table}]", "expected a table of key = value")
    if not isinstance(zips, list) or not isinstance(excludes, list):
        raise _err(path, "[[zip]]/[[exclude]]", "expected arrays of tables ([[zip]], [[exclude]])")

    axes: list[tuple[tuple[str, ...], list[tuple[Any, ...]]]] = []
    seen: set[str] = set()
    for key in sorted(grid):
        _check_key(path, "grid", key)
        axes.append(((key,), [(v,) for v in _values(path, f"[grid] {key}", grid[key])]))
        seen.add(key)
    for i, group in enumerate(zips):
        if not isinstance(group, dict) or len(group) < 2:
            raise _err(path, f"[[zip]] #{i + 1}", "expected at least two keys with lists")
        keys = tuple(sorted(group))
        columns = [_values(path, f"[[zip]] #{i + 1} {k}", group[k]) for k in keys]
        if len({len(c) for c in columns}) != 1:
            raise _err(path, f"[[zip]] #{i + 1}", "all lists must have the same length")
        for key in keys:
            _check_key(path, "zip", key)
            if key in seen:
                raise _err(path, f"[[zip]] #{i + 1} {key}", "already an axis")
            seen.add(key)
        axes.append((keys, list(zip(*columns, strict=True))))
    for key in fixed:
        _check_key(path, "fixed", key)
        if key in seen:
            raise _err(path, f"[fixed] {key}", "already an axis")
    for i, rule in enumerate(excludes):
        if not isinstance(rule, dict) or not rule:
            raise _err(path, f"[[exclude]] #{i + 1}", "expected a table of key = value(s)")
        for key in rule:
            if key not in seen:
                raise _err(path, f"[[exclude]] #{i + 1} {key}", "not an axis of this grid")
    rules = [
        {k: {_normal(k, v) for v in (vals if isinstance(vals, list) else [vals])}
         for k, vals in rule.items()}
        for rule in excludes
    ]
    size = math.prod(len(values) for _, values in axes) * len(base_seeds)
    if size > max_points:
        raise _err(path, "[grid]", f"{size:,} points (before exclusions), more than the limit "
                   f"of {max_points:,} (--max-points)")
    axis_names = tuple(k for keys, _ in axes for k in keys)
    warmup_given = "warmup" in sweep or "warmup" in fixed or "warmup" in axis_names

    points: list[Point] = []
    for combo in itertools.product(*(values for _, values in axes)):
        chosen = {k: v for (keys, _), vals in zip(axes, combo, strict=True)
                  for k, v in zip(keys, vals, strict=True)}
        try:
            normal = {k: _normal(k, v) for k, v in chosen.items()}
        except SpecError as exc:
            raise _err(path, "[grid]", str(exc)) from None
        if any(all(normal[k] in vals for k, vals in rule.items()) for rule in rules):
            continue
        flat = {**common, **fixed, **chosen}
        if not warmup_given:  # auto with an auto duration; none before a fixed one
            auto = str(flat["duration"]).strip().lower() == "auto"
            flat["warmup"] = "auto" if auto else "0"
        mix = flat.get("mix", "kbuild")
        flat = {k: v for k, v in flat.items()
                if not (k.startswith("mix.") and k[4:].rpartition(".")[0] != mix)}
        for replicate, base_seed in enumerate(base_seeds):
            try:
                probe = Spec.from_flat({**flat, "seed": 0}).to_flat()
                spelt = {k: v for k, v in probe.items() if k != "seed"}
                canonical = identity.canonical(spelt)
                legacy = None
                if spelt != canonical:  # only hashes here: no second Spec per point
                    old_pid = param_id(spelt, replicate)
                    legacy = Legacy(
                        flat={**spelt, "seed": derive_seed(base_seed, replicate, spelt)},
                        param_id=old_pid, point_id=point_id(old_pid, SIM_VERSION))
                point = _point(canonical, base_seed, replicate,
                               {k: normal[k] for k in axis_names}, legacy)
            except SpecError as exc:
                where = ", ".join(f"{k}={v}" for k, v in chosen.items()) or "the point"
                raise _err(path, where, str(exc)) from None
            points.append(point)
    if not points:
        raise _err(path, "[grid]", "the grid is empty (every point excluded?)")
    return Scenario(path=path, name=name, axes=axis_names, points=tuple(points))


def _point(flat: dict[str, Any], base_seed: int, replicate: int, axes: dict[str, Any],
           legacy: Legacy | None = None) -> Point:
    """The point of `flat` (no seed yet): its seed, spec and ids."""
    seed = derive_seed(base_seed, replicate, flat)
    pid = param_id(flat, replicate)
    return Point(flat={**flat, "seed": seed}, spec=Spec.from_flat({**flat, "seed": seed}),
                 replicate=replicate, param_id=pid, point_id=point_id(pid, SIM_VERSION),
                 axes=axes, legacy=legacy)
