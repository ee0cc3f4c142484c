"""What the capacity analysis found, per substrate and per tenant (plain data).

:func:`underlay.analysis.capacity.analyse_capacity` fills these; the cost analysis and the
reports read them. They live apart from the analysis so that the cost module, which the
capacity analysis uses for prices, can name them without importing it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ResourceTotals", "SubstrateCapacity", "TenantCapacity", "UnplacedRow"]


@dataclass(frozen=True)
class ResourceTotals:
    """CPU (millicores), memory (MiB) and GPU (milli-GPUs) totals."""

    cpu_milli: float = 0.0
    memory_mib: float = 0.0
    gpu_milli: float = 0.0

    def __add__(self, other: ResourceTotals) -> ResourceTotals:
        return ResourceTotals(
            self.cpu_milli + other.cpu_milli,
            self.memory_mib + other.memory_mib,
            self.gpu_milli + other.gpu_milli,
        )

    def share_of(self, whole: ResourceTotals) -> ResourceTotals:
        """Each resource as a fraction of ``whole`` (0 where ``whole`` has none)."""

        def frac(a: float, b: float) -> float:
            return a / b if b else 0.0

        return ResourceTotals(
            frac(self.cpu_milli, whole.cpu_milli),
            frac(self.memory_mib, whole.memory_mib),
            frac(self.gpu_milli, whole.gpu_milli),
        )


@dataclass(frozen=True)
class UnplacedRow:
    """Pods of one workload that could not be placed, with the reason as data."""

    tenant: str
    cluster: str
    workload: str
    pods: int
    resource: str
    requested: float
    free: float
    capacity: float
    detail: str
    plugin: str = ""  # the filter plugin that refused ("" when none decided)
    status: str = "Unschedulable"  # or "UnschedulableAndUnresolvable": more hosts won't help


@dataclass(frozen=True)
class TenantCapacity:
    """One tenant on one substrate."""

    name: str
    isolation: str
    wanted_version: str
    running_version: str
    pods: int
    pods_placed: int
    allocated: ResourceTotals
    nodes: int
    hosts: int
    control_plane_machines: int
    control_plane: str  # how its clusters' control planes ran, e.g. "stacked on 3 workers ..."
    shares_kernel_with: list[str]
    shares_hosts_with: list[str]
    cost_per_month_usd: float
    # its workloads' throughput vs bare metal, on their own substrates (a hybrid's: their
    # parts'), weighted as the substrate's figures are
    gpu_efficiency: float = 1.0
    cpu_efficiency: float = 1.0


@dataclass(frozen=True)
class SubstrateCapacity:
    """One substrate, whole scenario."""

    kind: str
    name: str
    sizing: bool
    hosts: int
    hosts_idle: int  # inventory hosts left unopened (paid for, powered off; 0 when sized)
    hosts_worker: int
    hosts_control_plane: int
    hosts_lower_bound: int
    nodes: int
    vms: int
    control_plane_machines: int
    control_plane_modes: dict[str, int]  # mode → clusters (the shared cluster counts once)
    capacity: ResourceTotals
    allocated: ResourceTotals
    burst_room: ResourceTotals  # room VMs keep above their pods' requests (sizing: limits / peak)
    overhead: dict[str, ResourceTotals]
    stranded: dict[str, ResourceTotals]
    versions_per_host_max: int
    versions_per_host_mean: float
    tenants_per_kernel_max: int
    tenants_per_host_max: int
    cost_capex: float
    cost_power: float
    cost_licences: float
    watts: float
    pods: int
    pods_placed: int
    gpu_efficiency: float
    cpu_efficiency: float
    unplaced: list[UnplacedRow]
    tenants: list[TenantCapacity]
    notes: list[str] = field(default_factory=list)

    @property
    def packing_ratio(self) -> float:
        """Hosts used ÷ LP lower bound (1.0 = provably optimal)."""
        return self.hosts / self.hosts_lower_bound if self.hosts_lower_bound else 1.0

    @property
    def cost_per_month_usd(self) -> float:
        """Capex + power + licences per month."""
        return self.cost_capex + self.cost_power + self.cost_licences
