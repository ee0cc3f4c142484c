"""The scheduler-like framework: pod batches, filter and score plugins, registry, profiles.

Modelled on the Kubernetes scheduler framework: *filters* say how many replicas of a
batch each node can still take (0 = filtered out, the reason as data); *scores* rank
nodes 0–100; a *profile* enables score plugins with weights — the framework, not the
plugin, applies the weights. Everything is vectorised over the pool's nodes: a batch is
a group of identical pods (the replicas of one workload), so one call places them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from underlay.placement.pool import NodePool

__all__ = [
    "UNLIMITED",
    "FilterPlugin",
    "PodBatch",
    "Profile",
    "Registry",
    "ScorePlugin",
    "Unfit",
]

UNLIMITED = np.int64(1) << 40
I64 = NDArray[np.int64]
F64 = NDArray[np.float64]


@dataclass(frozen=True)
class PodBatch:
    """``replicas`` identical pods of one workload (or VMs of one cluster)."""

    key: int  # index of the workload (or VM group) this batch belongs to
    replicas: int
    cpu_milli: int
    memory_mib: int
    gpu_count: int = 0
    gpu_milli: int = 0  # per GPU; 1000 = whole GPU
    gpu_models: frozenset[int] | None = None  # allowed model codes; None = any
    anti_affinity: Literal["none", "host", "rack"] = "none"
    spread_racks: bool = False
    pod_slots: int = 1  # pod slots taken on the node (0 for a VM on a host)

    @property
    def needs_gpu(self) -> bool:
        """Whether the pods need any GPU."""
        return self.gpu_count > 0 and self.gpu_milli > 0


@dataclass(frozen=True)
class Unfit:
    """Why a pod does not fit: one resource, as data.

    ``plugin`` names the filter that refused (empty when no plugin decided, e.g. an
    exhausted inventory). ``resolvable`` says whether more hosts could help: False when
    the pod does not fit even an empty node of every kind on offer (the Kubernetes
    scheduler's UnschedulableAndUnresolvable), True otherwise (Unschedulable).
    """

    resource: str
    requested: float
    free: float
    capacity: float
    detail: str = ""
    plugin: str = ""
    resolvable: bool = True

    @property
    def status(self) -> Literal["Unschedulable", "UnschedulableAndUnresolvable"]:
        """The scheduler's word for it: whether buying hosts would help."""
        return "Unschedulable" if self.resolvable else "UnschedulableAndUnresolvable"

    def describe(self) -> str:
        """One human sentence."""
        text = (
            f"{self.resource}: requested {self.requested:g}, largest free {self.free:g}, "
            f"node capacity {self.capacity:g}"
        )
        return f"{text} ({self.detail})" if self.detail else text


class FilterPlugin(Protocol):
    """How many replicas of ``batch`` each live node can take (``UNLIMITED`` = no limit).

    Every fit decision asks the registered filters: live nodes, a node about to be
    opened (shown to the filters as a pool of one empty node of its template), and GPU
    pods placed one at a time (only nodes every filter accepts are candidates, and no
    node gets more replicas in one step than the filters allow it).
    """

    name: str

    def relevant(self, batch: PodBatch) -> bool:
        """False when the filter cannot limit ``batch`` (it is then skipped)."""
        ...

    def fit(self, pool: NodePool, batch: PodBatch) -> I64: ...

    def unfit(self, pool: NodePool, batch: PodBatch, node: int) -> Unfit: ...


class ScorePlugin(Protocol):
    """Node preference for ``batch``, 0–100 (higher is preferred)."""

    name: str

    def score(self, pool: NodePool, batch: PodBatch, nodes: I64) -> F64: ...


class Registry:
    """Named plugins; refuses duplicate names."""

    def __init__(self) -> None:
        self._filters: dict[str, FilterPlugin] = {}
        self._scores: dict[str, ScorePlugin] = {}

    def add_filter(self, plugin: FilterPlugin) -> None:
        """Register a filter plugin."""
        if plugin.name in self._filters or plugin.name in self._scores:
            raise ValueError(f"plugin {plugin.name!r} registered twice")
        self._filters[plugin.name] = plugin

    def add_score(self, plugin: ScorePlugin) -> None:
        """Register a score plugin."""
        if plugin.name in self._scores or plugin.name in self._filters:
            raise ValueError(f"plugin {plugin.name!r} registered twice")
        self._scores[plugin.name] = plugin

    def filters(self) -> list[FilterPlugin]:
        """All filters, in registration order."""
        return list(self._filters.values())

    def score(self, name: str) -> ScorePlugin:
        """The score plugin called ``name``."""
        try:
            return self._scores[name]
        except KeyError:
            known = ", ".join(sorted(self._scores))
            raise KeyError(f"unknown score plugin {name!r} (known: {known})") from None

    def score_names(self) -> list[str]:
        """Names of all score plugins."""
        return sorted(self._scores)


@dataclass(frozen=True)
class Profile:
    """Weighted score plugins and how replicas are laid out over ranked nodes.

    ``fill="pack"`` fills the best node to its limit before the next (first-fit,
    best-fit); ``fill="spread"`` water-fills one replica per node per round (least
    allocated). ``decreasing`` sorts batches largest first before placing.
    """

    name: str
    weights: dict[str, float] = field(default_factory=dict)
    fill: Literal["pack", "spread"] = "pack"
    decreasing: bool = True
    gpu_per_pod: str | None = None  # GPU-fragmentation kernel strategy for GPU batches
