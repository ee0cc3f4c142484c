"""The placer: puts batches of identical pods on a pool's nodes, opening nodes as needed.

For each batch it (1) asks every filter plugin how many replicas each node can take,
(2) ranks the candidate nodes by the profile's weighted score plugins (ties: lower node
index first, so results never depend on dict order), (3) lays the replicas out — packed
or spread — within the per-rack quota of a topology plugin (rack anti-affinity, rack
spread), (4) opens new nodes from its
:class:`NodeSource` while replicas are left — a node about to be opened is judged by the
same filters, as an empty node of its template (:func:`template_fit`), so a pod every
filter refuses opens nothing — and (5) reports what is left, with the reason as data:
the plugin that refused and whether more nodes would help. GPU pods under a profile with
``fill="per-pod"`` (``gpu-fragmentation``) go one at a time through the GPU kernel,
among the nodes the filters accept (:mod:`.gpu_per_pod`). ``can_place`` answers without
changing anything; ``place`` commits, always through :meth:`Placer.commit`.

Why whole batches: with identical replicas, best-fit by a score that only grows as a node
fills keeps choosing the same node until it is full, so filling nodes in score order
gives the per-pod answer in one vectorised step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from underlay.placement.deal import Proposal
from underlay.placement.framework import (
    UNLIMITED,
    FilterPlugin,
    PodBatch,
    Profile,
    Registry,
    ScorePlugin,
    TopologyPlugin,
    Unfit,
)
from underlay.placement.gpu_per_pod import fill_gpu_per_pod
from underlay.placement.plugins.topology import cap_by_rack, racks_to_open
from underlay.placement.pool import GPU_WHOLE, NodePool, NodeTemplate

__all__ = ["BatchResult", "NodeSource", "Placer", "template_fit"]

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]


class NodeSource(Protocol):
    """Where new nodes come from: bought hosts, an inventory, or new VMs."""

    def template_for(self, batch: PodBatch) -> NodeTemplate | None:
        """The node it would open next for ``batch``; None when it has nothing suitable."""
        ...

    def available(self, template: NodeTemplate) -> int:
        """How many more nodes of ``template`` can be opened."""
        ...

    def open(
        self, pool: NodePool, template: NodeTemplate, count: int, racks: I64 | None = None
    ) -> I64:
        """Open ``count`` nodes in ``pool`` (in ``racks`` when given); returns their indices."""
        ...

    def exhausted(self, batch: PodBatch) -> str:
        """Why no node can be opened for ``batch`` (one short phrase)."""
        ...

    def can_grow(self, batch: PodBatch) -> bool:
        """Whether more nodes for ``batch`` could exist at all, bought or added to an
        inventory (False when no kind of node on offer suits it)."""
        ...


@dataclass(frozen=True)
class BatchResult:
    """Where one batch's replicas went."""

    key: int
    nodes: I64
    counts: I64
    unplaced: int
    reason: Unfit | None
    # GPU pods: the device of each replica, in ``np.repeat(nodes, counts)`` order (the
    # first of a pod's devices); empty for pods without GPUs.
    devices: I64 = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def placed(self) -> int:
        """Replicas placed."""
        return int(self.counts.sum())


# What a built-in filter's refusal on an empty node means (other plugins keep their own).
_EMPTY_NODE_DETAIL = {
    ("NodeResourcesFit", "cpu_milli"): "larger than an empty node",
    ("NodeResourcesFit", "memory_mib"): "larger than an empty node",
    ("PodSlots", "pods"): "no pod slot left after system pods",
    ("GpuModel", "gpu_model"): "no host with an allowed GPU model",
    ("GpuFit", "gpus"): "whole GPUs on an empty node",
    ("GpuFit", "gpu_milli"): "share of one GPU",
}


@lru_cache(maxsize=256)
def _empty_pool(template: NodeTemplate) -> NodePool:
    """A pool of one empty node of ``template`` (filters only read it)."""
    pool = NodePool(max_gpus=template.gpus)
    pool.open(template, np.zeros(1, np.int64), np.zeros(1, np.int64))
    return pool


def template_fit(
    template: NodeTemplate, batch: PodBatch, filters: Sequence[FilterPlugin] | None = None
) -> tuple[int, Unfit | None]:
    """Replicas of ``batch`` an empty node of ``template`` takes, and why none when 0.

    The node is judged by the same filter plugins as a live node (``filters``; the
    default registry's when None), shown as a pool of one empty node — or, for a filter
    with an ``empty_fit(template, batch)`` method (every built-in one), by that scalar
    shortcut of the same rule. A refusal here is unresolvable: more nodes of this
    template would refuse too.
    """
    if filters is None:
        from underlay.placement.plugins import default_registry

        filters = default_registry().filters()
    fit, refused = int(UNLIMITED), None
    for plugin in filters:
        if not plugin.relevant(batch):
            continue
        empty_fit = getattr(plugin, "empty_fit", None)
        if empty_fit is not None:
            limit = int(empty_fit(template, batch))
        else:
            limit = int(plugin.fit(_empty_pool(template), batch)[0])
        if limit <= 0 and refused is None:
            refused = plugin
        fit = min(fit, limit)
    if refused is None:
        return fit, None
    why = refused.unfit(_empty_pool(template), batch, 0)
    detail = _EMPTY_NODE_DETAIL.get((refused.name, why.resource), why.detail)
    return 0, replace(why, detail=detail, plugin=refused.name, resolvable=False)


class Placer:
    """Places batches on one pool under one profile; see the module docstring."""

    def __init__(
        self,
        pool: NodePool,
        source: NodeSource,
        profile: Profile,
        registry: Registry,
        *,
        racks: int = 1,
    ) -> None:
        self.pool = pool
        self.source = source
        self.profile = profile
        self.registry = registry
        self.racks = max(1, racks)
        self.filters = registry.filters()
        self._topologies = registry.topologies()
        self._topology: TopologyPlugin | None = None
        self._quota: I64 | None = None
        self._devices_out: list[I64] = []
        self.typical: list[PodBatch] = []
        self.typical_cache: dict[tuple[str, ...], Any] = {}
        self.gpu_model_names: tuple[str, ...] = ()
        self.scores = [
            (registry.score(name), w) for name, w in sorted(profile.weights.items()) if w
        ]
        # The GPU kernel strategy GPU pods go through one at a time (fill="per-pod").
        self.kernel = ""
        if profile.fill == "per-pod":
            named = (getattr(p, "gpu_kernel_scorer", "") for p, _ in self.scores)
            self.kernel = next((k for k in named if k), "")

    def expect(self, batches: list[PodBatch], gpu_model_names: tuple[str, ...]) -> None:
        """Tell the placer the whole target workload, for fragmentation-aware GPU scoring."""
        self.typical = list(batches)
        self.typical_cache.clear()
        self.gpu_model_names = gpu_model_names

    # ---------------------------------------------------------------- check
    def fit(self, batch: PodBatch, nodes: I64 | None = None) -> I64:
        """Replicas of ``batch`` each live node (or each of ``nodes``) can take now."""
        fit = self.limit(batch, self.filters)
        return fit if nodes is None else fit[nodes]

    def limit(self, batch: PodBatch, filters: Sequence[FilterPlugin]) -> I64:
        """The least any of ``filters`` allows on each live node."""
        fit: I64 | None = None
        for plugin in filters:
            if not plugin.relevant(batch):
                continue
            limit = plugin.fit(self.pool, batch)
            fit = limit if fit is None else np.minimum(fit, limit)
        return np.full(self.pool.n, UNLIMITED, np.int64) if fit is None else fit

    def can_place(self, batch: PodBatch) -> tuple[int, Unfit | None]:
        """How many replicas would fit on the live nodes, and the reason for the rest."""
        fit = self.fit(batch)
        total = int(min(fit.sum(), batch.replicas)) if self.pool.n else 0
        if total >= batch.replicas:
            return total, None
        return total, self._why(batch, fit)

    # ---------------------------------------------------------------- commit
    def place(self, batch: PodBatch, proposal: Proposal | None = None) -> BatchResult:
        """Place as many replicas as fit, opening nodes from the source; commit them.
        ``proposal`` (nodes, replicas on each; :mod:`.deal`) is tried first, each node
        given what its filters allow now; the rest is placed as without it."""
        remaining = batch.replicas
        nodes_out: list[I64] = []
        counts_out: list[I64] = []
        self._devices_out = []
        if proposal is not None:
            remaining = self._take_proposal(batch, proposal, nodes_out, counts_out)
        rack_used = np.zeros(self.racks, np.int64)
        self._topology = next((t for t in self._topologies if t.relevant(batch)), None)
        self._quota = self._rack_quota(batch)
        plain = self._topology is None and batch.anti_affinity == "none"
        per_pod = bool(self.kernel) and batch.needs_gpu and plain
        reason: Unfit | None = None
        among: I64 | None = None
        while remaining > 0:
            if self.pool.n and (among is None or len(among)):
                before = remaining
                if per_pod:
                    remaining = fill_gpu_per_pod(self, batch, remaining, nodes_out, counts_out)
                else:
                    remaining = self._fill(
                        batch, among, remaining, rack_used, nodes_out, counts_out
                    )
                if among is not None and remaining == before:
                    reason = self._racks_reason(batch, 1, 0)
                    break
                if remaining == 0:
                    break
            among, reason = self._open(batch, remaining, rack_used, nodes_out)
            if among is None:
                break
        nodes = _taken(nodes_out)
        counts = np.concatenate(counts_out) if counts_out else np.zeros(0, np.int64)
        devices = _taken(self._devices_out) if batch.needs_gpu else np.zeros(0, np.int64)
        return BatchResult(
            batch.key, nodes, counts, remaining, reason if remaining else None, devices
        )

    def _take_proposal(
        self, batch: PodBatch, proposal: Proposal, nodes_out: list[I64], counts_out: list[I64]
    ) -> int:
        """Commit what the filters allow of ``proposal``; the replicas left."""
        nodes, counts = proposal
        take = np.minimum(counts, self.fit(batch, nodes))
        take = np.clip(batch.replicas - (np.cumsum(take) - take), 0, take)
        keep = take > 0
        nodes, take = nodes[keep], take[keep]
        if len(nodes):
            self.commit(batch, nodes, take)
            nodes_out.append(nodes)
            counts_out.append(take)
        return batch.replicas - int(take.sum())

    def _open(
        self, batch: PodBatch, remaining: int, rack_used: I64, nodes_out: list[I64]
    ) -> tuple[I64 | None, Unfit | None]:
        """Open nodes for ``remaining`` replicas: their indices, or None and why not."""
        template = self.source.template_for(batch)
        if template is None:
            grows = self.source.can_grow(batch)
            exhausted = self.source.exhausted(batch)
            if not self.pool.n:
                return None, Unfit("hosts", 1, 0, 0, exhausted, resolvable=grows)
            why = self._why(batch, self.fit(batch), _taken(nodes_out))
            detail = f"{exhausted}; {why.detail}".rstrip("; ")
            return None, replace(why, detail=detail, resolvable=grows)
        per_node, too_big = template_fit(template, batch, self.filters)
        if per_node == 0:
            return None, too_big
        want = -(-remaining // min(per_node, remaining))
        racks: I64 | None = None
        quota = self._quota
        if quota is not None:
            # Open nodes only in racks that still have room under the rule, and no more
            # than the replicas left need.
            racks = racks_to_open(np.maximum(quota - rack_used, 0), per_node, remaining)
            want = len(racks)
        count = min(want, self.source.available(template))
        if count <= 0 and quota is not None and want == 0:
            return None, self._racks_reason(batch, batch.replicas, int((quota > 0).sum()))
        if count <= 0:
            why = self._why(batch, self.fit(batch), _taken(nodes_out))
            detail = "no host left in the inventory" + (f"; {why.detail}" if why.detail else "")
            return None, replace(why, detail=detail)
        new = self.source.open(self.pool, template, count, None if racks is None else racks[:count])
        return new, None

    def _racks_reason(self, batch: PodBatch, requested: int, free: int) -> Unfit:
        topo = self._topology
        rule = topo.describe(batch) if topo is not None else "opened nodes took none"
        name = topo.name if topo is not None else ""
        return Unfit("racks", requested, free, self.racks, f"{rule} needs more racks", name)

    def _fill(
        self,
        batch: PodBatch,
        among: I64 | None,
        remaining: int,
        rack_used: I64,
        nodes_out: list[I64],
        counts_out: list[I64],
    ) -> int:
        fit = self.fit(batch) if among is None else self.fit(batch)[among]
        cand = (np.flatnonzero(fit > 0) if among is None else among[fit > 0]).astype(np.int64)
        if len(cand) == 0:
            return remaining
        fit_c = (fit[fit > 0]).astype(np.int64)
        order = self._rank(batch, cand)
        cand, fit_c = cand[order], fit_c[order]
        quota = self._quota
        if quota is not None:
            fit_c = cap_by_rack(self.pool.rack[cand] % self.racks, fit_c, quota, rack_used)
        take = self._layout(fit_c, remaining)
        if quota is not None:
            np.add.at(rack_used, self.pool.rack[cand] % self.racks, take)
        keep = take > 0
        cand, take = cand[keep], take[keep]
        if len(cand) == 0:
            return remaining
        self.commit(batch, cand, take)
        nodes_out.append(cand)
        counts_out.append(take)
        return remaining - int(take.sum())

    def weighted(self, batch: PodBatch, nodes: I64, scores: list[tuple[ScorePlugin, float]]) -> F64:
        """The weighted sum of ``scores`` (each clipped to 0–100) for ``nodes``."""
        total: F64 = np.zeros(len(nodes))
        for plugin, weight in scores:
            total += weight * np.clip(plugin.score(self.pool, batch, nodes), 0.0, 100.0)
        return total

    def _rank(self, batch: PodBatch, cand: I64) -> I64:
        if not self.scores:
            return np.arange(len(cand))
        total = self.weighted(batch, cand, self.scores)
        # Highest score first; ties by node index (cand is ascending) — stable sort.
        order: I64 = np.argsort(-total, kind="stable")
        return order

    def _layout(self, fit: I64, remaining: int) -> I64:
        fit = np.minimum(fit, remaining)
        if self.profile.fill != "spread":
            before = np.cumsum(fit) - fit
            taken: I64 = np.clip(remaining - before, 0, fit)
            return taken
        # Water-filling: the smallest level L with sum(min(fit, L)) >= remaining, then one
        # more replica on the best-ranked nodes that still have room at level L.
        if int(fit.sum()) <= remaining:
            return fit
        lo, hi = 0, int(fit.max())
        while lo < hi:
            mid = (lo + hi) // 2
            if int(np.minimum(fit, mid).sum()) >= remaining:
                hi = mid
            else:
                lo = mid + 1
        base = np.minimum(fit, lo - 1)
        extra_room = (fit >= lo).astype(np.int64)
        left = remaining - int(base.sum())
        extra = np.clip(left - (np.cumsum(extra_room) - extra_room), 0, extra_room)
        spread: I64 = base + extra
        return spread

    def _rack_quota(self, batch: PodBatch) -> I64 | None:
        """Replicas each rack may hold under the batch's topology plugin (None: no rule),
        told each rack's room now: the replicas its live nodes could take."""
        if self._topology is None:
            return None
        room = np.zeros(self.racks, np.int64)
        if self.pool.n and batch.anti_affinity != "rack":
            fit = np.minimum(self.fit(batch), batch.replicas)
            np.add.at(room, self.pool.live("rack") % self.racks, fit)
        return self._topology.quota(batch, room)

    def commit(
        self, batch: PodBatch, nodes: I64, counts: I64, gpu_masks: I64 | None = None
    ) -> None:
        """Take ``counts`` replicas of ``batch`` off ``nodes``: the one place a placement
        is written to the pool. GPU devices: as the GPU kernel chose them (``gpu_masks``,
        a bitmask of devices per replica in ``np.repeat(nodes, counts)`` order), else
        whole free devices or the tightest device here."""
        pool = self.pool
        pool.free_cpu[nodes] -= counts * batch.cpu_milli
        pool.free_mem[nodes] -= counts * batch.memory_mib
        pool.free_pods[nodes] -= counts * batch.pod_slots
        if not batch.needs_gpu:
            return
        if gpu_masks is None:
            for node, count in zip(nodes.tolist(), counts.tolist(), strict=True):
                self._devices_out.append(_take_gpus(pool.gpu_free[node], batch, count))
            return
        used = (gpu_masks[:, None] >> np.arange(pool.max_gpus, dtype=np.int64)) & 1 == 1
        replica, device = np.nonzero(used)
        np.subtract.at(pool.gpu_free, (np.repeat(nodes, counts)[replica], device), batch.gpu_milli)
        self._devices_out.append(_first_bit(gpu_masks))

    def _empty_fits(self, batch: PodBatch, nodes: I64) -> NDArray[np.bool_]:
        """Whether an empty node of each of ``nodes``' templates would take ``batch``."""
        templates = self.pool.templates
        verdict = {t: template_fit(t, batch, self.filters)[0] > 0 for t in set(templates)}
        return np.fromiter((verdict[templates[i]] for i in nodes.tolist()), bool, len(nodes))

    def _why(self, batch: PodBatch, fit: I64, taken: I64 | None = None) -> Unfit:
        """The binding filter on the node closest to fitting (``taken``: nodes this batch
        already uses, which anti-affinity closes to it)."""
        pool = self.pool
        if pool.n == 0:
            return Unfit("hosts", 1, 0, 0, "no node available")
        if taken is not None and batch.anti_affinity != "none":
            fit = fit.copy()
            fit[taken] = 0
        blocked = np.flatnonzero(fit == 0)
        if len(blocked) == 0:
            return self._why_some(batch, fit)
        # Nodes that would take the pod were they empty say what more such nodes fix; a
        # node of the wrong kind (another GPU model, too small) tells less.
        could = self._empty_fits(batch, blocked)
        if could.any():
            blocked = blocked[could]
        # Closest blocked node: the one with the most free CPU and memory, as shares.
        room = (pool.free_cpu[blocked] / np.maximum(pool.cap_cpu[blocked], 1)
                + pool.free_mem[blocked] / np.maximum(pool.cap_mem[blocked], 1))  # fmt: skip
        best = int(blocked[np.argmax(room)])
        for plugin in self.filters:
            if plugin.relevant(batch) and plugin.fit(pool, batch)[best] == 0:
                return replace(plugin.unfit(pool, batch, best), plugin=plugin.name)
        if batch.anti_affinity != "none":
            detail = f"one replica per {batch.anti_affinity}"
            return Unfit("anti_affinity", 1, 0, 1, detail, "PodAntiAffinity")
        name = self._topology.name if self._topology is not None else ""
        return Unfit("racks", 1, 0, self.racks, "rack spread", name)

    def _why_some(self, batch: PodBatch, fit: I64) -> Unfit:
        """Every node has room for some, not for all: name the filter with least room."""
        pool = self.pool
        totals = [
            (int(p.fit(pool, batch).sum()), i)
            for i, p in enumerate(self.filters)
            if p.relevant(batch)
        ]
        if not totals:
            return Unfit("replicas", batch.replicas, float(fit.sum()), float(fit.sum()))
        _, first = min(totals)
        plugin = self.filters[first]
        roomiest = int(np.argmax(plugin.fit(pool, batch)))
        why = plugin.unfit(pool, batch, roomiest)
        detail = f"room for {int(fit.sum())} of {batch.replicas} replicas"
        return replace(why, detail=detail, plugin=plugin.name)


def _taken(nodes_out: list[I64]) -> I64:
    return np.concatenate(nodes_out) if nodes_out else np.zeros(0, np.int64)


def _take_gpus(free: I64, batch: PodBatch, count: int) -> I64:
    """Assign GPUs on one node: fully free devices for whole GPUs; tightest device for
    shares. Returns each replica's (first) device."""
    if batch.gpu_milli >= GPU_WHOLE:
        devices = np.flatnonzero(free >= GPU_WHOLE)[: batch.gpu_count * count]
        free[devices] -= GPU_WHOLE
        first: I64 = devices[:: max(batch.gpu_count, 1)].astype(np.int64)
        return first
    out = np.zeros(count, np.int64)
    for i in range(count):
        ok = free >= batch.gpu_milli
        # Best fit inside the node: the device with least room that still fits.
        device = int(np.argmin(np.where(ok, free, np.iinfo(np.int64).max)))
        free[device] -= batch.gpu_milli
        out[i] = device
    return out


def _first_bit(masks: I64) -> I64:
    """Index of the lowest set bit of each GPU bitmask (-1 for 0)."""
    out = np.full(len(masks), -1, np.int64)
    left = masks.copy()
    for bit in range(62):
        hit = (out < 0) & ((left >> bit) & 1 == 1)
        out[hit] = bit
        if (out >= 0).all():
            break
    return out
