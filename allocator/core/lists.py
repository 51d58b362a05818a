"""Intrusive doubly linked lists over node ids, like the kernel's `struct list_head`.

Every list has a sentinel node (its id is the list id); an entry's links live in `Z.nxt` and
`Z.prv` at its own node id, so a page on a free list, a PCP list or the LRU costs no storage
beyond its node, as `page->lru` / `page->buddy_list` / `page->pcp_list` share one field in the
kernel. `Z.nlist[node]` remembers which list holds a node (-1: none), for `list_del` to keep
`Z.llen` exact and for the invariant checks.

The `link_*` functions take the arrays themselves, for lists a policy keeps in its own arrays
(pcp-buddy's owned_blocks); the `list_*` ones are those over the simulator state.
"""

from __future__ import annotations

from allocator.core.jit import njit


@njit
def link_add(nxt, prv, nlist, llen, lst, node, tail):
    """list_add() (head) or list_add_tail() on arbitrary link arrays."""
    if tail:
        before = prv[lst]
        after = lst
    else:
        before = lst
        after = nxt[lst]
    nxt[node] = after
    prv[node] = before
    nxt[before] = node
    prv[after] = node
    nlist[node] = lst
    llen[lst] += 1


@njit
def link_del(nxt, prv, nlist, llen, node):
    lst = nlist[node]
    p = prv[node]
    n = nxt[node]
    nxt[p] = n
    prv[n] = p
    nlist[node] = -1
    llen[lst] -= 1


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
def list_add(z, lst, node):
    """list_add(): insert at the head."""
    link_add(z.nxt, z.prv, z.nlist, z.llen, lst, node, False)


@njit
def list_add_tail(z, lst, node):
    """list_add_tail(): insert at the tail."""
    link_add(z.nxt, z.prv, z.nlist, z.llen, lst, node, True)


@njit
def list_del(z, node):
    link_del(z.nxt, z.prv, z.nlist, z.llen, node)
