"""Built-in policies. Importing this package registers them."""

from .upstream import Upstream

__all__ = ["Upstream"]
