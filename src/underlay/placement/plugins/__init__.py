"""Filter and score plugins of the placement framework, and the default registry."""

from underlay.placement.framework import Registry
from underlay.placement.plugins.filters import GpuFit, NodeResourcesFit, PodSlots
from underlay.placement.plugins.scores import (
    DominantResourceAlignment,
    GpuAvoidance,
    LeastAllocated,
    MostAllocated,
    NodeOrder,
)
from underlay.placement.strategies import STRATEGIES

__all__ = ["default_registry"]


def default_registry() -> Registry:
    """A registry holding every built-in plugin and strategy."""
    registry = Registry()
    for f in (NodeResourcesFit(), PodSlots(), GpuFit()):
        registry.add_filter(f)
    for s in (
        NodeOrder(),
        MostAllocated(),
        LeastAllocated(),
        DominantResourceAlignment(),
        GpuAvoidance(),
    ):
        registry.add_score(s)
    for profile in STRATEGIES.values():
        registry.add_profile(profile)
    return registry
