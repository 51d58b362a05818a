"""Ends the Ray processes a driver started when the driver ends, however it ends.

Ray ties its head processes (gcs_server, raylet, ...) to the driver that started them
(PR_SET_PDEATHSIG), but not the raylet's own children: after a SIGKILL of the driver,
ray::DashboardAgent and ray::RuntimeEnvAgent were seen living on for minutes, one of them
still listening. `watch(pid)` starts this module as a small process of its own session that
learns the driver's process tree once a second from /proc and holds a pipe from the driver:
when the pipe closes (the driver exited, or was killed) it sends SIGTERM to every process of
that tree still alive, and SIGKILL to any left after GRACE_S. A process is matched by pid and
start time, so a pid reused since is never touched. Linux only (/proc); elsewhere `watch`
does nothing.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

TICK_S = 1.0
GRACE_S = 3.0


def watch(driver: int) -> subprocess.Popen | None:
    """Start the reaper for `driver`'s processes; closing the returned process's stdin (or the
    driver's death, which closes it) sets it to work."""
    if not Path("/proc/self/stat").exists():
        return None
    proc = subprocess.Popen(
        [sys.executable, __file__, str(driver)],  # this file alone: no package to import
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        start_new_session=True,  # not in the driver's group: a Ctrl-C does not end it first
    )
    proc.stdout.readline()  # it has learnt the tree as it is now
    return proc


def stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time in clock ticks) of a running process, else None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # the name may hold spaces and parentheses
    return int(fields[1]), int(fields[19])


def stop(proc: subprocess.Popen | None) -> None:
    """Tell the reaper `watch` started that the driver is done, and wait until it has
    ended whatever was left."""
    if proc is not None:
        proc.stdin.close()
        proc.wait()


def descendants(root: int) -> dict[int, int]:
    """pid -> start time of every process below `root` now."""
    children: dict[int, list[int]] = {}
    starts: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            st = stat(int(entry.name))
            if st is not None:
                children.setdefault(st[0], []).append(int(entry.name))
                starts[int(entry.name)] = st[1]
    out: dict[int, int] = {}
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in out:
                out[child] = starts[child]
                todo.append(child)
    return out


def alive(known: dict[int, int]) -> list[int]:
    return [pid for pid, start in known.items() if (st := stat(pid)) and st[1] == start]


def reap(known: dict[int, int]) -> None:
    for sig, wait in ((signal.SIGTERM, GRACE_S), (signal.SIGKILL, 0.0)):
        for pid in alive(known):
            with contextlib.suppress(OSError):  # gone since
                os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while alive(known) and time.monotonic() < deadline:
            time.sleep(0.1)


def main(driver: int) -> None:
    me = os.getpid()
    known: dict[int, int] = {}
    first = True
    while True:
        known.update({p: s for p, s in descendants(driver).items() if p != me})
        if first:
            print("watching", flush=True)
            first = False
        ready, _, _ = select.select([sys.stdin], [], [], TICK_S)
        if ready and not os.read(sys.stdin.fileno(), 4096):
            break  # the pipe closed: the driver is done or dead
    reap(known)


if __name__ == "__main__":
    main(int(sys.argv[1]))
