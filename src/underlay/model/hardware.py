"""The fleet: host models (CPUs, memory, GPUs, power curve, price), the inventory,
failure domains, and the max-pods policy of a node."""

from __future__ import annotations

import itertools
import math
from typing import Annotated

from pydantic import (
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from underlay.model.fields import (
    _NUMERIC,
    HostCpuMilli,
    MemoryMiB,
    Name,
    Real,
    Whole,
    _did_you_mean,
    _Model,
    _require_unique,
    at,
)

__all__ = [
    "GpuSpec",
    "Hardware",
    "HostModel",
    "InventoryEntry",
    "MaxPodsPolicy",
    "PowerCurve",
    "Topology",
]


class GpuSpec(_Model):
    """The GPUs of one host model: all of one model."""

    model: Name
    count: Whole = Field(ge=1, le=64)
    memory_mib: MemoryMiB | None = Field(
        default=None,
        alias="memory",
        description="memory of each GPU (default: the defaults' GPU catalog for the model)",
    )


class PowerCurve(_Model):
    """Host power draw: linear between idle and peak, or SPECpower-style points.

    ``points`` are the watts at 0 %, 10 %, ..., 100 % CPU utilisation (11 values, as
    SPECpower_ssj2008 reports them); between points the draw is linear. Without points the
    curve is the straight line from ``idle_watts`` to ``peak_watts``.
    """

    idle_watts: Real = Field(default=150, ge=0, le=20_000)
    peak_watts: Real = Field(default=450, ge=0, le=20_000)
    points: (
        Annotated[
            list[Real],
            # The validator below says what is wrong in words; the schema says it to editors.
            WithJsonSchema(
                {
                    "type": "array",
                    "items": {"type": "number", "minimum": 0, "maximum": 20_000},
                    "minItems": 11,
                    "maxItems": 11,
                }
            ),
        ]
        | None
    ) = Field(
        default=None,
        description="watts at 0, 10, ..., 100 % utilisation (11 values, SPECpower style)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> PowerCurve:
        if self.points is not None:
            if len(self.points) != 11:
                raise ValueError(
                    f"{at('points')}needs 11 values (watts at 0, 10, ..., 100 % "
                    f"utilisation), got {len(self.points)}"
                )
            for i, w in enumerate(self.points):
                if not math.isfinite(w) or not 0 <= w <= 20_000:
                    raise ValueError(
                        f"{at('points', i)}{w!r} W is not a power draw (0 to 20,000 W)"
                    )
            for i, (a, b) in enumerate(itertools.pairwise(self.points)):
                if b < a:
                    raise ValueError(
                        f"{at('points', i + 1)}watts must not fall as utilisation rises "
                        f"({a:g} W at {10 * i} % then {b:g} W at {10 * (i + 1)} %)"
                    )
        elif self.peak_watts < self.idle_watts:
            raise ValueError("peak_watts must be at least idle_watts")
        return self

    @property
    def knots(self) -> list[float]:
        """Watts at 0, 10, ..., 100 % utilisation (the line when no points are given)."""
        if self.points is not None:
            return list(self.points)
        return [self.idle_watts + (self.peak_watts - self.idle_watts) * i / 10 for i in range(11)]


class HostModel(_Model):
    """A kind of server that can be bought or is in the inventory."""

    name: Name
    cpu_milli: HostCpuMilli = Field(
        alias="cores", description="schedulable CPUs (hardware threads)"
    )
    memory_mib: MemoryMiB = Field(alias="memory")
    gpus: GpuSpec | None = None
    sockets: Whole = Field(
        default=2, ge=1, le=16, description="CPU sockets (licences count per CPU)"
    )
    threads_per_core: Whole = Field(
        default=2, ge=1, le=8, description="SMT: cores = physical cores x this"
    )
    price_usd: Real = Field(default=0.0, ge=0, le=10_000_000)
    lifetime_years: Real = Field(default=5.0, gt=0, le=30)
    power: PowerCurve = PowerCurve()

    @field_validator("cpu_milli")
    @classmethod
    def _whole_cores(cls, v: int) -> int:
        if v <= 0:
            raise ValueError("a host needs at least one core")
        return v

    @field_validator("memory_mib")
    @classmethod
    def _some_memory(cls, v: int) -> int:
        if v < 1024:
            raise ValueError("a host needs at least 1Gi of memory")
        return v

    @property
    def gpu_count(self) -> int:
        """Number of GPUs in the host (0 when none)."""
        return self.gpus.count if self.gpus else 0

    @property
    def physical_cores(self) -> int:
        """Physical cores: schedulable CPUs divided by SMT threads per core."""
        return max(1, self.cpu_milli // 1000 // self.threads_per_core)


class InventoryEntry(_Model):
    """Hosts the team already has."""

    model: Name
    count: Whole = Field(ge=1, le=100_000)


class Topology(_Model):
    """Failure domains: hosts go round-robin into racks, racks round-robin into zones."""

    racks: Annotated[int, Field(ge=1, le=10_000), _NUMERIC] | None = Field(
        default=None, description="default: hosts / hosts_per_rack"
    )
    hosts_per_rack: Whole = Field(default=40, ge=1, le=1_000)
    zones: Whole = Field(default=1, ge=1, le=64)


class Hardware(_Model):
    """Host models, failure domains and either an inventory or "size it for me"."""

    host_models: list[HostModel] = Field(min_length=1)
    inventory: list[InventoryEntry] | None = Field(
        default=None, description="hosts you have; omit to let underlay size the fleet"
    )
    size_with: Name | None = Field(
        default=None, description="host model to buy when sizing (default: the first one)"
    )
    control_plane_model: Name | None = Field(
        default=None,
        description="host model of dedicated bare-metal control-plane machines (without one, "
        "bare-metal control planes are stacked on workers unless a cluster says otherwise)",
    )
    topology: Topology = Topology()

    @model_validator(mode="after")
    def _models_exist(self) -> Hardware:
        names = [m.name for m in self.host_models]
        _require_unique("host model", names, "host_models")
        for i, entry in enumerate(self.inventory or []):
            if entry.model not in names:
                raise ValueError(
                    f"{at('inventory', i, 'model')}no host model is called {entry.model!r}"
                    f"{_did_you_mean(entry.model, names)} (known: {', '.join(names)})"
                )
        for field in ("size_with", "control_plane_model"):
            value = getattr(self, field)
            if value is not None and value not in names:
                raise ValueError(
                    f"{at(field)}no host model is called {value!r}"
                    f"{_did_you_mean(value, names)} (known: {', '.join(names)})"
                )
        return self

    def check_named_models(self, names: list[str], where: tuple[str | int, ...]) -> None:
        """Raise naming ``where[i]`` unless every host model in ``names`` exists, once (a
        hybrid part's ``hosts``)."""
        models = [m.name for m in self.host_models]
        for i, name in enumerate(names):
            if name not in models:
                raise ValueError(
                    f"{at(*where, i)}no host model is called {name!r}"
                    f"{_did_you_mean(name, models)} (known: {', '.join(models)})"
                )
            if name in names[:i]:
                raise ValueError(f"{at(*where, i)}host model {name!r} is named twice")

    def check_named_racks(self, racks: list[int], where: tuple[str | int, ...]) -> None:
        """Raise naming ``where[i]`` unless every rack in ``racks`` is one of
        ``topology.racks`` (numbered from 1), once (a hybrid part's ``racks``)."""
        count = self.topology.racks
        for i, rack in enumerate(racks):
            if count is None:
                raise ValueError(
                    f"{at(*where, i)}a part names its racks only when hardware.topology.racks "
                    "says how many there are"
                )
            if rack > count:
                raise ValueError(
                    f"{at(*where, i)}rack {rack} is not one of the {count} racks of "
                    f"hardware.topology.racks (1 to {count})"
                )
            if rack in racks[:i]:
                raise ValueError(f"{at(*where, i)}rack {rack} is named twice")

    def model_named(self, name: str) -> HostModel:
        """The host model called ``name``."""
        return next(m for m in self.host_models if m.name == name)

    @property
    def sizing_model(self) -> HostModel:
        """The host model bought when underlay sizes the fleet."""
        return self.model_named(self.size_with) if self.size_with else self.host_models[0]


class MaxPodsPolicy(_Model):
    """How many pods a node may run: kubelet maxPods, a per-core cap and the pod CIDR."""

    per_node: Whole = Field(default=110, ge=1, le=2_000)
    per_core: Annotated[int, Field(ge=1, le=100), _NUMERIC] | None = None
    pod_cidr_prefix: Whole = Field(
        default=24, ge=16, le=28, description="per-node pod CIDR; maxPods stays under half of it"
    )

    @model_validator(mode="after")
    def _cidr_holds_pods(self) -> MaxPodsPolicy:
        # An explicit per_node the CIDR cannot hold is a mistake; the default 110 is
        # simply capped by a small CIDR.
        cidr_half = 2 ** (32 - self.pod_cidr_prefix) // 2
        if "per_node" in self.model_fields_set and self.per_node > cidr_half:
            need = 32 - max(1, (2 * self.per_node - 1).bit_length())
            raise ValueError(
                f"{at('per_node')}{self.per_node} pods do not fit a /{self.pod_cidr_prefix} pod CIDR "
                f"({2 * cidr_half} addresses; max pods stays under half of them): set "
                f"pod_cidr_prefix: {need} or lower"
            )
        return self

    def limit(self, cpu_milli: int) -> int:
        """Max pods on a node with ``cpu_milli`` CPUs under this policy."""
        cidr_half: int = 2 ** (32 - self.pod_cidr_prefix) // 2
        limit: int = min(self.per_node, cidr_half)
        if self.per_core is not None:
            limit = min(limit, self.per_core * max(1, cpu_milli // 1000))
        return limit
