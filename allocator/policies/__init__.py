"""Built-in policies. Importing this package registers them."""

from .pcp_buddy import PcpBuddy
from .upstream import Upstream

__all__ = ["PcpBuddy", "Upstream"]
