"""Built-in workload mixes. Importing this package registers them."""

from allocator.mixes import exit, filecache, kbuild, page_fault1, purge, trace  # noqa: F401
