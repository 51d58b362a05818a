"""Executors run `worker.run_point` over many points and yield statuses as they finish.

`serial` runs in this process (tests, debugging); `ray` fans out on a local Ray instance or a
cluster. Both have the same interface: `imap(calls)` -> iterator of statuses, `running`,
`cancel()`, `close()`.
"""

from __future__ import annotations

from typing import Any

from allocator.errors import SpecError

from .serial import SerialExecutor

EXECUTORS = ("ray", "serial")


def make_executor(name: str, *, address: str | None = None, workers: int | None = None,
                  dashboard: bool = False) -> Any:
    if name == "serial":
        return SerialExecutor()
    if name == "ray":
        from .ray_executor import RayExecutor  # the one module that imports ray

        return RayExecutor(address=address, workers=workers, dashboard=dashboard)
    raise SpecError(f"unknown executor {name!r}; expected one of {', '.join(EXECUTORS)}")
