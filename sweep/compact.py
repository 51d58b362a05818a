"""Per-sweep indexes: the many one-point files of a kind, compacted into one Parquet file.

A sweep stores one file per point (atomic, written by any worker); scanning a hundred thousand
small files takes DuckDB seconds. So queries read `<sweep>/index/<kind>.parquet`, a copy of
every `<sweep>/<kind>/*.parquet` in one file, rebuilt when the set of point files has changed
since (its names are hashed into `<kind>.parquet.names`). The point files stay the truth; an
index is a cache that can be deleted at any time.
"""

from __future__ import annotations

import hashlib
import uuid

import duckdb
import pyarrow.fs as pafs

from .store import KINDS, _fs


def _names(fs: pafs.FileSystem, directory: str) -> list[str]:
    sel = pafs.FileSelector(directory, allow_not_found=True)
    return sorted(i.base_name for i in fs.get_file_info(sel)
                  if i.base_name.endswith(".parquet") and not i.base_name.startswith("."))


def sweeps(root: str) -> list[str]:
    fs, base = _fs(root)
    sel = pafs.FileSelector(base, allow_not_found=True)
    return sorted(i.base_name for i in fs.get_file_info(sel)
                  if i.type == pafs.FileType.Directory and not i.base_name.startswith("."))


def ensure_index(root: str, sweep: str, kind: str) -> str | None:
    """Path of an up-to-date index of `kind` for `sweep` (built if needed), None if empty."""
    fs, base = _fs(root)
    names = _names(fs, f"{base}/{sweep}/{kind}")
    if not names:
        return None
    digest = hashlib.blake2b("\n".join(names).encode(), digest_size=16).hexdigest()
    index_dir = f"{base}/{sweep}/index"
    target = f"{index_dir}/{kind}.parquet"
    stamp = f"{target}.names"
    try:
        with fs.open_input_stream(stamp) as f:
            if f.read().decode() == digest:
                return _uri(root, target)
    except (FileNotFoundError, OSError):
        pass
    fs.create_dir(index_dir, recursive=True)
    tmp = f"{index_dir}/.{kind}.{uuid.uuid4().hex}.tmp"
    files = [_uri(root, f"{base}/{sweep}/{kind}/{n}") for n in names]
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(
        f"COPY (SELECT * FROM read_parquet(?, union_by_name = true)) TO '{_uri(root, tmp)}' "
        "(FORMAT parquet)", [files])
    fs.move(tmp, target)
    with fs.open_output_stream(stamp) as f:
        f.write(digest.encode())
    return _uri(root, target)


def _uri(root: str, path: str) -> str:
    """A path DuckDB can read: local as is, remote with the root's scheme."""
    if "://" in root:
        scheme = root.split("://", 1)[0]
        return f"{scheme}://{path}"
    return path


def indexes(root: str) -> dict[str, list[str]]:
    """Up-to-date index files of every sweep under `root`, per kind."""
    out: dict[str, list[str]] = {k: [] for k in KINDS}
    for sweep in sweeps(root):
        for kind in KINDS:
            path = ensure_index(root, sweep, kind)
            if path:
                out[kind].append(path)
    return out
