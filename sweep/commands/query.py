"""`sweep query`: read-only DuckDB SQL over the stored results, as a table, CSV, JSON or
Markdown."""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

from rich.table import Table

from allocator.params.errors import SpecError

from ..db import connect, lock_down, read_only_query

FORMATS = ("table", "csv", "json", "markdown")


def run_query(sql: str, results: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    con = connect(results)
    lock_down(con, results)
    rel = read_only_query(con, sql)
    return list(rel.columns), rel.fetchall()


def _cell(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def render(columns: list[str], rows: list[tuple[Any, ...]], fmt: str) -> str | Table:
    if fmt == "json":
        return json.dumps([{c: _cell(v) for c, v in zip(columns, r, strict=True)} for r in rows],
                          default=str)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(columns)
        writer.writerows(rows)
        return buf.getvalue().rstrip("\n")
    if fmt == "markdown":
        lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(_text(v) for v in r) + " |" for r in rows]
        return "\n".join(lines)
    if fmt == "table":
        table = Table(show_lines=False)
        for c in columns:
            table.add_column(c)
        for r in rows:
            table.add_row(*(_text(v) for v in r))
        return table
    raise SpecError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def print_query(sql: str, results: str, fmt: str, out: Any) -> None:
    """`sweep query`: the rows in `fmt` (a rich table on `out`, else text on stdout)."""
    if fmt not in FORMATS:
        raise SpecError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    columns, rows = run_query(sql, results)
    rendered = render(columns, rows, fmt)
    if isinstance(rendered, str):
        print(rendered)
    else:
        out.print(rendered)
