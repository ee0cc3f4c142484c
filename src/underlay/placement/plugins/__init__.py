"""Filter, score, topology and queue-sort plugins of the placement framework, and the
default registry."""

from underlay.placement.framework import Registry
from underlay.placement.plugins.filters import (
    GpuFit,
    GpuModel,
    NodeResourcesFit,
    PodAntiAffinity,
    PodSlots,
)
from underlay.placement.plugins.queue import DecreasingSize, InOrder
from underlay.placement.plugins.scores import (
    DominantResourceAlignment,
    GpuAvoidance,
    GpuFragmentation,
    LeastAllocated,
    MostAllocated,
    NodeOrder,
)
from underlay.placement.plugins.topology import RackAntiAffinity, RackSpread
from underlay.placement.strategies import STRATEGIES

__all__ = ["default_registry"]


def default_registry() -> Registry:
    """A registry holding every built-in plugin and strategy."""
    registry = Registry()
    # Order matters for reasons: the first filter refusing a node is named.
    for f in (NodeResourcesFit(), PodSlots(), GpuModel(), GpuFit(), PodAntiAffinity()):
        registry.add_filter(f)
    for s in (
        NodeOrder(),
        MostAllocated(),
        LeastAllocated(),
        DominantResourceAlignment(),
        GpuAvoidance(),
        GpuFragmentation(),
    ):
        registry.add_score(s)
    for t in (RackAntiAffinity(), RackSpread()):
        registry.add_topology(t)
    for q in (DecreasingSize(), InOrder()):
        registry.add_queue_sort(q)
    for profile in STRATEGIES.values():
        registry.add_profile(profile)
    return registry
