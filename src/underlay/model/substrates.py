"""The substrates a scenario compares: dedicated and shared bare metal, VMs (with their
shapes) and sandboxed pods, and the control-plane modes of their clusters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    Discriminator,
    Field,
    StrictBool,
    Tag,
    field_validator,
)

from underlay.model.fields import (
    _NUMERIC,
    GpuSharing,
    KubeVersion,
    MemoryMiB,
    Name,
    Real,
    Whole,
    _Model,
)
from underlay.model.hardware import MaxPodsPolicy
from underlay.model.labels import Labels, selects

__all__ = [
    "CONTROL_PLANE_HELP",
    "BaremetalDedicated",
    "BaremetalShared",
    "ControlPlaneMode",
    "Hybrid",
    "HybridPart",
    "PartSubstrate",
    "Sandboxed",
    "Substrate",
    "Vm",
    "VmShape",
    "VmShapes",
    "workload_key",
    "workload_tenant",
]


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
    gpu_sharing: GpuSharing = Field(
        default="time-slicing",
        description="how a GPU is shared by fractional pods (vm: by vGPU VMs): time-slicing "
        "(work-conserving, no isolation) or MIG (fixed, isolated hardware slices)",
    )


class BaremetalShared(_Model):
    """One multi-tenant cluster on bare metal; tenants are namespaces."""

    kind: Literal["baremetal-shared"]
    name: Name | None = Field(default=None, description="label, to compare two of one kind")
    gpu_sharing: GpuSharing = Field(
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
    gpu_sharing: GpuSharing = Field(
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


PartSubstrate = Annotated[
    BaremetalDedicated | BaremetalShared | Vm | Sandboxed, Field(discriminator="kind")
]


def workload_key(tenant: str, cluster: str, workload: str) -> str:
    """A workload's name across the scenario, ``tenant/cluster/workload``, as a part's
    ``workloads`` and per-workload plans write it (cluster and workload names never hold
    "/", a tenant's may: :func:`workload_tenant` splits it)."""
    return f"{tenant}/{cluster}/{workload}"


def workload_tenant(key: str) -> str:
    """The tenant of a :func:`workload_key`."""
    return key.rsplit("/", 2)[0]


class HybridPart(_Model):
    """One part of a hybrid: an ordinary substrate and the tenants it runs."""

    name: Name
    substrate: PartSubstrate = Field(
        description="the part's substrate: baremetal-dedicated, baremetal-shared, vm or "
        "sandboxed, with the same fields as in the substrates list"
    )
    tenants: list[str] = Field(
        default_factory=list, description="tenants of this part, by name (wins over classes)"
    )
    isolation: list[Name] = Field(
        default_factory=list,
        description="tenants of these isolation classes go here, unless named in another part",
    )
    workloads: list[str] = Field(
        default_factory=list,
        description="workloads of this part, as tenant/cluster/workload (wins over every "
        "other rule; the rest of the tenant's workloads go where the other rules say)",
    )
    gpu_workloads: StrictBool = Field(
        default=False,
        description="every workload that requests GPUs goes here, whichever part its tenant "
        "is in (at most one part); its tenant's other workloads stay in the tenant's part",
    )
    hosts: list[Name] = Field(
        default_factory=list,
        description="host models this part may use (default: any): its sized pool is bought "
        "among them, or it takes only hosts of these models from hardware.inventory",
    )
    racks: list[Annotated[int, Field(ge=1, le=10_000), _NUMERIC]] = Field(
        default_factory=list,
        description="racks this part's hosts go in, numbered 1 to hardware.topology.racks "
        "(default: every rack, shared round-robin with the other parts), e.g. an edge site's",
    )
    labels: Labels = Field(
        default_factory=dict,
        description="every workload whose labels hold all these key: value pairs goes here "
        "(after gpu_workloads, before tenants and isolation; the first such part in file "
        "order wins), whichever part its tenant is in",
    )


class Hybrid(_Model):
    """Named parts, each an ordinary substrate, with the tenants assigned to each part.

    Each part gets its own pool of hosts, sized by underlay, or takes its hosts from
    ``hardware.inventory`` (parts in file order), of the host models its ``hosts`` lists
    (any when empty); racks and zones are shared.
    Where a workload goes, first rule that applies: (1) a part names it in ``workloads``:
    that part; (2) it requests GPUs and a part has ``gpu_workloads``: that part; (3) its
    labels hold every pair of a part's ``labels``: the first such part in file order; (4)
    its tenant is named in a part's ``tenants``: that part; (5) the first part listing its
    tenant's isolation class. Every workload must land in a part."""

    kind: Literal["hybrid"]
    name: Name | None = Field(default=None, description="label, e.g. regulated-in-vms")
    parts: list[HybridPart] = Field(min_length=1)

    def part_of(self, tenant: str, isolation: str) -> int | None:
        """Index of the part ``tenant`` (of class ``isolation``) goes to (None: no part)."""
        for i, part in enumerate(self.parts):
            if tenant in part.tenants:
                return i
        for i, part in enumerate(self.parts):
            if isolation in part.isolation:
                return i
        return None

    @property
    def gpu_part(self) -> int | None:
        """Index of the part taking every GPU workload (None: GPU workloads stay with
        their tenant)."""
        return next((i for i, p in enumerate(self.parts) if p.gpu_workloads), None)

    def label_part(self, labels: Mapping[str, str]) -> int | None:
        """Index of the first part whose ``labels`` selector ``labels`` match (None: none)."""
        return next((i for i, p in enumerate(self.parts) if selects(p.labels, labels)), None)

    def workload_part(
        self,
        tenant: str,
        isolation: str,
        gpus: int,
        key: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> int | None:
        """Index of the part a workload of ``tenant`` (class ``isolation``) requesting
        ``gpus`` GPUs per pod and carrying ``labels`` goes to (None: no part); ``key`` is
        the workload's ``tenant/cluster/workload``, which a part may name."""
        if key is not None:
            for i, part in enumerate(self.parts):
                if key in part.workloads:
                    return i
        if gpus > 0 and self.gpu_part is not None:
            return self.gpu_part
        by_label = self.label_part(labels) if labels else None
        if by_label is not None:
            return by_label
        return self.part_of(tenant, isolation)


Substrate = Annotated[
    BaremetalDedicated | BaremetalShared | Vm | Sandboxed | Hybrid, Field(discriminator="kind")
]
