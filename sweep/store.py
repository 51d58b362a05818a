"""The results store: one Parquet file per point, written atomically, globbed by DuckDB.

    <root>/<sweep>/points/<param_id>.<point_id>.parquet    one row: parameters, metrics
    <root>/<sweep>/samples/<param_id>.<point_id>.parquet   the point's time series
    <root>/<sweep>/failures/<param_id>.<point_id>.parquet  error and traceback, after retries
    <root>/<sweep>/grid.json                                the scenario's points, as last run

`root` is a local directory or any pyarrow filesystem URI (s3://bucket/prefix, gs://...), so
workers on a cluster write to shared storage themselves. A file is written under a temporary
name in its directory and then renamed (moved) into place: readers see whole files only, and
two runs writing the same point leave one file. The file name carries both ids, so listing a
directory tells what is stored, stale (stored by another simulator version) or failed without
opening anything. Each file's metadata holds the schema version and the provenance.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import platform
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from allocator.params.errors import SpecError

SCHEMA_VERSION = 1  # the layout of a point file: written into each, checked on read
KINDS = ("points", "samples", "failures")


@dataclass(frozen=True)
class Listing:
    """What a sweep directory holds, by file name."""

    points: dict[str, set[str]]  # param_id -> point ids stored
    failures: dict[str, set[str]]
    damaged: dict[str, str] = field(default_factory=dict)  # point file name -> what is wrong


def _fs(root: str) -> tuple[pafs.FileSystem, str]:
    if "://" in root:
        fs, path = pafs.FileSystem.from_uri(root)
        return fs, path.rstrip("/")
    return pafs.LocalFileSystem(), str(Path(root).resolve())




@lru_cache(maxsize=1)
def provenance() -> dict[str, str]:
    """Who wrote a file: simulator version, git revision, host, software versions."""
    import numba

    import allocator

    info = {
        "sim_version": allocator.SIM_VERSION,
        "schema_version": str(SCHEMA_VERSION),
        "git_revision": _git_revision(),
        "host": socket.gethostname(),
        "python": platform.python_version(),
        "numba": numba.__version__,
        "pyarrow": pa.__version__,
    }
    try:  # the version only: `import ray` stays in executors/ray_executor.py alone
        info["ray"] = importlib.metadata.version("ray")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a dependency
        info["ray"] = "absent"
    return info


def _git_revision() -> str:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 else "unknown"


def _write(root: str, sweep: str, kind: str, name: str, table: pa.Table, meta: dict) -> None:
    fs, base = _fs(root)
    directory = f"{base}/{sweep}/{kind}"
    fs.create_dir(directory, recursive=True)
    final = f"{directory}/{name}.parquet"
    tmp = f"{directory}/.{name}.{uuid.uuid4().hex}.tmp"
    metadata = {**(table.schema.metadata or {}), **{k.encode(): str(v).encode()
                                                    for k, v in meta.items()}}
    table = table.replace_schema_metadata(metadata)
    try:
        pq.write_table(table, tmp, filesystem=fs)
        fs.move(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError, FileNotFoundError):
            fs.delete_file(tmp)
        raise


def file_name(param_id: str, point_id: str) -> str:
    return f"{param_id}.{point_id}"


def write_point(
    root: str,
    sweep: str,
    row: dict[str, Any],
    samples: dict[str, Any],
    wall_s: float,
) -> None:
    """Store a finished point: its samples first, then its row (the row marks it stored)."""
    meta = {**provenance(), "wall_s": f"{wall_s:.6f}"}
    name = file_name(row["param_id"], row["point_id"])
    series = pa.table({"point_id": [row["point_id"]] * len(next(iter(samples.values()))),
                       **{k: v for k, v in samples.items()}})
    _write(root, sweep, "samples", name, series, meta)
    try:
        _write(root, sweep, "points", name, pa.Table.from_pylist([row]), meta)
    except BaseException:  # not stored: its samples must not stay behind either
        fs, base = _fs(root)
        with contextlib.suppress(OSError, FileNotFoundError):
            fs.delete_file(f"{base}/{sweep}/samples/{name}.parquet")
        raise


def write_failure(root: str, sweep: str, row: dict[str, Any]) -> None:
    name = file_name(row["param_id"], row["point_id"])
    _write(root, sweep, "failures", name, pa.Table.from_pylist([row]), provenance())


def write_grid(root: str, sweep: str, scenario: str, points: list[dict[str, str]]) -> None:
    """Record the scenario's whole grid (each point's param_id, pair_id, policy and mix), so
    a report can say what of it is stored. Rewritten by each `sweep run`: the last one wins."""
    fs, base = _fs(root)
    directory = f"{base}/{sweep}"
    fs.create_dir(directory, recursive=True)
    tmp = f"{directory}/.grid.{uuid.uuid4().hex}.tmp"
    with fs.open_output_stream(tmp) as f:
        f.write(json.dumps({"scenario": scenario, "points": points}).encode())
    fs.move(tmp, f"{directory}/grid.json")


def read_grid(root: str, sweep: str) -> dict[str, Any] | None:
    """The grid `write_grid` recorded, or None (a store from before it, or no run yet)."""
    fs, base = _fs(root)
    try:
        with fs.open_input_stream(f"{base}/{sweep}/grid.json") as f:
            return json.loads(f.read())
    except (FileNotFoundError, OSError, ValueError):
        return None


def check_file(fs: pafs.FileSystem, path: str, size: int | None) -> str | None:
    """What is structurally wrong with a Parquet file, or None: it is long enough, starts and
    ends with the magic bytes, and its footer fits inside it. Two small reads, no parsing:
    cheap enough for every point file at every plan (a truncated or overwritten file fails)."""
    if size is not None and size < 12:
        return f"truncated ({size} bytes)"
    try:
        with fs.open_input_file(path) as f:
            size = f.size() if size is None else size
            head = f.read_at(4, 0)
            tail = f.read_at(8, size - 8)
    except OSError as exc:
        return f"unreadable ({exc})"
    if head != b"PAR1" or tail[4:] != b"PAR1":
        return "not a whole Parquet file (no magic bytes at its start or end)"
    if int.from_bytes(tail[:4], "little") + 12 > size:
        return "its footer runs past the start of the file"
    return None


def check_schema(fs: pafs.FileSystem, path: str, where: str) -> None:
    """Refuse, in one line, a store written in a layout this pcp-sweep does not know: the
    `schema_version` of the point file at `path` (one footer read; a store is written by one
    pcp-sweep, so the first file stands for its sweep)."""
    try:
        meta = pq.read_schema(path, filesystem=fs).metadata or {}
    except (OSError, pa.ArrowException):
        return  # a damaged file: the structural checks report it
    version = meta.get(b"schema_version", b"").decode()
    if version and version != str(SCHEMA_VERSION):
        raise SpecError(f"{where} was written in store schema {version}; this pcp-sweep "
                        f"reads schema {SCHEMA_VERSION} (use the pcp-sweep that wrote it)")


def check_point_file(fs: pafs.FileSystem, path: str) -> str | None:
    """The full check of `sweep verify`: structure, then the file read whole, one row, and
    its ids those of its name."""
    reason = check_file(fs, path, None)
    if reason is not None:
        return reason
    name = path.rsplit("/", 1)[-1][: -len(".parquet")]
    try:
        table = pq.read_table(path, filesystem=fs)
    except (OSError, pa.ArrowException) as exc:
        return f"unreadable ({str(exc).splitlines()[0]})"
    if "/points/" in path or "/failures/" in path:
        if table.num_rows != 1:
            return f"{table.num_rows} rows, expected 1"
        row = table.slice(0, 1).to_pylist()[0]
        if file_name(str(row.get("param_id")), str(row.get("point_id"))) != name:
            return "its ids are not those of its name"
    return None


def listing(root: str, sweep: str, verify: bool = True) -> Listing:
    """What a sweep holds, by file name; with `verify` (local roots), each point file's
    structure is checked (check_file) and a damaged one is listed as such, not as stored."""
    fs, base = _fs(root)
    verify = verify and "://" not in root
    found: dict[str, dict[str, set[str]]] = {"points": {}, "failures": {}}
    damaged: dict[str, str] = {}
    for kind in found:
        selector = pafs.FileSelector(f"{base}/{sweep}/{kind}", allow_not_found=True)
        try:
            infos = fs.get_file_info(selector)
        except OSError as exc:
            raise SpecError(f"cannot list {root}/{sweep}/{kind}: "
                            f"{str(exc).splitlines()[0]}") from None
        for info in infos:
            name = info.base_name
            if name.startswith(".") or not name.endswith(".parquet"):
                continue
            if info.type != pafs.FileType.File:
                continue
            if verify and kind == "points":
                reason = check_file(fs, info.path, info.size)
                if reason is not None:
                    damaged[name] = reason
                    continue
            pid, _, rest = name[: -len(".parquet")].partition(".")
            found[kind].setdefault(pid, set()).add(rest)
    return Listing(points=found["points"], failures=found["failures"], damaged=damaged)


def quarantine(root: str, sweep: str, names: list[str]) -> list[str]:
    """Move damaged point files, and the samples of the same points, to
    `<sweep>/damaged/<kind>/` (kept for a look, out of every query); returns what moved."""
    fs, base = _fs(root)
    moved = []
    for name in names:
        for kind in ("points", "samples"):
            src = f"{base}/{sweep}/{kind}/{name}"
            if fs.get_file_info(src).type != pafs.FileType.File:
                continue
            fs.create_dir(f"{base}/{sweep}/damaged/{kind}", recursive=True)
            fs.move(src, f"{base}/{sweep}/damaged/{kind}/{name}")
            moved.append(f"{kind}/{name}")
    return moved


# --- claims: a point being computed by a live run is not started again by another -----------

CLAIM_TTL_S = 6 * 3600  # a claim older than this is stale whoever holds it (another host)


def _claims_dir(root: str, sweep: str) -> Path:
    return Path(root) / sweep / "claims"


def _pid_alive(pid: int) -> bool:
    """Does process `pid` of this host still run? A zombie (killed, not yet reaped) does not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def _claim_holder(path: Path, run: str = "") -> bool:
    """Does the claim at `path` hold against run `run`? Not when it is that run's own (Ray
    retrying a task whose worker died), its owner is gone (same host: the pid no longer runs),
    or it is older than CLAIM_TTL_S (another host's, which cannot be asked)."""
    try:
        info = json.loads(path.read_text())
        age = time.time() - float(info["t"])
        host, pid, owner = str(info["host"]), int(info["pid"]), str(info.get("run", ""))
    except (OSError, ValueError, KeyError, TypeError):
        try:  # being written this instant, or damaged: judge by its age alone
            return time.time() - path.stat().st_mtime < 60
        except OSError:
            return False
    if run and owner == run:
        return False
    if age > CLAIM_TTL_S:
        return False
    return _pid_alive(pid) if host == socket.gethostname() else True


def claim(root: str, sweep: str, name: str, run: str = "") -> bool:
    """Claim point file `name` for this process of run `run` before computing it: False when a
    live claim of another run holds it. Created with O_EXCL, so of two runs exactly one wins; a
    stale claim (its owner gone) or one of the same run is taken over. Object-store roots have
    no atomic create: their points are never claimed (two runs there may compute a point twice,
    storing it once)."""
    if "://" in root:
        return True
    directory = _claims_dir(root, sweep)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.claim"
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if _claim_holder(path, run):
                return False
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            continue
        with os.fdopen(fd, "w") as f:
            json.dump({"host": socket.gethostname(), "pid": os.getpid(), "t": time.time(),
                       "run": run}, f)
        return True
    return False


def release(root: str, sweep: str, name: str) -> None:
    """Drop this process's claim on `name` (the point is stored or recorded as failed)."""
    if "://" in root:
        return
    with contextlib.suppress(FileNotFoundError):
        (_claims_dir(root, sweep) / f"{name}.claim").unlink()


def live_claims(root: str, sweep: str) -> set[str]:
    """Point file names some live run is computing now."""
    if "://" in root:
        return set()
    directory = _claims_dir(root, sweep)
    if not directory.is_dir():
        return set()
    return {p.name[: -len(".claim")] for p in directory.glob("*.claim") if _claim_holder(p)}


def read_metadata(path: str) -> dict[str, str]:
    md = pq.read_schema(path).metadata or {}
    return {k.decode(): v.decode() for k, v in md.items()}


def to_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def local_root(root: str) -> bool:
    return "://" not in root or root.startswith("file://")


def ensure_local_root(root: str) -> None:
    if local_root(root):
        os.makedirs(root, exist_ok=True)


def write_atomic(path: Path, text: str) -> None:
    """A local text file (a report, a JUnit file) written whole or not at all."""
    write_atomic_bytes(path, text.encode())


def write_atomic_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
