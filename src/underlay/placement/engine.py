"""The placer: puts batches of identical pods on a pool's nodes, opening nodes as needed.

For each batch it (1) asks every filter plugin how many replicas each node can take,
(2) ranks the candidate nodes by the profile's weighted score plugins (ties: lower node
index first, so results never depend on dict order), (3) lays the replicas out — packed
or spread — honouring anti-affinity and rack spread, (4) opens new nodes from its
:class:`NodeSource` while replicas are left — a node about to be opened is judged by the
same filters, as an empty node of its template (:func:`template_fit`), so a pod every
filter refuses opens nothing — and (5) reports what is left, with the reason as data:
the plugin that refused and whether more nodes would help. GPU pods under a profile with
a per-pod GPU strategy (``gpu-fragmentation``) go one at a time through the GPU kernel,
among the nodes the filters accept. ``can_place`` answers without changing anything;
``place`` commits, always through ``_commit``.

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

from underlay.placement.framework import (
    UNLIMITED,
    FilterPlugin,
    PodBatch,
    Profile,
    Registry,
    ScorePlugin,
    Unfit,
)
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
    ("GpuFit", "gpu_model"): "no host with an allowed GPU model",
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
    default registry's when None), shown as a pool of one empty node. A refusal here is
    unresolvable: more nodes of this template would refuse too.
    """
    if filters is None:
        from underlay.placement.plugins import default_registry

        filters = default_registry().filters()
    pool = _empty_pool(template)
    fit, refused = int(UNLIMITED), None
    for plugin in filters:
        if not plugin.relevant(batch):
            continue
        limit = int(plugin.fit(pool, batch)[0])
        if limit <= 0 and refused is None:
            refused = plugin
        fit = min(fit, limit)
    if refused is None:
        return fit, None
    why = refused.unfit(pool, batch, 0)
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
        self._filters = registry.filters()
        self._quota: I64 | None = None
        self._devices_out: list[I64] = []
        self._typical: list[PodBatch] = []
        self._typical_cache: dict[tuple[str, ...], Any] = {}
        self.gpu_model_names: tuple[str, ...] = ()
        self._scores = [
            (registry.score(name), w) for name, w in sorted(profile.weights.items()) if w
        ]

    def expect(self, batches: list[PodBatch], gpu_model_names: tuple[str, ...]) -> None:
        """Tell the placer the whole target workload, for fragmentation-aware GPU scoring."""
        self._typical = list(batches)
        self._typical_cache.clear()
        self.gpu_model_names = gpu_model_names

    # ---------------------------------------------------------------- check
    def fit(self, batch: PodBatch, nodes: I64 | None = None) -> I64:
        """Replicas of ``batch`` each live node (or each of ``nodes``) can take now."""
        fit = self._limit(batch, self._filters)
        if batch.anti_affinity != "none":
            fit = np.minimum(fit, 1)
        return fit if nodes is None else fit[nodes]

    def _limit(self, batch: PodBatch, filters: Sequence[FilterPlugin]) -> I64:
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
    def place(self, batch: PodBatch) -> BatchResult:
        """Place as many replicas as fit, opening nodes from the source; commit them."""
        remaining = batch.replicas
        nodes_out: list[I64] = []
        counts_out: list[I64] = []
        self._devices_out = []
        rack_used = np.zeros(self.racks, np.int64)
        self._quota = self._rack_quota(batch)
        per_pod = bool(self.profile.gpu_per_pod and batch.needs_gpu and batch.anti_affinity == "none"
                       and not batch.spread_racks)  # fmt: skip
        if self.pool.n:
            if per_pod:
                remaining = self._fill_gpu_per_pod(batch, remaining, nodes_out, counts_out)
            else:
                remaining = self._fill(batch, None, remaining, rack_used, nodes_out, counts_out)
        reason: Unfit | None = None
        while remaining > 0:
            template = self.source.template_for(batch)
            if template is None:
                grows = self.source.can_grow(batch)
                reason = Unfit("hosts", 1, 0, 0, self.source.exhausted(batch), resolvable=grows)
                if self.pool.n:
                    why = self._why(batch, self.fit(batch), _taken(nodes_out))
                    detail = f"{self.source.exhausted(batch)}; {why.detail}".rstrip("; ")
                    reason = replace(why, detail=detail, resolvable=grows)
                break
            per_node, too_big = template_fit(template, batch, self._filters)
            if per_node == 0:
                reason = too_big
                break
            if batch.anti_affinity != "none":
                per_node = 1
            want = -(-remaining // min(per_node, remaining))
            racks: I64 | None = None
            quota = self._quota
            if quota is not None:
                # Open nodes only in racks that still have room under the rule.
                need = np.maximum(quota - rack_used, 0)
                per_rack = -(-need // per_node)
                racks = np.repeat(np.arange(self.racks, dtype=np.int64), per_rack)
                want = len(racks)
            count = min(want, self.source.available(template))
            if count <= 0 and quota is not None and want == 0:
                reason = Unfit("racks", batch.replicas, int((quota > 0).sum()), self.racks,
                               f"{'one replica per rack' if batch.anti_affinity == 'rack' else 'rack spread'} needs more racks")  # fmt: skip
                break
            if count <= 0:
                reason = self._why(batch, self.fit(batch), _taken(nodes_out))
                reason = replace(reason, detail="no host left in the inventory"
                                 + (f"; {reason.detail}" if reason.detail else ""))  # fmt: skip
                break
            new = self.source.open(
                self.pool, template, count, None if racks is None else racks[:count]
            )
            before = remaining
            if per_pod:
                remaining = self._fill_gpu_per_pod(batch, remaining, nodes_out, counts_out)
            else:
                remaining = self._fill(batch, new, remaining, rack_used, nodes_out, counts_out)
            if remaining == before:
                reason = Unfit(
                    "racks", 1, 0, self.racks, f"{batch.anti_affinity or 'spread'} needs more racks"
                )
                break
        nodes = np.concatenate(nodes_out) if nodes_out else np.zeros(0, np.int64)
        counts = np.concatenate(counts_out) if counts_out else np.zeros(0, np.int64)
        devices = _taken(self._devices_out) if batch.needs_gpu else np.zeros(0, np.int64)
        return BatchResult(
            batch.key, nodes, counts, remaining, reason if remaining else None, devices
        )

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
        take = self._layout(self._rack_caps(batch, cand, fit_c, rack_used), remaining)
        if batch.anti_affinity == "rack" or batch.spread_racks:
            np.add.at(rack_used, self.pool.rack[cand] % self.racks, take)
        keep = take > 0
        cand, take = cand[keep], take[keep]
        if len(cand) == 0:
            return remaining
        self._commit(batch, cand, take)
        nodes_out.append(cand)
        counts_out.append(take)
        return remaining - int(take.sum())

    def _fill_gpu_per_pod(
        self, batch: PodBatch, remaining: int, nodes_out: list[I64], counts_out: list[I64]
    ) -> int:
        """Place GPU pods one by one with the GPU kernel (fragmentation gradient descent).

        Pods are identical, but each changes the fragmentation landscape, so they go one
        at a time. The registered filters decide: only nodes every filter accepts are
        shown to the kernel, and each call hands it at most as many pods as the filters
        allow on any one of those nodes — except the filters marked
        ``gpu_kernel_checks``, whose rule (CPU, memory, GPUs, GPU model) the kernel
        itself checks pod by pod. So no filter's limit can be overrun.
        """
        from underlay.placement.gpu_packing import GpuNodes, TypicalPods, pack

        pool, n = self.pool, self.pool.n
        known = self.gpu_model_names
        # Model codes the kernel must know: every node's, and every code a pod may ask for
        # (a GPU model no node has opened yet is still a column of the pods' filter).
        asked = [c for b in (batch, *self._typical) if b.gpu_models for c in b.gpu_models]
        highest = max(int(pool.gpu_model[:n].max(initial=-1)), max(asked, default=-1))
        names = ("", *known, *tuple(f"gpu-{i}" for i in range(len(known), highest + 1)))
        per_call = [p for p in self._filters if not getattr(p, "gpu_kernel_checks", False)]
        # Score plugins the kernel's own ranking does not stand for add to it, pod by pod.
        extra = [(p, w) for p, w in self._scores if not getattr(p, "gpu_kernel_scores", False)]
        while remaining > 0:
            usable = self.fit(batch) > 0
            if not usable.any():
                break
            chunk = min(remaining, int(self._limit(batch, per_call)[usable].min()))
            bias = None
            if extra:
                chunk = 1  # the scores change with every pod placed
                bias = -self._weighted(batch, np.arange(n, dtype=np.int64), extra)
            # A node some filter refuses shows no free GPU (every pod here needs one; a pod
            # may request no CPU or memory, so hiding those would not keep it off).
            gpu_free = np.where(usable[:, None], pool.gpu_free[:n], 0)
            nodes = GpuNodes(
                cpu_free_milli=np.where(usable, pool.free_cpu[:n], 0),
                memory_free_mib=pool.free_mem[:n],
                gpu_free_milli=gpu_free.astype(np.int32),
                gpu_model=np.maximum(pool.gpu_model[:n] + 1, 0),
                model_names=names,
                cpu_capacity_milli=pool.cap_cpu[:n],
                memory_capacity_mib=pool.cap_mem[:n],
                gpu_count=(pool.gpu_cap[:n] > 0).sum(axis=1),
            )
            pods = _gpu_pods([batch], names, chunk)
            if self._typical:
                if names not in self._typical_cache:
                    self._typical_cache[names] = TypicalPods.from_pods(
                        _gpu_pods(self._typical, names, None)
                    )
                typical = self._typical_cache[names]
            else:
                typical = TypicalPods.from_pods(_gpu_pods([batch], names, None))
            result = pack(nodes, pods, self.profile.gpu_per_pod or "fgd", typical, bias)
            where = result.node_of_pod[result.node_of_pod >= 0]
            if len(where) == 0:
                break
            node_ids, counts = np.unique(where, return_counts=True)
            node_ids, counts = node_ids.astype(np.int64), counts.astype(np.int64)
            # each pod's devices, in node order (as the replicas are counted)
            placed = np.flatnonzero(result.node_of_pod >= 0)
            by_node = placed[np.argsort(result.node_of_pod[placed], kind="stable")]
            self._commit(batch, node_ids, counts, result.gpu_mask[by_node])
            nodes_out.append(node_ids)
            counts_out.append(counts)
            remaining -= len(where)
            if len(where) < chunk:
                break
        return remaining

    def _weighted(
        self, batch: PodBatch, nodes: I64, scores: list[tuple[ScorePlugin, float]]
    ) -> F64:
        """The weighted sum of ``scores`` (each clipped to 0–100) for ``nodes``."""
        total: F64 = np.zeros(len(nodes))
        for plugin, weight in scores:
            total += weight * np.clip(plugin.score(self.pool, batch, nodes), 0.0, 100.0)
        return total

    def _rank(self, batch: PodBatch, cand: I64) -> I64:
        if not self._scores:
            return np.arange(len(cand))
        total = self._weighted(batch, cand, self._scores)
        # Highest score first; ties by node index (cand is ascending) — stable sort.
        order: I64 = np.argsort(-total, kind="stable")
        return order

    def _layout(self, fit: I64, remaining: int) -> I64:
        fit = np.minimum(fit, remaining)
        if self.profile.fill == "pack":
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
        """Replicas each rack may hold: one per rack for rack anti-affinity; for rack spread
        (max skew 1) ``n // racks`` each, plus one in the ``n % racks`` racks with the most
        room now (ties: lower rack)."""
        if batch.anti_affinity == "rack":
            return np.ones(self.racks, np.int64)
        if not batch.spread_racks:
            return None
        base, extra = divmod(batch.replicas, self.racks)
        quota = np.full(self.racks, base, np.int64)
        room = np.zeros(self.racks, np.int64)
        if self.pool.n:
            np.add.at(
                room,
                self.pool.live("rack") % self.racks,
                np.minimum(self.fit(batch), batch.replicas),
            )
        order = np.lexsort((np.arange(self.racks), -room))
        quota[order[:extra]] += 1
        return quota

    def _rack_caps(self, batch: PodBatch, cand: I64, take: I64, rack_used: I64) -> I64:
        """Lower each node's ``take`` so no rack exceeds its quota, in rank order."""
        quota = self._quota
        if quota is None:
            return take
        racks = self.pool.rack[cand] % self.racks
        out = np.zeros_like(take)
        # Sequential within a rack, in rank order: a grouped cumulative sum.
        order = np.lexsort((np.arange(len(cand)), racks))
        r_sorted, t_sorted = racks[order], take[order]
        csum = np.cumsum(t_sorted)
        starts = np.r_[0, np.flatnonzero(np.diff(r_sorted)) + 1]
        group_start = np.repeat(
            csum[starts] - t_sorted[starts], np.diff(np.r_[starts, len(r_sorted)])
        )
        before = csum - t_sorted - group_start + rack_used[r_sorted]
        out[order] = np.clip(quota[r_sorted] - before, 0, t_sorted)
        return out

    def _commit(
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
        verdict = {t: template_fit(t, batch, self._filters)[0] > 0 for t in set(templates)}
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
            # Every node has room for some, not for all: name the filter with least room.
            totals = [
                (int(p.fit(pool, batch).sum()), i)
                for i, p in enumerate(self._filters)
                if p.relevant(batch)
            ]
            if not totals:
                return Unfit("replicas", batch.replicas, float(fit.sum()), float(fit.sum()))
            _, first = min(totals)
            plugin = self._filters[first]
            roomiest = int(np.argmax(plugin.fit(pool, batch)))
            why = plugin.unfit(pool, batch, roomiest)
            return Unfit(why.resource, why.requested, why.free, why.capacity,
                         f"room for {int(fit.sum())} of {batch.replicas} replicas", plugin.name)  # fmt: skip
        # Nodes that would take the pod were they empty say what more such nodes fix; a
        # node of the wrong kind (another GPU model, too small) tells less.
        could = self._empty_fits(batch, blocked)
        if could.any():
            blocked = blocked[could]
        # Closest blocked node: the one with the most free CPU and memory, as shares.
        room = (pool.free_cpu[blocked] / np.maximum(pool.cap_cpu[blocked], 1)
                + pool.free_mem[blocked] / np.maximum(pool.cap_mem[blocked], 1))  # fmt: skip
        best = int(blocked[np.argmax(room)])
        for plugin in self._filters:
            if plugin.relevant(batch) and plugin.fit(pool, batch)[best] == 0:
                return replace(plugin.unfit(pool, batch, best), plugin=plugin.name)
        if batch.anti_affinity != "none":
            return Unfit("anti_affinity", 1, 0, 1, f"one replica per {batch.anti_affinity}")
        return Unfit("racks", 1, 0, self.racks, "rack spread")


def _gpu_pods(batches: list[PodBatch], names: tuple[str, ...], count: int | None) -> Any:
    """The replicas of ``batches`` as the GPU kernel's pod arrays (``count`` of the first)."""
    from underlay.placement.gpu_packing import GpuPods

    reps = np.array(
        [count if count is not None else b.replicas for b in batches[: 1 if count else None]]
    )
    chosen = batches[: len(reps)]
    allowed = np.ones((len(chosen), len(names)), bool)
    for i, b in enumerate(chosen):
        if b.gpu_models is not None:
            allowed[i] = False
            allowed[i, [c + 1 for c in b.gpu_models]] = True
    gpu = np.array([b.gpu_count if b.needs_gpu else 0 for b in chosen])
    return GpuPods(
        np.repeat([b.cpu_milli for b in chosen], reps),
        np.repeat([b.memory_mib for b in chosen], reps),
        np.repeat(gpu, reps),
        np.repeat([b.gpu_milli if b.needs_gpu else 0 for b in chosen], reps),
        np.repeat(allowed, reps, axis=0),
    )


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
