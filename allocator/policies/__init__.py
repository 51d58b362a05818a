"""Built-in policies. Importing this package registers them."""

from allocator.policies.pcp_buddy import PcpBuddy
from allocator.policies.upstream import Upstream

__all__ = ["PcpBuddy", "Upstream"]

# the pair every verdict compares: the RFC's policy against upstream's (sweep's `gains` view)
UPSTREAM = Upstream.name
RFC = PcpBuddy.name
