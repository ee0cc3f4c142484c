"""Placement strategies, named after their algorithm, as profiles of score plugins."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from underlay.placement.framework import Profile

__all__ = ["STRATEGIES", "profile_for"]

STRATEGIES: dict[str, Profile] = {
    # Nodes in opening order; workloads largest first.
    "first-fit-decreasing": Profile("first-fit-decreasing", {"NodeOrder": 1.0}, "pack"),
    # The node left fullest after placement (Kubernetes MostAllocated), the plain pods
    # first dealt over the nodes their bound needs (placement/deal.py).
    "best-fit": Profile("best-fit", {"MostAllocated": 1.0}, "pack", deal=True),
    # The emptiest node, one replica per node per round (Kubernetes LeastAllocated).
    "least-allocated": Profile("least-allocated", {"LeastAllocated": 1.0}, "spread"),
    # Leftover shape aligned with the pod's (Tetris, Grandl et al. SIGCOMM 2014).
    "dominant-resource": Profile("dominant-resource", {"DominantResourceAlignment": 1.0}, "pack"),
    # Best fit, keeping CPU-only pods off GPU nodes and placing GPU pods one by one with
    # fragmentation gradient descent (Weng et al., ATC 2023).
    "gpu-fragmentation": Profile(
        "gpu-fragmentation",
        {"MostAllocated": 1.0, "GpuAvoidance": 2.0, "GpuFragmentation": 1.0},
        "per-pod",
    ),
}


def profile_for(strategy: str, weights: Mapping[str, float] | None = None) -> Profile:
    """The built-in profile of ``strategy`` with ``weights`` overriding its plugin weights
    (a registry's own strategies: :meth:`~underlay.placement.framework.Registry.profile`)."""
    base = STRATEGIES[strategy]
    return replace(base, weights={**base.weights, **weights}) if weights else base
