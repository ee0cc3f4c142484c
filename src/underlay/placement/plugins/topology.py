"""Topology plugins: how many replicas of a batch each rack may hold.

Rack anti-affinity (one replica per rack) and rack spread (Kubernetes topology spread
with max skew 1 over racks) are quotas per rack; the placer keeps each rack within its
quota while it lays replicas out in rank order, and opens new nodes only in racks that
still have room under the rule.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from underlay.placement.framework import PodBatch

__all__ = ["RackAntiAffinity", "RackSpread", "cap_by_rack", "racks_to_open"]

I64 = NDArray[np.int64]


class RackAntiAffinity:
    """At most one replica per rack."""

    name = "RackAntiAffinity"

    def relevant(self, batch: PodBatch) -> bool:
        return batch.anti_affinity == "rack"

    def quota(self, batch: PodBatch, room: I64) -> I64:
        """Replicas each rack may hold (``room``: replicas each rack's live nodes take)."""
        return np.ones(len(room), np.int64)

    def describe(self, batch: PodBatch) -> str:
        return "one replica per rack"


class RackSpread:
    """Replicas spread evenly over racks (max skew 1): ``n // racks`` each, plus one in
    the ``n % racks`` racks with the most room now (ties: lower rack)."""

    name = "RackSpread"

    def relevant(self, batch: PodBatch) -> bool:
        return batch.spread_racks and batch.anti_affinity != "rack"

    def quota(self, batch: PodBatch, room: I64) -> I64:
        """Replicas each rack may hold (``room``: replicas each rack's live nodes take)."""
        racks = len(room)
        base, extra = divmod(batch.replicas, racks)
        quota = np.full(racks, base, np.int64)
        order = np.lexsort((np.arange(racks), -room))
        quota[order[:extra]] += 1
        return quota

    def describe(self, batch: PodBatch) -> str:
        return "rack spread"


def cap_by_rack(racks: I64, take: I64, quota: I64, rack_used: I64) -> I64:
    """Lower each node's ``take`` (nodes in rank order, in ``racks``) so no rack exceeds
    its quota, counting ``rack_used`` replicas already there."""
    out = np.zeros_like(take)
    # Sequential within a rack, in rank order: a grouped cumulative sum.
    order = np.lexsort((np.arange(len(racks)), racks))
    r_sorted, t_sorted = racks[order], take[order]
    csum = np.cumsum(t_sorted)
    starts = np.r_[0, np.flatnonzero(np.diff(r_sorted)) + 1]
    group_start = np.repeat(csum[starts] - t_sorted[starts], np.diff(np.r_[starts, len(r_sorted)]))
    before = csum - t_sorted - group_start + rack_used[r_sorted]
    out[order] = np.clip(quota[r_sorted] - before, 0, t_sorted)
    return out


def racks_to_open(need: I64, per_node: int, remaining: int) -> I64:
    """The rack of each node to open: ``need`` replicas more fit each rack under its rule,
    ``per_node`` fit an empty node. Nodes go round by round over the racks (every rack's
    first node, lower racks first, then every rack's second ...), cut where they hold the
    ``remaining`` replicas: rack anti-affinity's quota of one in every rack asks for a
    node in each of them, though two replicas need two."""
    per_rack = -(-need // per_node)
    racks = np.repeat(np.arange(len(need), dtype=np.int64), per_rack)
    nth = np.arange(len(racks)) - np.repeat(np.cumsum(per_rack) - per_rack, per_rack)
    holds = np.minimum(per_node, need[racks] - nth * per_node)
    order = np.lexsort((racks, nth))
    racks, holds = racks[order], holds[order]
    enough = int(np.searchsorted(np.cumsum(holds), remaining)) + 1
    return racks[:enough]
