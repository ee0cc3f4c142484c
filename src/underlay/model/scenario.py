"""The scenario: fleet, substrates to compare, tenants, clusters and workloads.

Parsed once at the edge (:mod:`underlay.model.loading`) into these frozen models; the
rest of underlay never sees raw dicts.  Quantities are written as Kubernetes quantities
in the file (``cpu: 500m``, ``memory: 4Gi``) and stored in integer units
(``cpu_milli``, ``memory_mib``).
"""

from __future__ import annotations

import difflib
import itertools
import math
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    PrivateAttr,
    StrictBool,
    Tag,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from underlay.model.quantities import (
    POSITIVE_QUANTITY_PATTERN,
    UNSIGNED_QUANTITY_PATTERN,
    cpu_to_milli,
    is_negative,
    memory_to_mib,
)

__all__ = [
    "CONTROL_PLANE_HELP",
    "FACTORS",
    "MAX_SEED",
    "SUBSTRATE_KINDS",
    "BaremetalDedicated",
    "BaremetalShared",
    "Cluster",
    "Constraints",
    "ControlPlaneMode",
    "CostSettings",
    "DisruptionBudget",
    "FailureSettings",
    "GpuRequest",
    "Hardware",
    "HostModel",
    "InventoryEntry",
    "IsolationPolicy",
    "IsolationRule",
    "KubernetesSettings",
    "LifecycleSettings",
    "MaxPodsPolicy",
    "PlacementSettings",
    "PowerCurve",
    "Resources",
    "Sandboxed",
    "Scenario",
    "SimulationSettings",
    "Sla",
    "Spread",
    "Substrate",
    "SystemPod",
    "Tenant",
    "Usage",
    "Vm",
    "VmShape",
    "Weights",
    "Workload",
    "cluster_name_for",
    "scenario_json_schema",
]

# Sanity bounds: anything beyond is a typo, not a real machine or pod.
MAX_CPU_MILLI = 4096 * 1000  # 4,096 cores
MAX_MEMORY_MIB = 64 * 1024 * 1024  # 64 TiB
MAX_SEED = 2**63 - 1  # a seed fits a signed 64-bit integer wherever it is written


def _number(value: Any) -> Any:
    # pydantic's lax mode reads `true` as 1 and the text "3" as 3; in a scenario file both
    # are mistakes (YAML already gives numbers as numbers), so only numbers pass.
    if isinstance(value, bool | str):
        raise ValueError(f"expected a number, got {value!r}")
    return value


_NUMERIC = BeforeValidator(_number)
"""Refuses ``true`` and text where a number belongs; put after any bounds in ``Annotated``
(``Annotated[int, Field(ge=1), _NUMERIC] | None``) so the JSON Schema keeps the bounds."""
Whole = Annotated[int, _NUMERIC]
"""A whole number as written in the file (``2`` or ``2.0``; not ``"2"``, not ``true``)."""
Real = Annotated[float, _NUMERIC]
"""A finite real number as written in the file (not ``"2"``, ``true`` or ``.nan``)."""


def _cpu(value: Any) -> int:
    milli = cpu_to_milli(value)
    if is_negative(value):
        raise ValueError("must not be negative")
    if milli > MAX_CPU_MILLI:
        raise ValueError(
            f"{value!r} is more than {MAX_CPU_MILLI // 1000} cores; is the unit right?"
        )
    return milli


def _memory(value: Any) -> int:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(
            f"{value!r} has no unit; write memory as a quantity such as '512Mi' or '4Gi'"
        )
    mib = memory_to_mib(value)
    if is_negative(value):
        raise ValueError("must not be negative")
    if mib > MAX_MEMORY_MIB:
        raise ValueError(f"{value!r} is more than 64Ti; is the unit right?")
    return mib


def _cpu_schema(*, positive: bool = False) -> dict[str, Any]:
    """A CPU quantity as the loader takes it: text in the quantity grammar, or a number."""
    most = MAX_CPU_MILLI // 1000
    text = POSITIVE_QUANTITY_PATTERN if positive else UNSIGNED_QUANTITY_PATTERN
    least = {"exclusiveMinimum": 0} if positive else {"minimum": 0}
    return {
        "anyOf": [
            {"type": "string", "pattern": text},
            {"type": "number", **least, "maximum": most},
        ],
        "description": f"CPU quantity, e.g. 500m or 2 (at most {most:,} cores)",
    }


_MEMORY_SCHEMA = {
    "type": "string",
    "pattern": UNSIGNED_QUANTITY_PATTERN,
    "description": "memory quantity, e.g. 512Mi or 4Gi (at most 64Ti)",
}
CpuMilli = Annotated[
    int,
    BeforeValidator(_cpu),
    PlainSerializer(lambda v: f"{v}m", return_type=str),
    WithJsonSchema(_cpu_schema()),
]
HostCpuMilli = Annotated[
    int,
    BeforeValidator(_cpu),
    PlainSerializer(lambda v: f"{v}m", return_type=str),
    WithJsonSchema(_cpu_schema(positive=True)),
]
MemoryMiB = Annotated[
    int,
    BeforeValidator(_memory),
    PlainSerializer(lambda v: f"{v}Mi", return_type=str),
    WithJsonSchema(_MEMORY_SCHEMA),
]
Name = Annotated[
    str, Field(min_length=1, max_length=63, pattern=r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
]
KubeVersion = Annotated[
    str, Field(pattern=r"^1\.[0-9]{1,2}$", description="minor version, e.g. '1.31'")
]

SupportChannel = Literal["upstream", "eks", "eks-extended", "aks", "gke"]
WorkloadClass = Literal[
    "cpu", "memory", "storage-io", "network-latency", "gpu-training", "gpu-inference", "batch"
]
IsolationClass = Name  # a class of the scenario's isolation policy (see IsolationPolicy)
SubstrateKind = Literal["baremetal-dedicated", "baremetal-shared", "vm", "sandboxed"]
SUBSTRATE_KINDS: tuple[SubstrateKind, ...] = (
    "baremetal-dedicated",
    "baremetal-shared",
    "vm",
    "sandboxed",
)


class _Model(BaseModel):
    # allow_inf_nan=False: `.nan` and `.inf` are refused by every float field ("Input
    # should be a finite number"), before any range check could be fooled by them.
    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, allow_inf_nan=False
    )


# --------------------------------------------------------------------------- hardware


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


# -------------------------------------------------------------------------- substrates


class VmShape(_Model):
    """A VM size: vCPUs, memory and whole GPUs or one vGPU slice."""

    name: Name
    vcpus: Whole = Field(ge=1, le=1024)
    memory_mib: MemoryMiB = Field(alias="memory")
    gpus: Real = Field(
        default=0,
        ge=0,
        le=64,
        description="whole GPUs (passthrough) or a fraction < 1 (one vGPU profile)",
        json_schema_extra={"anyOf": [{"exclusiveMaximum": 1}, {"multipleOf": 1}]},
    )

    @field_validator("gpus")
    @classmethod
    def _whole_or_slice(cls, v: float) -> float:
        if v >= 1 and v != int(v):
            raise ValueError("a VM gets whole GPUs or one vGPU slice (< 1), not a mix")
        return v


def _shapes_branch(value: Any) -> str:
    return "list[VmShape]" if isinstance(value, list) else "literal['auto', 'menu']"


# A list is judged as a list of shapes only (not also as "auto"/"menu"), so a bad shape
# gets one error at the shape's field. The tags are the names pydantic gives the branches,
# which the loader leaves out of the field path.
VmShapes = Annotated[
    Annotated[Literal["auto", "menu"], Tag("literal['auto', 'menu']")]
    | Annotated[list[VmShape], Tag("list[VmShape]")],
    Discriminator(_shapes_branch),
]

ControlPlaneMode = Literal["auto", "dedicated", "stacked", "management", "hosted"]
CONTROL_PLANE_HELP = (
    "how the cluster's control plane runs: dedicated (3 machines of its own: on bare metal "
    "hosts of hardware.control_plane_model, on a vm substrate 3 VMs, each sized to the "
    "cluster), stacked (on 3 of the cluster's workers, their size reserved there), management "
    "(3 VMs on a small management cluster of hypervisor hosts), hosted (shared control-plane "
    "nodes for many clusters); auto (default): 3 VMs on a vm substrate; on bare metal "
    "dedicated machines when hardware.control_plane_model names them, else stacked"
)


_CACHE_PARTITIONED = (
    "hosts partition last-level cache and memory bandwidth between tenants (Intel RDT cache "
    "and memory-bandwidth allocation, as Heracles did): tenants then escape each other's "
    "interference"
)


class BaremetalDedicated(_Model):
    """Each host is one node of exactly one tenant cluster."""

    kind: Literal["baremetal-dedicated"]
    name: Name | None = Field(default=None, description="label, to compare two of one kind")
    gpu_sharing: Literal["time-slicing", "mig"] = Field(
        default="time-slicing",
        description="how a GPU is shared by fractional pods (vm: by vGPU VMs): time-slicing "
        "(work-conserving, no isolation) or MIG (fixed, isolated hardware slices)",
    )


class BaremetalShared(_Model):
    """One multi-tenant cluster on bare metal; tenants are namespaces."""

    kind: Literal["baremetal-shared"]
    name: Name | None = Field(default=None, description="label, to compare two of one kind")
    gpu_sharing: Literal["time-slicing", "mig"] = Field(
        default="time-slicing",
        description="how a GPU is shared by fractional pods (vm: by vGPU VMs): time-slicing "
        "(work-conserving, no isolation) or MIG (fixed, isolated hardware slices)",
    )
    max_pods: MaxPodsPolicy = Field(
        default_factory=lambda: MaxPodsPolicy(), description="max-pods policy of the shared cluster"
    )
    kubernetes_version: KubeVersion | None = Field(
        default=None, description="the one version of the shared cluster (default: most wanted)"
    )
    control_plane: ControlPlaneMode = Field(
        default="auto", description="the shared cluster's control plane; " + CONTROL_PLANE_HELP
    )
    upgrade_cadence_months: Annotated[int, Field(ge=1, le=60), _NUMERIC] | None = Field(
        default=None, description="default: the shortest cadence of its tenants"
    )
    cache_partitioned: StrictBool = Field(default=False, description=_CACHE_PARTITIONED)


class Vm(_Model):
    """Tenant clusters run on VMs on a hypervisor; each VM is one node."""

    kind: Literal["vm"]
    name: Name | None = Field(default=None, description="label, e.g. vm-passthrough / vm-vgpu")
    hypervisor: Name = "kvm"
    shapes: VmShapes = Field(
        default="auto",
        description="VM sizes: auto (fractions of a host, or cut to the pods), menu (the "
        "defaults' instance-type menu), or a list of your own",
    )
    sizing: Literal["requests", "limits", "peak"] = Field(
        default="peak",
        description="how much room each pod takes in its VM: its requests; its limits (room "
        "to burst to them); or peak (default): the p95 of its replayed usage, at least its "
        "requests, so a tenant's VMs hold its own peaks",
    )
    cpu_overcommit: Real = Field(default=1.0, ge=1.0, le=32.0)
    memory_overcommit: Real = Field(default=1.0, ge=1.0, le=4.0)
    licence_per_core_year_usd: Annotated[float, Field(ge=0, le=1_000_000), _NUMERIC] | None = Field(
        default=None, description="default: the hypervisor profile's list price"
    )
    gpu_mode: Literal["passthrough", "vgpu"] = Field(
        default="passthrough",
        description="how fractional GPU pods get GPUs: passthrough (whole GPUs to a VM, shared "
        "by its pods) or vgpu (a vGPU slice per VM); whole-GPU pods always get passthrough",
    )
    gpu_sharing: Literal["time-slicing", "mig"] = Field(
        default="time-slicing",
        description="how a GPU is shared by fractional pods (vm: by vGPU VMs): time-slicing "
        "(work-conserving, no isolation) or MIG (fixed, isolated hardware slices)",
    )
    cache_partitioned: StrictBool = Field(default=False, description=_CACHE_PARTITIONED)


class Sandboxed(_Model):
    """Pods in per-pod micro-VMs (Kata, gVisor) on one shared bare-metal cluster."""

    kind: Literal["sandboxed"]
    name: Name | None = Field(default=None, description="label, e.g. kata / gvisor")
    max_pods: MaxPodsPolicy = Field(
        default_factory=lambda: MaxPodsPolicy(), description="max-pods policy of the shared cluster"
    )
    runtime: Name = "kata"
    kubernetes_version: KubeVersion | None = None
    control_plane: ControlPlaneMode = Field(
        default="auto", description="the shared cluster's control plane; " + CONTROL_PLANE_HELP
    )
    upgrade_cadence_months: Annotated[int, Field(ge=1, le=60), _NUMERIC] | None = Field(
        default=None, description="default: the shortest cadence of its tenants"
    )
    cache_partitioned: StrictBool = Field(default=False, description=_CACHE_PARTITIONED)


Substrate = Annotated[
    BaremetalDedicated | BaremetalShared | Vm | Sandboxed, Field(discriminator="kind")
]


# ----------------------------------------------------------------- tenants / workloads


class Resources(_Model):
    """CPU and memory, as Kubernetes quantities."""

    cpu_milli: CpuMilli = Field(default=0, alias="cpu")
    memory_mib: MemoryMiB = Field(default=0, alias="memory")


class GpuRequest(_Model):
    """GPUs per pod: ``count`` whole GPUs, or one GPU at ``fraction`` of it."""

    model_config = ConfigDict(
        json_schema_extra={
            # A share of a GPU is a share of one GPU (as _fraction_single says).
            "if": {"required": ["fraction"], "properties": {"fraction": {"exclusiveMaximum": 1}}},
            "then": {"properties": {"count": {"maximum": 1}}},
        }
    )

    count: Whole = Field(default=1, ge=0, le=16)
    fraction: Real = Field(default=1.0, gt=0, le=1.0, description="share of each GPU, 1 = whole")
    memory_mib: MemoryMiB | None = Field(
        default=None,
        alias="memory",
        description="GPU memory the pod needs on each GPU; a share of a GPU is at least this "
        "much of its memory (e.g. 12Gi is half an L4, 0.15 of an A100-80GB)",
    )
    models: list[Name] = Field(default_factory=list, description="allowed GPU models, empty = any")

    @model_validator(mode="after")
    def _fraction_single(self) -> GpuRequest:
        if self.fraction < 1 and self.count > 1:
            raise ValueError("a fractional GPU request takes one GPU (count: 1)")
        return self

    @property
    def gpu_milli(self) -> int:
        """Milli-GPUs per requested GPU (1000 = whole)."""
        return round(self.fraction * 1000)


class Spread(_Model):
    """Anti-affinity and spread of a workload's replicas."""

    anti_affinity: Literal["none", "host", "rack"] = Field(
        default="none", description="at most one replica per host / per rack"
    )
    spread_racks: StrictBool = Field(
        default=False, description="topology spread across racks, max skew 1"
    )


class Usage(_Model):
    """How a workload's pods use CPU and memory over time (the simulation replays it).

    ``constant`` and ``diurnal`` levels are fractions of the pod's request (of its limit
    when it requests nothing; of 100m / 128Mi when it has neither); ``trace`` replays
    absolute usage from a file in underlay's trace format (``series,time_s,cpu_cores,
    memory_mib``), one series per replica, cycled when there are fewer series.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "if": {"required": ["model"], "properties": {"model": {"const": "trace"}}},
            "then": {"required": ["trace"], "properties": {"trace": {"minLength": 1}}},
        }
    )

    model: Literal["constant", "diurnal", "trace"] = "constant"
    cpu: Real = Field(
        default=0.45,
        ge=0,
        le=100,
        description=(
            "mean CPU level, fraction of request (default 0.45: Alibaba's 2018 cluster used "
            "40-50 % of its CPU, Cheng et al. arXiv 1808.02919)"
        ),
    )
    memory: Real = Field(
        default=0.8,
        ge=0,
        le=100,
        description="memory level, fraction of request (default: assumption)",
    )
    amplitude: Real = Field(
        default=0.0, ge=0, le=100, description="diurnal swing (fraction of request)"
    )
    peak_hour: Real = Field(default=14.0, ge=0, lt=24, description="hour of the daily peak")
    noise: Real = Field(
        default=0.0, ge=0, le=10, description="per-step noise, sd as fraction of request"
    )
    correlation: Real = Field(
        default=0.5, ge=0, le=1, description="share of the noise common to all pods of the workload"
    )
    burst_probability: Real = Field(
        default=0.0, ge=0, le=1, description="chance a burst starts, per step"
    )
    burst_factor: Real = Field(
        default=1.0, ge=1, le=100, description="CPU demand multiplier in a burst"
    )
    burst_steps: Whole = Field(default=6, ge=1, le=10_000, description="steps a burst lasts")
    gpu: Real = Field(
        default=1.0,
        ge=0,
        le=1000,
        description="GPU use, fraction of the pod's GPU share (above 1: a time-sliced pod that "
        "would use idle GPU time; bursts multiply it too)",
    )
    trace: str | None = Field(default=None, description="trace file, relative to the scenario file")
    series: list[str] = Field(default_factory=list, description="trace series, one per replica")

    @model_validator(mode="after")
    def _trace_named(self) -> Usage:
        if self.model == "trace" and not self.trace:
            raise ValueError(f"{at('trace')}a trace usage model needs `trace: FILE`")
        return self


class DisruptionBudget(_Model):
    """A PodDisruptionBudget: how many replicas a voluntary drain may take down at once."""

    model_config = ConfigDict(
        json_schema_extra={
            # Exactly one of the two is given (null stands for not given).
            "anyOf": [
                {
                    "required": [given],
                    "properties": {given: {"not": {"type": "null"}}, other: {"type": "null"}},
                }
                for given, other in (
                    ("max_unavailable", "min_available"),
                    ("min_available", "max_unavailable"),
                )
            ]
        }
    )

    max_unavailable: Annotated[int, Field(ge=0, le=1_000_000), _NUMERIC] | None = None
    min_available: Annotated[int, Field(ge=0, le=1_000_000), _NUMERIC] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> DisruptionBudget:
        if (self.max_unavailable is None) == (self.min_available is None):
            raise ValueError("give exactly one of max_unavailable and min_available")
        return self

    def allowed(self, replicas: int) -> int:
        """Replicas that may be down at once out of ``replicas``."""
        if self.max_unavailable is not None:
            return min(self.max_unavailable, replicas)
        return max(0, replicas - (self.min_available or 0))


class Workload(_Model):
    """A Deployment-like group of identical pods."""

    name: Name
    replicas: Whole = Field(ge=0, le=1_000_000)
    requests: Resources
    limits: Resources | None = None
    gpu: GpuRequest | None = None
    qos: Literal["auto", "guaranteed", "burstable", "besteffort"] = "auto"
    priority: Whole = Field(
        default=0,
        ge=-2_147_483_648,
        le=1_000_000_000,
        description="pod priority (PriorityClass value): lower is evicted first under node "
        "memory pressure, among pods equally far over their requests",
    )
    workload_class: WorkloadClass = Field(default="cpu", alias="class")
    spread: Spread = Spread()
    usage: Usage = Usage()
    disruption_budget: DisruptionBudget | None = Field(
        default=None, description="PodDisruptionBudget respected when nodes are drained"
    )

    @model_validator(mode="after")
    def _limits_cover_requests(self) -> Workload:
        if self.limits is not None:
            if self.limits.cpu_milli and self.limits.cpu_milli < self.requests.cpu_milli:
                raise ValueError("limits.cpu is below requests.cpu")
            if self.limits.memory_mib and self.limits.memory_mib < self.requests.memory_mib:
                raise ValueError("limits.memory is below requests.memory")
        return self

    @property
    def qos_class(self) -> Literal["guaranteed", "burstable", "besteffort"]:
        """The Kubernetes QoS class, derived from requests and limits unless set."""
        if self.qos != "auto":
            return self.qos
        req = self.requests
        if req.cpu_milli == 0 and req.memory_mib == 0 and self.limits is None:
            return "besteffort"
        lim = self.limits
        if lim is not None and lim.cpu_milli == req.cpu_milli and lim.memory_mib == req.memory_mib:
            return "guaranteed"
        return "burstable"

    @property
    def gpu_count(self) -> int:
        """GPUs touched per pod (0 when none)."""
        return self.gpu.count if self.gpu else 0

    @property
    def gpu_milli(self) -> int:
        """Milli-GPUs needed on each GPU touched (0 when none)."""
        return self.gpu.gpu_milli if self.gpu and self.gpu.count else 0


class SystemPod(_Model):
    """A DaemonSet pod that runs on every node of a cluster (CNI, CSI, logging, ...)."""

    name: Name
    cpu_milli: CpuMilli = Field(alias="cpu")
    memory_mib: MemoryMiB = Field(alias="memory")


class Cluster(_Model):
    """One Kubernetes cluster of a tenant."""

    name: Name
    control_plane: ControlPlaneMode = Field(default="auto", description=CONTROL_PLANE_HELP)
    system_pods: list[SystemPod] | None = Field(
        default=None, description="DaemonSet pods on every node (default: the defaults file's set)"
    )
    max_pods: MaxPodsPolicy = MaxPodsPolicy()
    workloads: list[Workload] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_workloads(self) -> Cluster:
        _require_unique("workload", [w.name for w in self.workloads], "workloads")
        return self


class Sla(_Model):
    """What the tenant was promised."""

    availability_percent: Real = Field(default=99.9, ge=0, le=100)
    cpu_satisfaction_percent: Real = Field(
        default=99.0, ge=0, le=100, description="share of CPU demand that must be granted"
    )


# C0 and C1 control characters, DEL, and the bidirectional overrides and isolates that can
# make a name display as something else in a terminal or a browser.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _tenant_name(value: str) -> str:
    bad = _CONTROL.search(value)
    if bad is not None:
        raise ValueError(
            f"{value!r} contains a control character ({bad.group()!r} at position "
            f"{bad.start() + 1}); write the name on one line, without tabs, other control "
            "characters or bidirectional overrides"
        )
    if not value.strip():
        raise ValueError(f"{value!r} is only spaces; give the tenant a name")
    return value


TENANT_NAME_MAX = 100
TenantName = Annotated[
    str,
    Field(min_length=1, max_length=TENANT_NAME_MAX),
    AfterValidator(_tenant_name),
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 1,
            "maxLength": TENANT_NAME_MAX,
            # No control character anywhere, and one that is not a space. No "$": Python's
            # matches before a final newline, ECMAScript's does not.
            "pattern": "^(?![\\s\\S]*[\\u0000-\\u001f\\u007f-\\u009f\\u202a-\\u202e"
            "\\u2066-\\u2069])[\\s\\S]*\\S",
            "description": "free text, e.g. 'ACME Corp (EU)': 1 to 100 characters, not only "
            "spaces, no control characters (tabs, newlines); unique. With `workloads:` "
            "directly under the tenant, its one cluster is named after it (see Tenant)",
        }
    ),
]
"""A tenant's name: free text (a team or customer), printed literally by every report."""

_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9_.-]+")
_NAME_EDGES = "-_."


def cluster_name_for(tenant: str) -> str:
    """The name of the one cluster the ``workloads:`` shorthand gives a tenant.

    A slug of the tenant's name, so the cluster gets a valid (Kubernetes-style) name
    whatever the tenant is called: every run of characters outside ``A-Z a-z 0-9 - _ .``
    becomes one ``-``; ``-``, ``_`` and ``.`` are trimmed from both ends (a name starts and
    ends with a letter or digit); the result is cut to 63 characters (and trimmed again);
    ``cluster`` when nothing is left. Deterministic: ``Team <Payments>`` always gives
    ``Team-Payments``, and a name that is already a valid cluster name is kept as it is.
    """
    slug = _NOT_IN_NAME.sub("-", tenant).strip(_NAME_EDGES)[:63].rstrip(_NAME_EDGES)
    return slug or "cluster"


class Tenant(_Model):
    """A team or customer with its clusters.

    ``name`` is free text (``ACME Corp (EU)``, ``Team <Payments>``): 1 to 100 characters,
    not only spaces, no control characters, unique in the scenario. Reports print it
    literally (escaped for their format), never as markup. ``workloads:`` written directly
    under a tenant stand for one cluster, named after the tenant by :func:`cluster_name_for`.
    """

    name: TenantName
    kubernetes_version: KubeVersion = "1.33"
    isolation: IsolationClass = "internal"
    sla: Sla = Sla()
    upgrade_cadence_months: Whole = Field(
        default=12, ge=1, le=60, description="months between the tenant's own upgrades"
    )
    support: SupportChannel = Field(
        default="upstream", description="whose support calendar counts for this tenant"
    )
    must_stay_supported: StrictBool = Field(
        default=False, description="reject a cadence that cannot keep a supported version"
    )
    clusters: list[Cluster] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _single_cluster_shorthand(cls, data: Any) -> Any:
        # `workloads:` directly under a tenant means one cluster named after the tenant
        # (a slug of its name: tenant names are free text, cluster names are not).
        if isinstance(data, dict) and "workloads" in data and "clusters" not in data:
            data = dict(data)
            name = data.get("name")
            cluster = {
                "name": cluster_name_for(name) if isinstance(name, str) else "cluster",
                "workloads": data.pop("workloads"),
            }
            for key in ("control_plane", "system_pods", "max_pods"):
                if key in data:
                    cluster[key] = data.pop(key)
            data["clusters"] = [cluster]
        return data

    @model_validator(mode="after")
    def _unique_clusters(self) -> Tenant:
        _require_unique("cluster", [c.name for c in self.clusters], "clusters")
        return self


# -------------------------------------------------------------------------- settings


class KubernetesSettings(_Model):
    """Cluster-wide Kubernetes choices."""

    node_reservation: Literal["gke", "aks", "eks", "none"] = Field(
        default="gke", description="kube/system-reserved and eviction formula"
    )


class PlacementSettings(_Model):
    """How pods are packed."""

    strategy: Literal[
        "first-fit-decreasing",
        "best-fit",
        "least-allocated",
        "dominant-resource",
        "gpu-fragmentation",
    ] = "best-fit"
    weights: dict[str, Annotated[float, Field(ge=0, le=1000), _NUMERIC]] = Field(
        default_factory=dict,
        description="score plugin weights (0 to 1,000) overriding the strategy's profile",
    )

    @field_validator("weights")
    @classmethod
    def _known_plugins(cls, weights: dict[str, float]) -> dict[str, float]:
        if weights:
            # The placer always runs the default registry's plugins (placement.plugins).
            from underlay.placement.plugins import default_registry

            known = default_registry().score_names()
            for name in weights:
                if name not in known:
                    raise ValueError(
                        f"{at(name)}unknown score plugin {name!r}{_did_you_mean(name, known)} "
                        f"(known: {', '.join(known)})"
                    )
        return weights


class SimulationSettings(_Model):
    """The time-stepped replay of usage."""

    horizon_hours: Real = Field(default=168.0, gt=0, le=24 * 366, description="default: 7 days")
    step_minutes: Real = Field(default=5.0, gt=0, le=24 * 60)
    seed: Whole = Field(default=0, ge=0, le=MAX_SEED)
    shared_hardware_slowdown: Annotated[float, Field(ge=0, le=1), _NUMERIC] | None = Field(
        default=None,
        description=(
            "work lost at full load of other tenants on a host, from shared last-level cache "
            "and memory bandwidth (default: the defaults' interference figure; 0 = off); a "
            "substrate escapes it on dedicated hosts or with cache_partitioned"
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _pinning_retired(cls, data: Any) -> Any:
        if isinstance(data, dict) and "pinned_cpus" in data:
            raise ValueError(
                f"{at('pinned_cpus')}pinning vCPUs does not partition the last-level cache or "
                "memory bandwidth, so it no longer changes the interference model; remove it, "
                "and set `cache_partitioned: true` on a substrate whose hosts partition them "
                "(Intel RDT cache allocation and memory-bandwidth allocation)"
            )
        return data

    @property
    def steps(self) -> int:
        """Number of steps in the horizon."""
        return max(1, round(self.horizon_hours * 60 / self.step_minutes))


DEFAULT_ISOLATION_CLASSES = ("regulated", "internal", "untrusted")


class IsolationClassDef(_Model):
    """One isolation class; it obeys its own rules and those of the classes it inherits."""

    inherits: list[Name] = Field(default_factory=list)
    description: str = ""


class IsolationRule(_Model):
    """Tenants of two classes must not share a kernel (or a host, or a rack).

    ``between: [untrusted, untrusted]`` forbids two *different* untrusted tenants to share.
    """

    between: tuple[Name, Name]
    never_share: Literal["kernel", "host", "rack"] = "kernel"

    @field_validator("between", mode="before")
    @classmethod
    def _two_classes(cls, v: Any) -> Any:
        if isinstance(v, list | tuple) and len(v) != 2:
            raise ValueError(
                f"a rule names exactly two classes, got {len(v)}; write one rule per pair"
            )
        return v


def _default_rules() -> list[IsolationRule]:
    return [
        IsolationRule(between=("regulated", "untrusted"), never_share="kernel"),
        IsolationRule(between=("untrusted", "untrusted"), never_share="kernel"),
    ]


class IsolationPolicy(_Model):
    """Isolation classes of tenants and the rules between them.

    Default: classes ``regulated``, ``internal``, ``untrusted``; a regulated tenant never
    shares a kernel with an untrusted one, and no two untrusted tenants share a kernel.
    Classes named in ``classes`` are added to the three defaults; ``rules`` replace the
    default rules.
    """

    classes: dict[Name, IsolationClassDef] = Field(default_factory=dict)
    rules: list[IsolationRule] = Field(default_factory=_default_rules)

    @model_validator(mode="after")
    def _known_and_acyclic(self) -> IsolationPolicy:
        known = self.class_names
        for name, cls in self.classes.items():
            for i, parent in enumerate(cls.inherits):
                if parent not in known:
                    raise ValueError(
                        f"{at('classes', name, 'inherits', i)}no isolation class is called "
                        f"{parent!r}{_did_you_mean(parent, known)} (known: {', '.join(known)})"
                    )
        for name in self.classes:
            cycle = self._cycle_from(name)
            if cycle:
                raise ValueError(
                    f"{at('classes', cycle[0], 'inherits')}inheritance goes round in a circle: "
                    + " -> ".join(cycle)
                )
        for i, rule in enumerate(self.rules):
            for j, name in enumerate(rule.between):
                if name not in known:
                    raise ValueError(
                        f"{at('rules', i, 'between', j)}no isolation class is called {name!r}"
                        f"{_did_you_mean(name, known)} (known: {', '.join(known)})"
                    )
        return self

    def _cycle_from(self, start: str) -> list[str]:
        path: list[str] = [start]

        def walk(name: str) -> list[str]:
            for parent in self.classes.get(name, IsolationClassDef()).inherits:
                if parent in path:
                    return [*path[path.index(parent) :], parent]
                path.append(parent)
                found = walk(parent)
                if found:
                    return found
                path.pop()
            return []

        return walk(start)

    @property
    def class_names(self) -> list[str]:
        """The default classes and the scenario's own, in that order."""
        return list(DEFAULT_ISOLATION_CLASSES) + [
            c for c in self.classes if c not in DEFAULT_ISOLATION_CLASSES
        ]

    def lineage(self, name: str) -> set[str]:
        """``name`` and every class it inherits from, directly or not."""
        seen = {name}
        todo = [name]
        while todo:
            for parent in self.classes.get(todo.pop(), IsolationClassDef()).inherits:
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return seen


class LifecycleSettings(_Model):
    """The Kubernetes version lifecycle over years."""

    start: date | None = Field(
        default=None,
        description="first day of the horizon (default: the date underlay's release calendar "
        "was last updated, so results do not change with the day they are run)",
    )
    horizon_years: Real = Field(default=3.0, gt=0, le=20)
    nodes_in_parallel: Whole = Field(
        default=1, ge=1, le=1_000, description="nodes drained at once in a rolling upgrade"
    )
    spare_hosts_per_cluster: Whole = Field(
        default=0, ge=0, le=1_000, description="bare-metal hosts kept free as upgrade surge"
    )


class FailureSettings(_Model):
    """The host, rack and zone failure Monte Carlo."""

    trials: Whole = Field(default=1000, ge=1, le=100_000)
    years: Real = Field(default=1.0, gt=0, le=20, description="simulated time per trial")
    seed: Annotated[int, Field(ge=0, le=MAX_SEED), _NUMERIC] | None = Field(
        default=None, description="default: the simulation seed"
    )


class CostSettings(_Model):
    """Operations cost on top of capex, power and licences."""

    ops_per_host_month_usd: Real = Field(default=0.0, ge=0, le=1_000_000)
    ops_per_cluster_month_usd: Real = Field(default=0.0, ge=0, le=10_000_000)


FACTORS = ("performance", "versions", "isolation", "sla", "cost")


class Weights(_Model):
    """How much each factor counts in the verdict (relative; they need not add up to 1)."""

    performance: Real = Field(default=1.0, ge=0, le=1000)
    versions: Real = Field(default=1.0, ge=0, le=1000, description="multi-version flexibility")
    isolation: Real = Field(default=1.0, ge=0, le=1000)
    sla: Real = Field(default=1.0, ge=0, le=1000, description="SLA predictability")
    cost: Real = Field(default=1.0, ge=0, le=1000)

    @model_validator(mode="after")
    def _some_weight(self) -> Weights:
        if not any(getattr(self, f) > 0 for f in FACTORS):
            raise ValueError("at least one weight must be above 0")
        return self

    def as_dict(self) -> dict[str, float]:
        """Factor → weight, in the order of FACTORS."""
        return {f: float(getattr(self, f)) for f in FACTORS}


class Constraints(_Model):
    """Hard constraints on the hybrid plan: every one holds, then cost is least."""

    isolation_rules: StrictBool = Field(
        default=True,
        description="two tenants that break an isolation rule on a substrate never share it",
    )
    budget_usd_per_month: Annotated[float, Field(gt=0, le=1e12), _NUMERIC] | None = None
    min_sla_probability: Annotated[float, Field(ge=0, le=1), _NUMERIC] | None = Field(
        default=None, description="share of failure years meeting each tenant's SLA"
    )
    min_cpu_sla_attainment_percent: Annotated[float, Field(ge=0, le=100), _NUMERIC] | None = Field(
        default=None, description="share of steps meeting each tenant's CPU SLA"
    )
    own_version: StrictBool = Field(
        default=False, description="every tenant runs the Kubernetes version it wants"
    )
    gpu_training_on: list[Literal["baremetal", "passthrough", "vgpu"]] | None = Field(
        default=None,
        description="GPU modes allowed for tenants with gpu-training workloads, e.g. "
        "[baremetal, passthrough]",
    )
    allowed: dict[str, list[str]] = Field(
        default_factory=dict, description="tenant → the substrates it may use (by label)"
    )
    assign: Literal["tenant", "workload"] = Field(
        default="tenant", description="assign each tenant, or each workload, a substrate"
    )


class Scenario(_Model):
    """Everything underlay needs to compare substrates for one fleet."""

    # Folder that relative paths in the file (trace files) are resolved against.
    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    # The trace files its workloads replay, read when the file was loaded: resolved path →
    # series name → series (underlay.model.traces types them; None: not read yet).
    _traces: dict[Path, dict[str, Any]] | None = PrivateAttr(default=None)

    name: Name
    description: str = ""
    hardware: Hardware
    substrates: list[Substrate] = Field(
        default_factory=lambda: [  # type: ignore[arg-type]
            BaremetalDedicated(kind="baremetal-dedicated"),
            BaremetalShared(kind="baremetal-shared"),
            Vm(kind="vm"),
            Sandboxed(kind="sandboxed"),
        ],
        min_length=1,
    )
    tenants: list[Tenant] = Field(min_length=1)
    kubernetes: KubernetesSettings = KubernetesSettings()
    placement: PlacementSettings = PlacementSettings()
    simulation: SimulationSettings = SimulationSettings()
    isolation: IsolationPolicy = IsolationPolicy()
    lifecycle: LifecycleSettings = LifecycleSettings()
    failures: FailureSettings = FailureSettings()
    costs: CostSettings = CostSettings()
    weights: Weights = Weights()
    constraints: Constraints = Constraints()
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="replace any default, same layout as `underlay defaults`"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        _require_unique("tenant", [t.name for t in self.tenants], "tenants")
        _require_unique("substrate", [s.name or s.kind for s in self.substrates], "substrates")
        gpu_models = sorted({m.gpus.model for m in self.hardware.host_models if m.gpus})
        classes = self.isolation.class_names
        for ti, tenant in enumerate(self.tenants):
            if tenant.isolation not in classes:
                raise ValueError(
                    f"{at('tenants', ti, 'isolation')}no isolation class is called "
                    f"{tenant.isolation!r}{_did_you_mean(tenant.isolation, classes)} (known: "
                    f"{', '.join(classes)}; add your own under isolation.classes)"
                )
            for ci, cluster in enumerate(tenant.clusters):
                for wi, w in enumerate(cluster.workloads):
                    for mi, model in enumerate(w.gpu.models if w.gpu else []):
                        if model not in gpu_models:
                            where = at(
                                "tenants", ti, "clusters", ci, "workloads", wi, "gpu", "models", mi
                            )
                            raise ValueError(
                                f"{where}no host model has GPU model {model!r}"
                                f"{_did_you_mean(model, gpu_models)} (hosts have: "
                                f"{', '.join(gpu_models) or 'no GPUs'})"
                            )
        labels = self.substrate_labels
        names = [t.name for t in self.tenants]
        for who, allowed in self.constraints.allowed.items():
            if who not in names:
                raise ValueError(
                    f"{at('constraints', 'allowed', who)}no tenant is called {who!r}"
                    f"{_did_you_mean(who, names)}"
                )
            for i, label in enumerate(allowed):
                if label not in labels:
                    raise ValueError(
                        f"{at('constraints', 'allowed', who, i)}no substrate is called "
                        f"{label!r}{_did_you_mean(label, labels)} (known: {', '.join(labels)})"
                    )
        return self

    @property
    def base_dir(self) -> Path:
        """Folder of the scenario file: relative paths in it are resolved from here."""
        return self._base_dir

    def with_base_dir(self, folder: Path) -> Scenario:
        """This scenario, resolving relative paths from ``folder``."""
        self._base_dir = folder
        return self

    @property
    def loaded_traces(self) -> dict[Path, dict[str, Any]] | None:
        """The trace files read when the scenario was loaded (None when it was not loaded
        from a file); :func:`underlay.model.traces.scenario_traces` reads them otherwise."""
        return self._traces

    def with_traces(self, traces: dict[Path, dict[str, Any]]) -> Scenario:
        """This scenario, with its trace files already read (``traces``)."""
        self._traces = traces
        return self

    def substrate(self, label: str) -> BaremetalDedicated | BaremetalShared | Vm | Sandboxed:
        """The substrate with this name (or, when unnamed, this kind)."""
        return next(s for s in self.substrates if (s.name or s.kind) == label)

    @property
    def substrate_labels(self) -> list[str]:
        """Each substrate's name, or its kind when unnamed, in file order."""
        return [s.name or s.kind for s in self.substrates]


SCHEMA_ID = "urn:underlay:scenario"


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of scenario files, as editors should see them.

    Pydantic's schema of :class:`Scenario`, plus what pydantic cannot say by itself: the
    tenant shorthand (``workloads:`` and the cluster settings written directly under a
    tenant stand for one cluster, named by :func:`cluster_name_for`), the quantity
    patterns, the score plugins ``placement.weights`` may name, and patterns that end
    where the loader's do. What the schema cannot check are references between parts of
    the file (unique names, host models and isolation classes named elsewhere, GPU models
    on some host), comparisons of two values (limits against requests, peak against idle
    watts) and the defaults ``overrides`` replace: the loader does.
    """
    schema = Scenario.model_json_schema(by_alias=True)
    tenant = schema["$defs"]["Tenant"]
    props = tenant.setdefault("properties", {})
    props["workloads"] = {
        "type": "array",
        "items": {"$ref": "#/$defs/Workload"},
        "description": "shorthand for one cluster named after the tenant: a slug of its name "
        "(each run of characters outside A-Z a-z 0-9 - _ . becomes '-', trimmed, cut to 63 "
        "characters; 'cluster' when nothing is left), e.g. 'Team <Payments>' -> "
        "'Team-Payments'",
    }
    props["control_plane"] = {"enum": ["auto", "dedicated", "stacked", "management", "hosted"]}
    props["system_pods"] = {"type": "array", "items": {"$ref": "#/$defs/SystemPod"}}
    props["max_pods"] = {"$ref": "#/$defs/MaxPodsPolicy"}
    tenant["required"] = [r for r in tenant.get("required", []) if r != "clusters"]
    tenant["oneOf"] = [{"required": ["clusters"]}, {"required": ["workloads"]}]

    from underlay.placement.plugins import default_registry

    weights = schema["$defs"]["PlacementSettings"]["properties"]["weights"]
    weights["propertyNames"] = {"enum": default_registry().score_names()}
    _end_patterns_at_the_end(schema)
    _refuse_nan(schema)
    schema["$defs"]["NaN"] = {
        "$comment": "NaN fails no comparison, so only NaN is at least 1 and at most 0; "
        "numbers say not this one (the loader refuses .nan, and .inf by the bounds)",
        "type": "number",
        "minimum": 1,
        "maximum": 0,
    }
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def _refuse_nan(node: Any) -> None:
    """Every ``"type": "number"`` in the schema also says ``"not": NaN`` (see $defs.NaN)."""
    if isinstance(node, dict):
        if node.get("type") == "number" and "not" not in node:
            node["not"] = {"$ref": "#/$defs/NaN"}
        for value in node.values():
            _refuse_nan(value)
    elif isinstance(node, list):
        for value in node:
            _refuse_nan(value)


def _end_patterns_at_the_end(node: Any) -> None:
    r"""Make every ``...$`` pattern end at the end of the text in every regex dialect.

    ECMAScript's ``$`` (an editor's) matches only at the end; Python's (the ``jsonschema``
    package's) also before a final newline, so ``"web\n"`` would pass there while the
    loader refuses it. ``(?![\s\S])`` (nothing follows) means the end in both.
    """
    if isinstance(node, dict):
        pattern = node.get("pattern")
        if isinstance(pattern, str) and pattern.endswith("$"):
            node["pattern"] = pattern + r"(?![\s\S])"
        for value in node.values():
            _end_patterns_at_the_end(value)
    elif isinstance(node, list):
        for value in node:
            _end_patterns_at_the_end(value)


def at(*path: str | int) -> str:
    """Prefix for a validator's message naming the field it is about, relative to the model
    being validated (the loader turns it into the field path and line of the file)."""
    return "@" + ".".join(str(p) for p in path) + ": "


def _did_you_mean(name: str, known: list[str]) -> str:
    hint = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f"; did you mean {hint[0]!r}?" if hint else ""


def _require_unique(what: str, names: list[str], field: str) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise ValueError(f"{at(field, i, 'name')}{what} name {name!r} appears twice")
        seen.add(name)
