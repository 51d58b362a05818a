"""Executors run `worker.run_point` over many points and yield statuses as they finish.

`serial` runs in this process (tests, debugging); `ray` fans out on a local Ray instance or a
cluster. Both have the same interface: `imap(calls)` -> iterator of statuses, `running`,
`cancel()`, `close()`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from allocator.params.errors import SpecError

from .serial import SerialExecutor

EXECUTORS = ("ray", "serial")


class Executor(Protocol):
    """What runner.run_plan needs of an executor."""

    workers: int  # points it runs at once
    running: int  # points running now (for the progress line)

    def imap(self, calls: Iterable[tuple[Any, ...]]) -> Iterator[dict[str, Any]]:
        """Run worker.run_point over `calls`; yield each status as it finishes."""
        ...

    def cancel(self) -> None:
        """Drop what has not finished (Ctrl-C)."""
        ...

    def close(self) -> None:
        """Release what it started (a local Ray instance and its processes)."""
        ...


def make_executor(name: str, *, address: str | None = None, workers: int | None = None,
                  dashboard: bool = False) -> Executor:
    if name == "serial":
        return SerialExecutor()
    if name == "ray":
        from .ray_executor import RayExecutor  # the one module that imports ray

        return RayExecutor(address=address, workers=workers, dashboard=dashboard)
    raise SpecError(f"unknown executor {name!r}; expected one of {', '.join(EXECUTORS)}")
