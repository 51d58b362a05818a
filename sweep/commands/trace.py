"""`sweep trace import`: a kmem trace (perf script, trace-cmd report, ftrace) to a pattern the
`trace` mix replays."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from allocator.params.errors import SpecError

from ..trace.pattern import import_trace

trace_app = typer.Typer(
    help="Import kmem traces for replay (the `trace` mix).", no_args_is_help=True
)
_err = Console(stderr=True)


@trace_app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="perf script, trace-cmd report or ftrace text.")],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Pattern file (default: FILE.pattern.parquet)."),
    ] = None,
) -> None:
    """Read mm_page_alloc / mm_page_free / mm_page_free_batched events, pair each allocation with
    its free by pfn and order, and store the pattern (Parquet) for `--mix trace`.

    Example: sweep trace import kmem.txt -o kmem.pattern.parquet &&
    sweep simulate --cpus 256 --mem 1TiB --mix trace --set mix.trace.pattern=kmem.pattern.parquet
    """
    if not file.is_file():
        raise SpecError(f"{file}: no such file (a kmem trace: perf script, trace-cmd report, "
                        "or /sys/kernel/tracing/trace)")
    out = output or file.with_name(file.name + ".pattern.parquet")
    if not out.parent.is_dir():
        raise SpecError(f"--output: directory {out.parent} does not exist")
    summary = import_trace(file, out)
    for line in summary.lines():
        _err.print(line, markup=False, highlight=False, soft_wrap=True)
    print(out)
