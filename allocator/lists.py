"""Intrusive doubly linked lists over node ids, like the kernel's `struct list_head`.

Every list has a sentinel node (its id is the list id); an entry's links live in `Z.nxt` and
`Z.prv` at its own node id, so a page on a free list, a PCP list or the LRU costs no storage
beyond its node, as `page->lru` / `page->buddy_list` / `page->pcp_list` share one field in the
kernel. `Z.nlist[node]` remembers which list holds a node (-1: none), for `list_del` to keep
`Z.llen` exact and for the invariant checks.
"""

from __future__ import annotations

from ._jit import njit


@njit
def list_init(z, lst):
    z.nxt[lst] = lst
    z.prv[lst] = lst
    z.llen[lst] = 0


@njit
def list_empty(z, lst):
    return z.nxt[lst] == lst


@njit
def list_first(z, lst):
    """First entry (the head side), or -1 if empty."""
    n = z.nxt[lst]
    return -1 if n == lst else n


@njit
def list_last(z, lst):
    """Last entry (the tail side), or -1 if empty."""
    n = z.prv[lst]
    return -1 if n == lst else n


@njit
def _insert(z, lst, node, before, after):
    z.nxt[node] = after
    z.prv[node] = before
    z.nxt[before] = node
    z.prv[after] = node
    z.nlist[node] = lst
    z.llen[lst] += 1


@njit
def list_add(z, lst, node):
    """list_add(): insert at the head."""
    _insert(z, lst, node, lst, z.nxt[lst])


@njit
def list_add_tail(z, lst, node):
    """list_add_tail(): insert at the tail."""
    _insert(z, lst, node, z.prv[lst], lst)


@njit
def list_del(z, node):
    lst = z.nlist[node]
    p = z.prv[node]
    n = z.nxt[node]
    z.nxt[p] = n
    z.prv[n] = p
    z.nlist[node] = -1
    z.llen[lst] -= 1
