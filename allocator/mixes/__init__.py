"""Built-in workload mixes. Importing this package registers them."""

from allocator.mixes import (  # noqa: F401
    exit,
    filecache,
    kbuild,
    page_fault1,
    page_fault2,
    purge,
    trace,
)
