"""Hosts: which host model to open next, from an inventory or bought ("size it for me").

:class:`HostSupply` is shared by all pools of one substrate run, so tenants compete for a
given inventory; hosts go round-robin into racks and racks round-robin into zones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from underlay.model.scenario import Hardware, HostModel
from underlay.placement.framework import PodBatch
from underlay.placement.pool import NodePool, NodeTemplate

__all__ = ["ROLE_NAMES", "HostNodes", "HostSupply", "HostTable", "VmNodes"]

I64 = NDArray[np.int64]
ROLE_NAMES = ("worker", "control-plane", "hosted-control-plane", "management")
_SIZING_CAP = 1_000_000  # hosts underlay may buy before it calls a scenario absurd


@dataclass
class HostTable:
    """Every host a substrate run opened."""

    model: list[int] = field(default_factory=list)
    rack: list[int] = field(default_factory=list)
    role: list[int] = field(default_factory=list)
    owner: list[int] = field(default_factory=list)  # cluster index, -1 = shared

    def __len__(self) -> int:
        return len(self.model)


class HostSupply:
    """Hands out hosts of the right model, tracking the inventory and rack assignment."""

    def __init__(self, hardware: Hardware, gpu_models: list[str], racks: int) -> None:
        self.hardware = hardware
        self.models: list[HostModel] = list(hardware.host_models)
        self.gpu_code = [gpu_models.index(m.gpus.model) if m.gpus else -1 for m in self.models]
        self.sizing = hardware.inventory is None
        counts = {e.model: 0 for e in hardware.inventory or []}
        for e in hardware.inventory or []:
            counts[e.model] += e.count
        self.remaining = [
            _SIZING_CAP if self.sizing else counts.get(m.name, 0) for m in self.models
        ]
        self.initial = list(self.remaining)
        self.racks = max(1, racks)
        self.hosts = HostTable()
        sizing = hardware.sizing_model
        self._preferred = self.models.index(sizing)

    def choose(self, batch: PodBatch | None) -> int | None:
        """Index of the host model to open next for ``batch`` (None = nothing suitable left).

        GPU pods take a host with an allowed GPU model; other pods prefer hosts without GPUs,
        so GPUs are not spent on CPU work, and fall back to GPU hosts in an inventory.
        """
        order = [self._preferred] + [i for i in range(len(self.models)) if i != self._preferred]
        usable = [i for i in order if self.remaining[i] > 0]
        if batch is not None and batch.needs_gpu:
            for i in usable:
                code = self.gpu_code[i]
                if code >= 0 and (batch.gpu_models is None or code in batch.gpu_models):
                    return i
            return None
        plain = [i for i in usable if self.gpu_code[i] < 0]
        if plain:
            return plain[0]
        return usable[0] if usable else None

    @property
    def buys_gpu_hosts_for_gpu_pods_only(self) -> bool:
        """Sizing with a GPU-less model on offer: GPU hosts are bought only for GPU pods."""
        return self.sizing and any(code < 0 for code in self.gpu_code)

    def take(
        self, model: int, count: int, role: int, owner: int, racks: I64 | None = None
    ) -> tuple[I64, I64]:
        """Open ``count`` hosts of ``model`` (in ``racks`` if given, else round-robin);
        returns (host ids, racks)."""
        count = min(count, self.remaining[model])
        self.remaining[model] -= count
        start = len(self.hosts)
        ids = np.arange(start, start + count, dtype=np.int64)
        racks = (
            ids % self.racks if racks is None else np.asarray(racks[:count], np.int64) % self.racks
        )
        self.hosts.model.extend([model] * count)
        self.hosts.rack.extend(racks.tolist())
        self.hosts.role.extend([role] * count)
        self.hosts.owner.extend([owner] * count)
        return ids, racks


class HostNodes:
    """Node source where each new node is a whole host (bare metal, or hosts for VMs)."""

    def __init__(
        self, supply: HostSupply, templates: list[NodeTemplate], role: int, owner: int
    ) -> None:
        self.supply = supply
        self.templates = templates  # one per host model
        self.role = role
        self.owner = owner

    def template_for(self, batch: PodBatch) -> NodeTemplate | None:
        model = self.supply.choose(batch)
        return None if model is None else self.templates[model]

    def available(self, template: NodeTemplate) -> int:
        return self.supply.remaining[template.host_model]

    def open(
        self, pool: NodePool, template: NodeTemplate, count: int, racks: I64 | None = None
    ) -> I64:
        hosts, got = self.supply.take(template.host_model, count, self.role, self.owner, racks)
        return pool.open(template, hosts, got)

    def exhausted(self, batch: PodBatch) -> str:
        if batch.needs_gpu and not any(code >= 0 for code in self.supply.gpu_code):
            return "no host model has GPUs"
        if self.supply.sizing:
            return "no host model has an allowed GPU"
        return "inventory exhausted: no suitable host left"

    def can_grow(self, batch: PodBatch) -> bool:
        if not batch.needs_gpu:
            return True
        allowed = batch.gpu_models
        return any(c >= 0 and (allowed is None or c in allowed) for c in self.supply.gpu_code)


class VmNodes:
    """Node source of new VMs of one shape (unlimited here; hosts are checked at level 2)."""

    def __init__(self, template: NodeTemplate) -> None:
        self.template = template

    def template_for(self, batch: PodBatch) -> NodeTemplate | None:
        return self.template

    def available(self, template: NodeTemplate) -> int:
        return _SIZING_CAP

    def open(
        self, pool: NodePool, template: NodeTemplate, count: int, racks: I64 | None = None
    ) -> I64:
        none = np.full(count, -1, np.int64)
        return pool.open(template, none, np.zeros(count, np.int64))

    def exhausted(self, batch: PodBatch) -> str:
        return "no more VMs can be made"

    def can_grow(self, batch: PodBatch) -> bool:
        return True
