"""The scheduler-like framework: pod batches, plugins (filter, score, topology, queue
sort), the registry, profiles.

Modelled on the Kubernetes scheduler framework: *filters* say how many replicas of a
batch each node can still take (0 = filtered out, the reason as data); *scores* rank
nodes 0–100; a *profile* enables score plugins with weights — the framework, not the
plugin, applies the weights. Everything is vectorised over the pool's nodes: a batch is
a group of identical pods (the replicas of one workload), so one call places them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from underlay.model.fields import _did_you_mean
from underlay.placement.pool import NodePool

__all__ = [
    "UNLIMITED",
    "Configurable",
    "FilterPlugin",
    "PodBatch",
    "Profile",
    "QueueSortPlugin",
    "Registry",
    "ScorePlugin",
    "TopologyPlugin",
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

    Optional: ``empty_fit(template, batch) -> int``, what :meth:`fit` would say of one
    empty node of ``template``, without building a pool — the fast path for nodes about
    to be opened (every built-in filter has it); ``with_args(args)`` for arguments from
    the scenario file (:class:`Configurable`).
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


class Configurable(Protocol):
    """A plugin that takes arguments from the scenario file (``placement.args``)."""

    name: str

    def with_args(self, args: Mapping[str, float]) -> Configurable:
        """A copy of the plugin under ``args``; ValueError naming a bad argument."""
        ...


class Registry:
    """Named plugins and strategies (profiles); refuses duplicate names.

    One registry holds everything placement may use: filters, scores and the strategies
    a scenario may name. :meth:`merge` adds another registry's (a site's own plugins to
    the built-in ones); :meth:`configure` applies a scenario's ``placement.args``.
    """

    def __init__(self) -> None:
        self._filters: dict[str, FilterPlugin] = {}
        self._scores: dict[str, ScorePlugin] = {}
        self._profiles: dict[str, Profile] = {}
        self._topologies: dict[str, TopologyPlugin] = {}
        self._queue_sorts: dict[str, QueueSortPlugin] = {}

    def add_filter(self, plugin: FilterPlugin) -> None:
        """Register a filter plugin."""
        self._refuse_twice(plugin.name)
        self._filters[plugin.name] = plugin

    def add_score(self, plugin: ScorePlugin) -> None:
        """Register a score plugin."""
        self._refuse_twice(plugin.name)
        self._scores[plugin.name] = plugin

    def add_profile(self, profile: Profile) -> None:
        """Register a strategy: a profile of score plugins the scenario may name."""
        if profile.name in self._profiles:
            raise ValueError(f"strategy {profile.name!r} registered twice")
        self._profiles[profile.name] = profile

    def add_topology(self, plugin: TopologyPlugin) -> None:
        """Register a topology plugin (a per-rack quota)."""
        self._refuse_twice(plugin.name)
        self._topologies[plugin.name] = plugin

    def add_queue_sort(self, plugin: QueueSortPlugin) -> None:
        """Register a queue-sort plugin."""
        self._refuse_twice(plugin.name)
        self._queue_sorts[plugin.name] = plugin

    def _refuse_twice(self, name: str) -> None:
        if name in self.plugin_names():
            raise ValueError(f"plugin {name!r} registered twice")

    def topologies(self) -> list[TopologyPlugin]:
        """All topology plugins, in registration order."""
        return list(self._topologies.values())

    def queue_sort(self, name: str) -> QueueSortPlugin:
        """The queue-sort plugin called ``name``."""
        if name not in self._queue_sorts:
            known = sorted(self._queue_sorts)
            raise KeyError(
                f"unknown queue-sort plugin {name!r}{_did_you_mean(name, known)} (known: {', '.join(known)})"
            )
        return self._queue_sorts[name]

    def merge(self, other: Registry) -> Registry:
        """A new registry holding this one's plugins and strategies, then ``other``'s
        (ValueError on a name both hold)."""
        out = Registry()
        for reg in (self, other):
            for f in reg._filters.values():
                out.add_filter(f)
            for s in reg._scores.values():
                out.add_score(s)
            for t in reg._topologies.values():
                out.add_topology(t)
            for q in reg._queue_sorts.values():
                out.add_queue_sort(q)
            for p in reg._profiles.values():
                out.add_profile(p)
        return out

    def configure(self, args: Mapping[str, Mapping[str, float]]) -> Registry:
        """A copy with each plugin named in ``args`` built under its arguments
        (ValueError naming an unknown plugin, one that takes none, or a bad argument)."""
        if not args:
            return self
        out = Registry()
        out._filters, out._scores = dict(self._filters), dict(self._scores)
        out._profiles = dict(self._profiles)
        out._topologies, out._queue_sorts = dict(self._topologies), dict(self._queue_sorts)
        for name, given in args.items():
            table: dict[str, Any]
            if name in out._filters:
                table = out._filters
            elif name in out._scores:
                table = out._scores
            else:
                raise ValueError(
                    f"unknown plugin {name!r}{_did_you_mean(name, self.plugin_names())}"
                )
            with_args = getattr(table[name], "with_args", None)
            if with_args is None:
                raise ValueError(f"plugin {name!r} takes no arguments")
            table[name] = with_args(dict(given))
        return out

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

    def plugin_names(self) -> list[str]:
        """Names of all plugins: filter, score, topology and queue-sort."""
        return sorted([*self._filters, *self._scores, *self._topologies, *self._queue_sorts])

    def profile_names(self) -> list[str]:
        """Names of the strategies, in registration order."""
        return list(self._profiles)

    def profile(self, strategy: str, weights: Mapping[str, float] | None = None) -> Profile:
        """The profile of ``strategy`` with ``weights`` overriding its plugin weights
        (KeyError with a did-you-mean on an unknown strategy or score plugin)."""
        if strategy not in self._profiles:
            known = self.profile_names()
            raise KeyError(
                f"unknown strategy {strategy!r}{_did_you_mean(strategy, known)} (known: {', '.join(known)})"
            )
        base = self._profiles[strategy]
        self.queue_sort(base.queue_sort)
        for name in weights or {}:
            if name not in self._scores:
                known = self.score_names()
                raise KeyError(
                    f"unknown score plugin {name!r}{_did_you_mean(name, known)} (known: {', '.join(known)})"
                )
        if not weights:
            return base
        return replace(base, weights={**base.weights, **weights})


@dataclass(frozen=True)
class Profile:
    """Weighted score plugins, how replicas are laid out over ranked nodes, and the order
    batches are placed in.

    ``fill="pack"`` fills the best node to its limit before the next (first-fit,
    best-fit); ``fill="spread"`` water-fills one replica per node per round (least
    allocated); ``fill="per-pod"`` packs, except GPU pods, which go one at a time through
    the GPU kernel under the strategy of the profile's score plugin that names one
    (``gpu_kernel_scorer``: ``GpuFragmentation``). ``queue_sort`` names the
    queue-sort plugin ordering the batches. ``deal``: the plain batches of a pool are
    first dealt over the nodes their bound needs (:mod:`underlay.placement.deal`), what
    the filters refuse there placed as ``fill`` says.
    """

    name: str
    weights: dict[str, float] = field(default_factory=dict)
    fill: Literal["pack", "spread", "per-pod"] = "pack"
    queue_sort: str = "DecreasingSize"
    deal: bool = False


class TopologyPlugin(Protocol):
    """Replicas each rack may hold for ``batch`` (rack anti-affinity, rack spread)."""

    name: str

    def relevant(self, batch: PodBatch) -> bool: ...

    def quota(self, batch: PodBatch, room: I64) -> I64:
        """Per rack, given ``room``: the replicas each rack's live nodes could take."""
        ...

    def describe(self, batch: PodBatch) -> str:
        """The rule in a few words, for reasons."""
        ...


class QueueSortPlugin(Protocol):
    """The order a run's batches are placed in."""

    name: str

    def sort(self, batches: list[PodBatch], ref: Any) -> list[PodBatch]:
        """``batches`` in placing order; ``ref``: the machine sizes are measured against
        (``cpu_milli`` and ``memory_mib``)."""
        ...
