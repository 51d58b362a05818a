"""core/structs.py: the states kernels take, passed as one pointer."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from allocator.core.jit import JIT_ENABLED
from allocator.core.structs import StateRef, state_struct

# a field named `st`, as the mixes' states have: numba's own generated constructor names its
# struct `st` and would overwrite it
Probe = state_struct("Probe", ["st", "count", "scale"], __name__)


@numba.njit(_nrt=False)
def _bump(p, i):
    """Reads every field through the struct, writes through an array field."""
    p.st[i] += p.scale
    return p.st[i] * p.count


@numba.njit(_nrt=False, inline="never")
def _callee(p, i):
    return _bump(p, i)


@numba.njit(_nrt=False)
def _over_tuple(ps, k, i):
    """A tuple of structs indexed at run time, then a call that is not inlined."""
    return _callee(ps[k], i)


def _probe(n=4, count=3, scale=5):
    return Probe(st=np.zeros(n, dtype=np.int64), count=count, scale=scale)


def test_a_kernel_reads_the_fields_and_writes_through_to_the_same_arrays():
    p = _probe()
    assert _bump(p, 2) == 5 * 3
    assert _callee(p, 2) == 10 * 3
    assert list(p.st) == [0, 0, 10, 0]  # Python's array is the struct's
    assert p.count == 3 and p.scale == 5


def test_a_tuple_of_structs_is_indexed_at_run_time():
    ps = (_probe(count=1), _probe(count=2))
    assert _over_tuple(ps, 1, 0) == 5 * 2
    assert _over_tuple(ps, 0, 0) == 5 * 1
    assert ps[1].st[0] == 5 and ps[0].st[0] == 5


def test_python_sees_a_namedtuple_like_value():
    p = _probe()
    assert p._fields == ("st", "count", "scale")
    st, count, scale = p
    assert st is p.st and (count, scale) == (3, 5)
    with pytest.raises(AttributeError):
        _ = p.nope
    if JIT_ENABLED:
        assert isinstance(p, StateRef)
    else:  # NUMBA_DISABLE_JIT=1: the interpreted kernels take a namedtuple
        assert isinstance(p, Probe.tuple_type)
