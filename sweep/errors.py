"""User errors of the sweep layer share the simulator's type: one line, exit code 2."""

from allocator.errors import SpecError

UsageError = SpecError

__all__ = ["SpecError", "UsageError"]
