"""DuckDB over the results store: the views of views.sql, read-only queries."""

from __future__ import annotations

from pathlib import Path

import duckdb

from allocator.core import catalogue
from allocator.params.errors import SpecError

from .compact import indexes
from .store import KINDS

VIEWS_SQL = Path(__file__).with_name("views.sql")
# Columns the views need that points stored before steady-state control lack: NULL there
# (a NULL `stationary` counts as not stationary).
LATER_COLUMNS = {
    "stationary": "BOOLEAN",
    "stop_reason": "VARCHAR",
    "window_ns": "BIGINT",
    "zone_lock_wait_frac": "DOUBLE",
    "nodes": "BIGINT",
    "node_cpus": "BIGINT",
    # written only when not the default: NULL is v7.0 with nothing reverted
    "kernel": "VARCHAR",
    "revert": "VARCHAR",
    # each gain's half-width needs both runs' (the catalogue says which gains have one)
    **{f"{m.name}_ci95": "DOUBLE" for m, g in catalogue.gains() if g.ci},
}


def connect(results: str) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB session with the views over `results` (directory or URI).

    The views of views.sql, but reading each sweep's compacted index (compact.py) rather than
    its one-point files: the same rows, much faster over many points."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute("SET VARIABLE pcp_sweep_results = ?", [results.rstrip("/")])
    files = indexes(results, write=False)  # a read writes nothing
    if not files["points"]:
        raise SpecError(f"no points stored under {results!r} (run `sweep run` first)")
    for statement in duckdb.extract_statements(VIEWS_SQL.read_text()):
        sql = statement.query
        kind = next((k for k in KINDS if f"VIEW {k} AS" in sql), None)
        if kind and not files[kind]:  # DuckDB refuses an empty glob: an empty view instead
            sql = f"CREATE OR REPLACE VIEW {kind} AS SELECT NULL::VARCHAR AS point_id WHERE false"
        elif kind:
            listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files[kind])
            source = f"read_parquet([{listed}], union_by_name = true)"
            sql = f"CREATE OR REPLACE VIEW {kind} AS SELECT * FROM {source}"
            if kind == "points":
                sql = _with_later_columns(con, source)
        con.execute(sql)
    return con


def _with_later_columns(con: duckdb.DuckDBPyConnection, source: str) -> str:
    have = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    extra = "".join(f", NULL::{t} AS {c}" for c, t in LATER_COLUMNS.items() if c not in have)
    return f"CREATE OR REPLACE VIEW points AS SELECT *{extra} FROM {source}"


def lock_down(con: duckdb.DuckDBPyConnection, results: str) -> None:
    """Confine a connection, views already made, to reading the results: no extension is
    installed or loaded behind the user's back (httpfs for a URL, say), no file outside the
    results directory is read (read_text('/etc/shadow'), glob('/etc/*')), no URL is fetched,
    and the settings are locked so a query cannot undo any of it. A remote results URI keeps
    the file system open (its extension must be able to load) but is locked the same way."""
    con.execute("SET autoinstall_known_extensions = false")
    if "://" not in results:
        con.execute("SET autoload_known_extensions = false")
        root = str(Path(results).resolve()).rstrip("/") + "/"
        con.execute("SET allowed_directories = [?]", [root])
        con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def read_only_query(con: duckdb.DuckDBPyConnection, sql: str) -> duckdb.DuckDBPyRelation:
    """Run one SELECT (WITH ... SELECT, FROM-first, PIVOT); anything else is refused."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise SpecError(f"query: {str(exc).splitlines()[0]}") from None
    if len(statements) != 1:
        raise SpecError(f"query: expected one statement, got {len(statements)}")
    kind = statements[0].type
    # PIVOT runs as several statements of DuckDB's own making, all reads
    pivot = kind == duckdb.StatementType.MULTI and sql.lstrip().lower().startswith(
        ("pivot", "unpivot"))
    if kind != duckdb.StatementType.SELECT and not pivot:
        raise SpecError(f"query: only SELECT (or PIVOT) queries are allowed, got {kind.name}")
    try:
        return con.sql(sql)
    except duckdb.Error as exc:
        raise SpecError(f"query: {str(exc).splitlines()[0]}") from None
