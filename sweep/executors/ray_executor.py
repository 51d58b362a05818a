"""Ray: each point is a task. With no address, `start_local` starts a local instance sized to
this machine; `--address` or RAY_ADDRESS joins a cluster started from cluster.yaml. Tasks are
kept to a bounded window in flight and handled as they finish.

A local instance is this machine's business only: every process of it listens on loopback
and nowhere else (tests/sweep/test_ray_local.py checks with `ss`), the dashboard is off unless
asked for (`--dashboard`; Ray's API server runs either way, on loopback), and the processes
it started end with the driver, a SIGKILL included (reaper.py).

Failures: a point that raises is retried inside its task (worker.run_point, `--retries`); a
worker process that dies (killed, out of memory, its node lost) is retried by Ray
(`max_retries`). Either way the point ends stored or recorded as failed exactly once, because
files are named by point and moved into place atomically.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from typing import Any

import ray
import ray._private.ray_constants as ray_constants

from ..worker import run_point
from . import reaper

_AUTH_LOGGER = "ray._private.authentication.authentication_token_setup"
SYSTEM_RETRIES = 4  # a lost worker or node: Ray resubmits the task this many times


def verbose() -> bool:
    """`sweep --verbose`: Ray's messages and the workers' output reach the terminal."""
    return bool(os.environ.get("PCP_SWEEP_VERBOSE"))


def start_local(cpus: int, object_store_bytes: int = 256 << 20,
                dashboard: bool = False) -> Any:
    """Start a local Ray instance bound to loopback; returns its reaper (or None).

    Ray turns a node address of 127.0.0.1 into the machine's outward address
    (services.resolve_ip_for_localhost), so `_node_ip_address="127.0.0.1"` binds nothing to
    loopback; with its cluster support off (RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0, read at
    import and so also set on the module, and inherited by the processes it starts) the node's
    address is the loopback one and every server binds it (Ray 2.60)."""
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    ray_constants.ENABLE_RAY_CLUSTER = False
    if not verbose():
        # Ray's default for a new local instance is token authentication, and it says so
        # on every start; that notice is not the user's business unless asked (--verbose).
        logging.getLogger(_AUTH_LOGGER).setLevel(logging.ERROR)
    ray.init(num_cpus=cpus, include_dashboard=dashboard, log_to_driver=verbose(),
             configure_logging=False, object_store_memory=object_store_bytes)
    return reaper.watch(os.getpid())


class RayExecutor:
    def __init__(self, address: str | None = None, workers: int | None = None,
                 dashboard: bool = False) -> None:
        address = address or os.environ.get("RAY_ADDRESS")
        self._started_here = not ray.is_initialized()  # shut down at close only what we began
        self._reaper = None
        if self._started_here:
            if address:
                ray.init(address=address, log_to_driver=verbose(), configure_logging=False)
            else:
                self._reaper = start_local(workers or os.cpu_count() or 1, dashboard=dashboard)
        self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self._task = ray.remote(num_cpus=1, max_retries=SYSTEM_RETRIES)(run_point)
        self._pending: list[Any] = []
        self.running = 0

    def imap(self, calls: Iterable[tuple[Any, ...]]) -> Iterator[dict[str, Any]]:
        window = 2 * self.workers
        todo = iter(calls)
        self._pending = []
        exhausted = False
        while True:
            while not exhausted and len(self._pending) < window:
                args = next(todo, None)
                if args is None:
                    exhausted = True
                    break
                self._pending.append(self._task.remote(*args))
            if not self._pending:
                return
            self.running = min(len(self._pending), self.workers)
            done, self._pending = ray.wait(self._pending, num_returns=1)
            for ref in done:
                yield ray.get(ref)

    def cancel(self) -> None:
        for ref in self._pending:
            ray.cancel(ref, force=True)
        self._pending = []
        self.running = 0

    def close(self) -> None:
        if self._started_here and ray.is_initialized():
            ray.shutdown()
        reaper.stop(self._reaper)  # ends whatever Ray's shutdown left running
        self._reaper = None
