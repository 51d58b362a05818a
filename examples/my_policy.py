"""A policy of your own, without editing pcp-sweep: upstream without decay_pcp_high().

decay_pcp_high() (v6.7+) lowers pcp->high by an eighth every vmstat interval and drains what
is above it. Does it matter for your workload? Run both and compare:

    PYTHONPATH=examples sweep simulate --cpus 8 --mem 4GiB --mix kbuild --duration 3s \\
        --policy my_policy:UpstreamNoDecay
    sweep simulate --cpus 8 --mem 4GiB --mix kbuild --duration 3s --policy upstream

Once this module is imported its policy is also registered under its name, `upstream-nodecay`.
A hook is a function compiled with `allocator.hook`, with the signature the engine calls
(allocator/policies/base.py); here one hook changes and the others are upstream's.
"""

from allocator import hook, register_policy
from allocator.policies import Upstream


@hook
def no_decay(z, ps, cpu):
    """vmstat_update() without decay_pcp_high(): pcp->high stays where frees pushed it."""
    return


@register_policy
class UpstreamNoDecay(Upstream):
    """Upstream PCP as before v6.7: pcp->high never decays."""

    name = "upstream-nodecay"
    hooks = Upstream.hooks._replace(decay_pcp_high=no_decay)
