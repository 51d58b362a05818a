"""The in-process executor: one point after another, same interface as the Ray one."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ..worker import run_point


class SerialExecutor:
    workers = 1

    def __init__(self) -> None:
        self.running = 0

    def imap(self, calls: Iterable[tuple[Any, ...]]) -> Iterator[dict[str, Any]]:
        for args in calls:
            self.running = 1
            yield run_point(*args)
            self.running = 0

    def cancel(self) -> None:
        self.running = 0

    def close(self) -> None:
        pass
