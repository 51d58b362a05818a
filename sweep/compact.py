"""Per-sweep indexes: the many one-point files of a kind, compacted into a few Parquet segments.

A sweep stores one file per point (atomic, written by any worker); scanning a hundred thousand
small files takes DuckDB minutes. So queries read `<sweep>/index/<kind>/<digest>.parquet`,
segments each holding the rows of up to SEGMENT_POINTS point files, and beside each a
`<digest>.names` listing those files. Bringing an index up to date compacts only the point
files no segment holds yet (so a nightly run that adds a few points pays for those alone),
drops a segment that names a file since deleted (its live files are compacted again), and
drops one of two segments that overlap (two processes compacting at once), so no row is ever
read twice. `sweep run` brings its sweep's index up to date when it finishes, `sweep index`
on demand; a read (query, report, regress) never writes: it reads the valid segments and the
files they do not hold. The point files stay the truth; the index is a cache that can be
deleted.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Iterator

import duckdb
import pyarrow.fs as pafs

from allocator.params.errors import SpecError

from .store import KINDS, _fs, check_file, check_schema

# Points per segment: ~4k one-row files compact in a few seconds and keep DuckDB's memory low
# (a union of 100k files at once is what exhausted 24 GiB here); 100k points make 25 segments.
SEGMENT_POINTS = 4096


def _names(fs: pafs.FileSystem, directory: str, suffix: str) -> list[str]:
    sel = pafs.FileSelector(directory, allow_not_found=True)
    try:
        infos = fs.get_file_info(sel)
    except OSError:  # not a directory: nothing to index there (the index is only a cache)
        return []
    return sorted(i.base_name for i in infos if i.type == pafs.FileType.File
                  and i.base_name.endswith(suffix) and not i.base_name.startswith("."))


def sweeps(root: str) -> list[str]:
    fs, base = _fs(root)
    sel = pafs.FileSelector(base, allow_not_found=True)
    try:
        infos = fs.get_file_info(sel)
    except OSError as exc:
        raise SpecError(f"{root}: not a results directory ({str(exc).splitlines()[0]})") from None
    return sorted(i.base_name for i in infos
                  if i.type == pafs.FileType.Directory and not i.base_name.startswith("."))


def _uri(root: str, path: str) -> str:
    """A path DuckDB can read: local as is, remote with the root's scheme."""
    if "://" in root:
        return f"{root.split('://', 1)[0]}://{path}"
    return path


def _read_text(fs: pafs.FileSystem, path: str) -> str | None:
    try:
        with fs.open_input_stream(path) as f:
            return f.read().decode()
    except (FileNotFoundError, OSError):
        return None


def _segments(fs: pafs.FileSystem, index_dir: str) -> dict[str, set[str]]:
    """Segment stem -> the point files it holds (a segment without its list is unusable)."""
    out = {}
    have = set(_names(fs, index_dir, ".parquet"))
    for stem in (n[: -len(".names")] for n in _names(fs, index_dir, ".names")):
        text = _read_text(fs, f"{index_dir}/{stem}.names")
        if text is not None and f"{stem}.parquet" in have:
            out[stem] = set(text.splitlines())
    return out


def _chunks(names: list[str]) -> Iterator[list[str]]:
    for i in range(0, len(names), SEGMENT_POINTS):
        yield names[i : i + SEGMENT_POINTS]


def _write_segment(root: str, fs: pafs.FileSystem, index_dir: str, files_dir: str,
                   names: list[str]) -> str:
    stem = hashlib.blake2b("\n".join(names).encode(), digest_size=12).hexdigest()
    tmp = f"{index_dir}/.{stem}.{uuid.uuid4().hex}.tmp"
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    files = [_uri(root, f"{files_dir}/{n}") for n in names]
    con.execute(f"COPY (SELECT * FROM read_parquet(?, union_by_name = true)) "
                f"TO '{_uri(root, tmp)}' (FORMAT parquet)", [files])
    fs.move(tmp, f"{index_dir}/{stem}.parquet")
    with fs.open_output_stream(f"{index_dir}/{stem}.names") as f:  # last: marks it complete
        f.write("\n".join(names).encode())
    return stem


def _drop(fs: pafs.FileSystem, index_dir: str, stem: str) -> None:
    for ext in ("names", "parquet"):
        with contextlib.suppress(FileNotFoundError, OSError):
            fs.delete_file(f"{index_dir}/{stem}.{ext}")


def ensure_index(root: str, sweep: str, kind: str, *, write: bool = True) -> list[str]:
    """What to read for `kind` of `sweep`, as paths: the index segments, up to date.

    `write` (sweep run, sweep index): segments that name a deleted file or overlap another are
    dropped and the files no segment holds are compacted into new ones. Without it (every
    read: query, report, regress) nothing is written: the valid segments are read, and beside
    them the files no valid segment holds, one by one, so a read-only or shared results
    directory answers the same rows, only slower until a run compacts it."""
    fs, base = _fs(root)
    files_dir = f"{base}/{sweep}/{kind}"
    index_dir = f"{base}/{sweep}/index/{kind}"
    names = set(_names(fs, files_dir, ".parquet"))
    if kind == "points" and names:
        check_schema(fs, f"{files_dir}/{min(names)}", f"{root}/{sweep}")
    segments = _segments(fs, index_dir)
    held: set[str] = set()
    for stem in sorted(segments, key=lambda s: (-len(segments[s]), s)):
        covered = segments[stem]
        if not covered <= names or covered & held:  # a file deleted, or held twice
            if write:
                _drop(fs, index_dir, stem)
            del segments[stem]
        else:
            held |= covered
    stems = sorted(segments)
    missing = sorted(names - held)
    if "://" not in root:  # a damaged file (store.check_file) is left out, never read
        sizes = {i.base_name: i.size for i in fs.get_file_info(
            [f"{files_dir}/{n}" for n in missing])}
        missing = [n for n in missing
                   if check_file(fs, f"{files_dir}/{n}", sizes.get(n)) is None]
    if not write:
        return ([_uri(root, f"{index_dir}/{stem}.parquet") for stem in stems]
                + [_uri(root, f"{files_dir}/{n}") for n in missing])
    if missing:
        fs.create_dir(index_dir, recursive=True)
        stems += [_write_segment(root, fs, index_dir, files_dir, chunk)
                  for chunk in _chunks(missing)]
    return [_uri(root, f"{index_dir}/{stem}.parquet") for stem in sorted(stems)]


def indexes(root: str, only: str | None = None, *, write: bool = True) -> dict[str, list[str]]:
    """What to read of every sweep under `root` (or of sweep `only`), per kind: see
    ensure_index; `write=False` for a read, which changes nothing on disk."""
    out: dict[str, list[str]] = {k: [] for k in KINDS}
    for sweep in [only] if only else sweeps(root):
        for kind in KINDS:
            out[kind] += ensure_index(root, sweep, kind, write=write)
    return out
