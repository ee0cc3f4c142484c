"""Workloads: Deployment-like groups of identical pods with their requests, limits, GPUs,
spread, usage over time and disruption budget; and the DaemonSet pods of every node."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    ConfigDict,
    Field,
    StrictBool,
    model_validator,
)

from underlay.model.fields import (
    _NUMERIC,
    CpuMilli,
    MemoryMiB,
    Name,
    Real,
    Whole,
    WorkloadClass,
    _Model,
    at,
)
from underlay.model.labels import Labels

__all__ = [
    "DisruptionBudget",
    "GpuRequest",
    "Resources",
    "Spread",
    "SystemPod",
    "Usage",
    "Workload",
]


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
    labels: Labels = Field(
        default_factory=dict,
        description="Kubernetes labels of its pods (key: value); a hybrid part's labels "
        "select workloads by them",
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
