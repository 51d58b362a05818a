"""sweep: run allocator simulations over grids, store them, and answer with DuckDB.

The command line (`sweep ...`) is a thin shell over the functions in `sweep.commands`.
"""

__version__ = "0.1.0"
