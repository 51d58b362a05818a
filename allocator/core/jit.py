"""The numba boundary: one `njit` for the whole simulator, and the source hash.

Every compiled function of the simulator is decorated with `njit` from here. It is numba's
`njit(cache=True)`, with the on-disk cache placed in a directory named after a hash of the
simulator's own sources. Numba's cache only notices changes to the file that defines a function,
not to the functions it calls from other files; keying the whole cache directory by the hash of
every source file means an edited callee can never be served from a stale cache.

`NUMBA_DISABLE_JIT=1` turns every kernel into plain Python (slow, for debugging and for the tests
that compare both modes); the arithmetic is integer-only so both modes give identical numbers.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numba
import numba.experimental.function_type  # noqa: F401 - registers first; see below
from numba.core import types
from numba.core.imputils import lower_constant

_PKG_DIR = Path(__file__).resolve().parent.parent  # the allocator package


def _source_hash() -> str:
    """Hash of every Python source file of the `allocator` package, in a stable order."""
    digest = hashlib.blake2b(digest_size=8)
    for path in sorted(_PKG_DIR.rglob("*.py")):
        digest.update(path.relative_to(_PKG_DIR).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


SOURCE_HASH: str = _source_hash()
JIT_ENABLED: bool = not numba.config.DISABLE_JIT


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pcp-sweep" / "numba" / SOURCE_HASH


if not os.environ.get("NUMBA_CACHE_DIR"):
    # Must be set before the first @njit(cache=True) below is applied: numba picks the cache
    # locator when the decorator runs.
    numba.config.CACHE_DIR = str(_cache_dir())


def njit(fn=None, **options):
    """`numba.njit(cache=True)` with the simulator's cache directory, and without the NRT.

    `_nrt=False`: the kernels never allocate; they only read and write the state arrays, which
    the Python side keeps alive. Without it numba counts a reference to every array of the
    state at each call (a few hundred atomic operations per simulated page operation)."""
    options.setdefault("cache", True)
    options.setdefault("_nrt", False)
    if fn is None:
        return lambda f: numba.njit(**options)(f)
    return numba.njit(**options)(fn)


def njit_hooked(fn):
    """For the functions that take the policy's and the mix's hooks as arguments: the engine
    loop and the allocator entry points it calls. Numba cannot make a stable disk-cache key for
    a function with compiled functions among its arguments, so these are not cached themselves;
    they are compiled into the one engine per (policy, mix) that engine_cache.py builds with the
    hooks bound as constants, and that engine is cached (see `_dispatcher_constant`)."""
    return numba.njit(cache=False, _nrt=False)(fn)


def njit_hooked_inline(fn):
    """`njit_hooked`, inlined at numba's IR level where it is called: for the few on every
    page operation's path (allocation down to `rmqueue`, a free down to the policy's hook),
    where leaving the inlining to LLVM made pcp-buddy 12% slower."""
    return numba.njit(cache=False, _nrt=False, inline="always")(fn)


@lower_constant(types.Dispatcher)
def _dispatcher_constant(context, builder, ty, pyval):
    """A compiled function passed as a value (the hooks, from the engine down the allocator's
    entry points) is a placeholder: a call through it is resolved when compiling, by its type,
    and nothing reads the value at run time. Numba's first-class functions
    (numba/experimental/function_type.py, imported above so that this registration, the later
    one, is the one used) lower it as the dispatcher's address, a dynamic global that numba
    refuses to cache: the engine could only be cached with every hooked function inlined at
    numba's IR level, which took 39 of an engine's 42 s of compiling. The cost: no first-class
    use (a dispatcher cast to a function type) in a process that imports the simulator."""
    return context.get_dummy_value()
