"""The cited defaults: typed models of ``defaults.yaml`` and the loader that applies overrides."""

from __future__ import annotations

import copy
import math
from functools import cache
from importlib import resources
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from underlay.errors import ScenarioError
from underlay.model.scenario import CpuMilli, MemoryMiB, Resources, SystemPod, VmShape

__all__ = [
    "ContainerRuntime",
    "ControlPlaneDefaults",
    "ControlPlaneSize",
    "Defaults",
    "FailureRates",
    "GpuCatalog",
    "GpuModelSpec",
    "HostReservation",
    "HypervisorProfile",
    "Interference",
    "LatencyModel",
    "NodeDaemons",
    "ReservationPolicy",
    "SandboxRuntime",
    "Security",
    "VmMemoryOverhead",
    "load_defaults",
    "override_errors",
    "override_problems",
    "raw_defaults",
    "tiered",
]


def tiered(amount: float, tiers: list[tuple[float | None, float]]) -> float:
    """Sum of ``fraction × slice`` over consecutive slices of ``amount``.

    ``tiers = [(4, 0.25), (4, 0.20), (None, 0.02)]`` reserves 25 % of the first 4 units,
    20 % of the next 4 and 2 % of the rest.
    """
    total, left = 0.0, amount
    for size, fraction in tiers:
        part = left if size is None else min(left, size)
        total += part * fraction
        left -= part
        if left <= 0:
            break
    return total


class _Model(BaseModel):
    # .nan and .inf are never a default: refused in the defaults and in a scenario's
    # overrides ("Input should be a finite number"), whatever bounds a field has.
    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, allow_inf_nan=False
    )


class VmMemoryOverhead(_Model):
    """Per-VM memory the hypervisor keeps beyond the guest's RAM, as a linear formula."""

    fixed_mib: float = Field(ge=0)
    per_gib_mib: float = Field(ge=0)
    per_vcpu_mib: float = Field(ge=0)
    per_gpu_mib: float = Field(ge=0)

    def mib(self, *, vcpus: int, memory_mib: int, gpus: float) -> int:
        """Overhead in MiB for one VM (rounded up)."""
        total = (
            self.fixed_mib
            + self.per_gib_mib * memory_mib / 1024
            + self.per_vcpu_mib * vcpus
            + self.per_gpu_mib * (1 if 0 < gpus < 1 else gpus)
        )
        return int(-(-total // 1))


class HostReservation(_Model):
    """CPU and memory a hypervisor host keeps for itself (host OS, hypervisor services).

    ``cpu_base_milli + cpu_per_core_milli × (cores − 1)`` of CPU and the tiered share
    ``memory_tiers`` of its memory (GiB slices, as the GKE tiers), at least
    ``memory_min``: so it grows with the host. ``cpu``/``memory`` set a fixed reservation
    instead (an override may give either form).
    """

    cpu_milli: CpuMilli | None = Field(default=None, alias="cpu")
    memory_mib: MemoryMiB | None = Field(default=None, alias="memory")
    cpu_base_milli: float = Field(default=0, ge=0)
    cpu_per_core_milli: float = Field(default=0, ge=0)
    memory_tiers: list[tuple[float | None, float]] = Field(default_factory=list)
    memory_min_mib: MemoryMiB = Field(default=0, alias="memory_min")

    def for_host(self, *, cpu_milli: int, memory_mib: int) -> tuple[int, int]:
        """(CPU millicores, memory MiB) kept back on a host of this size (rounded up)."""
        cpu = self.cpu_milli
        if cpu is None:
            cores = cpu_milli / 1000
            cpu = math.ceil(self.cpu_base_milli + self.cpu_per_core_milli * max(cores - 1, 0))
        mem = self.memory_mib
        if mem is None:
            tiers = math.ceil(tiered(memory_mib / 1024, self.memory_tiers) * 1024)
            mem = max(tiers, self.memory_min_mib)
        return min(int(cpu), cpu_milli), min(int(mem), memory_mib)


class HypervisorProfile(_Model):
    """Overheads, costs and times of one hypervisor."""

    cpu_overhead_percent: float = Field(ge=0, lt=100)
    storage_iops_factor: float = Field(gt=0, le=1)
    network_latency_add_us: float = Field(ge=0)
    gpu_passthrough_efficiency: float = Field(gt=0, le=1.1)
    vgpu_efficiency: float = Field(gt=0, le=1.1)
    gpu_attach: list[Literal["passthrough", "vgpu"]] = Field(
        default_factory=list, description="how the hypervisor can give GPUs to VMs"
    )
    vm_memory_overhead: VmMemoryOverhead
    host_reserved: HostReservation
    licence_per_core_year_usd: float = Field(ge=0)
    vm_replace_minutes: float = Field(gt=0)
    escapes_per_year: float = Field(ge=0, description="guest-to-host escapes, a year")
    source: str


class ContainerRuntime(_Model):
    """The CPU tax of the default container runtime (runc) on a pod outside a sandbox."""

    cpu_overhead_percent: float = Field(ge=0, lt=100)
    source: str


class SandboxRuntime(_Model):
    """Overheads of a per-pod sandbox runtime.

    ``pod_overhead`` is what the RuntimeClass reserves for the sandbox itself (VMM, guest
    kernel, agent; gVisor's Sentry): placement adds it to the pod's requests and the
    simulation has the sandbox use it, so the workload never gets it. ``default_vcpus``
    (micro-VM runtimes): the vCPUs a guest starts with; a CPU limit hot-adds
    ceil(limit) more, so a container *without* a CPU limit runs on ``default_vcpus``
    alone (and, with ``default_memory``, on the guest's default memory).
    """

    pod_overhead: Resources
    cpu_overhead_percent: float = Field(ge=0, lt=100)
    class_cpu_overhead_percent: dict[str, Annotated[float, Field(ge=0, lt=100)]] = Field(
        default_factory=dict,
        description="CPU tax by workload class, where it differs from cpu_overhead_percent",
    )
    default_vcpus: int | None = Field(default=None, ge=1, le=1024)
    default_memory_mib: MemoryMiB | None = Field(default=None, alias="default_memory")
    storage_iops_factor: float = Field(gt=0, le=1)
    network_latency_add_us: float = Field(ge=0)
    escapes_per_year: float = Field(ge=0, description="sandbox-to-host escapes, a year")
    source: str


class ReservationPolicy(_Model):
    """A managed-Kubernetes formula for kube-reserved + system-reserved + eviction."""

    cpu_tiers: list[tuple[float | None, float]] | None = None
    cpu_points: list[tuple[float, float]] | None = None
    memory_tiers: list[tuple[float | None, float]] | None = None
    memory_per_pod_mib: float | None = None
    memory_base_mib: float | None = None
    memory_cap_fraction: float | None = None
    eviction_mib: float = 0
    source: str


class GpuMode(_Model):
    """Relative GPU throughput of one way of giving GPUs to pods."""

    efficiency: float = Field(gt=0, le=1.1)
    source: str


class MigGeometry(_Model):
    """How a GPU model splits with MIG: ``slices`` compute slices, and its profiles as
    (compute slices, memory)."""

    slices: int = Field(ge=1, le=16)
    profiles: list[tuple[int, MemoryMiB]] = Field(min_length=1)


class GpuModelSpec(_Model):
    """A GPU model's memory and, when it has them, its MIG profiles."""

    memory_mib: MemoryMiB = Field(alias="memory")
    mig: MigGeometry | None = None


class GpuCatalog(_Model):
    """Published GPU models, looked up by name (see :meth:`find`)."""

    models: dict[str, GpuModelSpec]
    source: str

    def find(self, name: str) -> GpuModelSpec | None:
        """The entry whose key's tokens are all in ``name`` (case-insensitive, ``-`` and
        ``_`` separated), the key with most tokens winning; None when no key matches."""
        tokens = set(name.upper().replace("_", "-").split("-"))
        best: tuple[int, str] | None = None
        for key in self.models:
            parts = key.upper().split("-")
            if all(p in tokens for p in parts) and (best is None or len(parts) > best[0]):
                best = (len(parts), key)
        return None if best is None else self.models[best[1]]


class VmSizing(_Model):
    """How VMs are sized: the usage percentile of ``sizing: peak``, and the instance menu."""

    peak_percentile: float = Field(gt=0, le=100)
    menu: list[VmShape] = Field(min_length=1)
    source: str


class ControlPlaneSize(_Model):
    """One row of the control-plane sizing table: clusters up to ``max_nodes`` nodes."""

    max_nodes: int | None = Field(default=None, ge=1)
    vcpus: int = Field(ge=1, le=1024)
    memory_mib: MemoryMiB = Field(alias="memory")


class ControlPlaneMinimum(_Model):
    """The smallest control-plane machine."""

    vcpus: int = Field(ge=1, le=1024)
    memory_mib: MemoryMiB = Field(alias="memory")


class ControlPlaneDefaults(_Model):
    """How big a control plane is, by the cluster's node count, and how it is run."""

    sizing: list[ControlPlaneSize] = Field(min_length=1)
    minimum: ControlPlaneMinimum
    replicas: int = Field(ge=1, le=9)
    use_fraction: float = Field(ge=0, le=1)
    hosted_per_cluster: Resources
    hosted_node_count: int = Field(ge=1)
    management_hypervisor: str
    source: str

    def size_for(self, nodes: int) -> tuple[int, int]:
        """(vCPUs, memory MiB) of one control-plane machine of a cluster of ``nodes``."""
        row = next(
            (r for r in self.sizing if r.max_nodes is None or nodes <= r.max_nodes),
            self.sizing[-1],
        )
        return max(row.vcpus, self.minimum.vcpus), max(row.memory_mib, self.minimum.memory_mib)


class MaxPodsDefaults(_Model):
    """Published max-pods figures."""

    kubelet_default: int
    openshift_supported: int
    openshift_tested: int
    source: str


class Lifecycle(_Model):
    """Bare-metal reboot and reprovision times (a VM's replace time is its hypervisor's)."""

    baremetal_reboot_minutes: float = Field(gt=0)
    baremetal_reprovision_minutes: float = Field(gt=0)
    source: str


class Costs(_Model):
    """Prices that turn power into money."""

    electricity_usd_per_kwh: float = Field(ge=0)
    pue: float = Field(ge=1, le=5)
    hours_per_month: float = Field(gt=0)
    source: str


class Licensing(_Model):
    """How per-core hypervisor licences are counted."""

    min_cores_per_cpu: int = Field(ge=0)
    source: str


class Security(_Model):
    """Exploit rates that weight the blast radius of an escape."""

    runtime_escapes_per_year: float = Field(ge=0)
    kernel_exploits_per_year: float = Field(ge=0)
    kernel_exploit_success_from_container: float = Field(ge=0, le=1)
    foothold_weight: dict[str, Annotated[float, Field(ge=0)]]
    source: str

    @property
    def container_escapes_per_year(self) -> float:
        """Escapes from a container to its kernel's root a year, weighted by success."""
        return (
            self.runtime_escapes_per_year
            + self.kernel_exploits_per_year * self.kernel_exploit_success_from_container
        )

    def weight_of(self, isolation_class: str) -> float:
        """How likely an attack starts in a pod of this class (1.0 when not listed)."""
        return self.foothold_weight.get(isolation_class, 1.0)


class NodeDaemons(_Model):
    """What the node's own software uses: kubelet and runtime, and the DaemonSet pods."""

    kubelet_runtime_cpu_milli: float = Field(ge=0)
    system_pods_cpu_use: float = Field(ge=0, le=1, description="fraction of request")
    system_pods_memory_use: float = Field(ge=0, le=1, description="fraction of request")
    source: str


class Interference(_Model):
    """Work lost to shared last-level cache and memory bandwidth."""

    slowdown_at_full_load: float = Field(ge=0, le=1)
    source: str


class LatencyModel(_Model):
    """The queueing model behind latency inflation."""

    rho_max: float = Field(gt=0, lt=1)
    max_inflation: float = Field(gt=1, le=1000)
    source: str


class FailureRates(_Model):
    """Failure counts per cluster-year and the times to recover from them.

    A host failure is a hardware fault (a part replaced: back after
    ``hardware_repair_hours``) with probability ``hardware_share``, else a software fault
    (back after the lifecycle's bare-metal reboot).
    """

    reference_cluster_hosts: int = Field(gt=0)
    host_failures_per_cluster_year: float = Field(ge=0)
    rack_failures_per_cluster_year: float = Field(ge=0)
    zone_failures_per_cluster_year: float = Field(ge=0)
    hosts_per_rack: int = Field(gt=0)
    hosts_per_zone: int = Field(gt=0)
    rack_repair_hours: float = Field(gt=0)
    zone_repair_hours: float = Field(gt=0)
    detection_minutes: float = Field(ge=0)
    pod_start_minutes: float = Field(ge=0)
    hardware_share: float = Field(ge=0, le=1)
    hardware_repair_hours: float = Field(gt=0)
    source: str

    @property
    def host_rate(self) -> float:
        """Failures per host-year."""
        return self.host_failures_per_cluster_year / self.reference_cluster_hosts

    @property
    def rack_rate(self) -> float:
        """Failures per rack-year."""
        racks = self.reference_cluster_hosts / self.hosts_per_rack
        return self.rack_failures_per_cluster_year / racks

    @property
    def zone_rate(self) -> float:
        """Failures per zone-year."""
        zones = self.reference_cluster_hosts / self.hosts_per_zone
        return self.zone_failures_per_cluster_year / zones


class Defaults(_Model):
    """Every default underlay uses, each with its source."""

    hypervisors: dict[str, HypervisorProfile]
    container_runtime: ContainerRuntime
    sandbox_runtimes: dict[str, SandboxRuntime]
    node_reservation: dict[str, ReservationPolicy]
    max_pods: MaxPodsDefaults
    gpu_modes: dict[str, GpuMode]
    gpu_catalog: GpuCatalog
    vm_sizing: VmSizing
    control_plane: ControlPlaneDefaults
    system_pods: list[SystemPod]
    system_pods_source: str
    lifecycle: Lifecycle
    costs: Costs
    licensing: Licensing
    security: Security
    failures: FailureRates
    node_daemons: NodeDaemons
    interference: Interference
    latency: LatencyModel


# Kept for type checkers: these aliases are part of the defaults file's vocabulary.
_ = (CpuMilli, MemoryMiB)


@cache
def raw_defaults() -> dict[str, Any]:
    """The packaged defaults as plain data (do not mutate; copy first)."""
    text = resources.files("underlay.defaults").joinpath("defaults.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def _merge(base: dict[str, Any], extra: dict[str, Any], top: bool) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if key not in out and top:
            raise _UnknownSection(key, sorted(out))
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value, False)
        else:
            out[key] = value
    return out


class _UnknownSection(Exception):
    def __init__(self, key: str, known: list[str]) -> None:
        self.key, self.known = key, known


def override_errors(overrides: dict[str, Any]) -> list[dict[str, Any]]:
    """What is wrong with a scenario's ``overrides``, as pydantic-style records (``type``,
    ``loc`` under ``overrides``, ``msg``, ``input``); [] when they fit the defaults."""
    try:
        data = _merge(raw_defaults(), overrides, True)
    except _UnknownSection as exc:
        known = ", ".join(exc.known)
        return [
            {
                "type": "extra_forbidden",
                "loc": (exc.key,),
                "msg": f"unknown defaults section (known: {known})",
                "input": overrides[exc.key],
            }
        ]
    try:
        Defaults.model_validate(data)
    except ValidationError as exc:
        return [dict(err) for err in exc.errors(include_url=False)]
    return []


def override_problems(overrides: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """What is wrong with a scenario's ``overrides``: (path under ``overrides``, problem)."""
    return [(tuple(err["loc"]), str(err["msg"])) for err in override_errors(overrides)]


def load_defaults(overrides: dict[str, Any] | None = None, *, source: str = "scenario") -> Defaults:
    """The defaults with a scenario's ``overrides`` merged in (same layout as the file).

    A new hypervisor or runtime may be added by giving all its fields under a new name.
    """
    problems = override_problems(overrides or {})
    if problems:
        raise ScenarioError(
            "\n".join(
                f"{source}: overrides.{'.'.join(map(str, loc))}: {msg}" for loc, msg in problems
            )
        )
    return Defaults.model_validate(_merge(raw_defaults(), overrides or {}, True))
