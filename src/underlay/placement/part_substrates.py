"""The substrate each workload of a placement runs on: in a hybrid, its part's.

A hybrid's pods are charged by their own part's substrate alone — its CPU tax and sandbox
overhead, the network latency it adds, its storage and GPU throughput, the GPU mode it
gives a share in — so a hybrid with every tenant in one part is charged exactly as that
substrate. The replay, the capacity table and the decision look each workload's substrate
up here, once per workload (a tenant's GPU workloads may be in another part than the
rest: ``gpu_workloads``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from underlay.model.scenario import Hybrid, Scenario
from underlay.placement.result import SubstratePlacement

__all__ = [
    "distinct_substrates",
    "each_workload_substrate",
    "tenant_mean",
    "tenant_substrates",
    "workload_substrates",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def workload_substrates(substrate: object, placement: SubstratePlacement) -> list[object] | None:
    """Each workload's substrate in a hybrid (its part's); None on any other substrate."""
    if not isinstance(substrate, Hybrid):
        return None
    by_name = {part.name: part.substrate for part in substrate.parts}
    out: list[object] = [substrate] * len(placement.workloads)
    for part in placement.parts:
        for w in part.workloads:
            out[w] = by_name[part.name]
    return out


def each_workload_substrate(substrate: object, placement: SubstratePlacement) -> list[object]:
    """Each workload's substrate: its part's in a hybrid, else ``substrate`` itself."""
    subs = workload_substrates(substrate, placement)
    return subs if subs is not None else [substrate] * len(placement.workloads)


def distinct_substrates(per_workload: list[object]) -> tuple[list[object], I64]:
    """The distinct substrates of ``per_workload`` (first seen first) and each workload's
    index among them, so a per-substrate figure becomes per workload by one lookup."""
    subs = list({id(s): s for s in per_workload}.values())
    index = {id(s): k for k, s in enumerate(subs)}
    return subs, np.array([index[id(s)] for s in per_workload], np.int64)


def tenant_substrates(scenario: Scenario, substrate: object) -> list[object]:
    """Each tenant's substrate: in a hybrid the part its tenant rule sends it to (its
    GPU workloads may be elsewhere), else ``substrate``; for a tenant with no workload to
    weigh a figure by."""
    if not isinstance(substrate, Hybrid):
        return [substrate] * len(scenario.tenants)
    out: list[object] = []
    for t in scenario.tenants:
        part = substrate.part_of(t.name, t.isolation)
        out.append(substrate.parts[part].substrate if part is not None else substrate)
    return out


def tenant_mean(values: F64, weights: list[F64], t_of_w: I64, fallback: F64) -> F64:
    """Per tenant (``fallback`` has one entry a tenant), the mean of the per-workload
    ``values`` under the first of ``weights`` that gives the tenant's workloads
    (``t_of_w``: each workload's tenant) any weight; ``fallback`` where none does."""
    t_count = len(fallback)
    out: F64 = fallback.astype(np.float64)
    done = np.zeros(t_count, bool)
    for w in weights:
        total = np.bincount(t_of_w, weights=w, minlength=t_count)
        summed = np.bincount(t_of_w, weights=w * values, minlength=t_count)
        use = ~done & (total > 0)
        out[use] = summed[use] / total[use]
        done |= use
    return out
