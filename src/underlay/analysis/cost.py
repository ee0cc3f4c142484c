"""Cost and energy of one substrate, per month and over the simulated horizon, per tenant.

What a host costs per month (:func:`host_costs_weighted`):

- **capex**: the host model's ``price_usd`` amortised straight-line over its
  ``lifetime_years`` (price / (lifetime × 12)); no interest, no residual value.
- **power**: the host's mean draw from its power curve (:mod:`underlay.simulation.power`:
  SPECpower-style knots, linear between them) × ``costs.hours_per_month`` × ``costs.pue``
  = facility energy (kWh), billed at ``costs.electricity_usd_per_kwh`` (all from
  ``defaults.costs``).
- **licences** (``vm`` substrates only): per physical core and year, the substrate's
  ``licence_per_core_year_usd`` or its hypervisor profile's list price, counting at least
  ``licensing.min_cores_per_cpu`` cores per socket (VMware's 16-core minimum). Cores are
  taken as spread evenly over the sockets, so a host licenses
  ``max(physical cores, minimum × sockets)`` cores.
- **ops** (optional, ``scenario.costs``): ``ops_per_host_month_usd`` for every host, and
  ``ops_per_cluster_month_usd`` for every cluster the placement runs: each tenant cluster
  with nodes on hosts, the one shared cluster (``baremetal-shared``, ``sandboxed``) and the
  pool of hosted control planes (counted as one cluster).

**Owned hosts left idle** (``hardware.inventory`` only): every host the user owns is paid
for on every substrate, used or not. Inventory hosts a substrate leaves unopened
(:func:`idle_inventory`, per host model: owned − opened) add their capex and
``ops_per_host_month_usd`` to its cost; they are assumed **powered off** — no power draw
and no hypervisor licence (a licence follows the hosts that run the hypervisor). Their
cost goes to the tenants by their overall share (:func:`overall_shares`), like any cost
no single tenant causes. A sized fleet (no inventory) buys only the hosts it opens, so
it has no idle hosts. Without this, a substrate that packs tightly — or places nothing —
would look cheaper for hardware the user has already bought.

Which utilisation drives the power curve (``SubstrateCost.power_basis``):

- ``"simulated"``: the time-mean of the interpolation weights the simulation accumulated
  per host (``SubstrateSimulation.host_power_weights``), so the mean draw is exact for
  the curve. Utilisation there is the CPU granted to tenant pods ÷ what pods can use on
  the host (its nodes' allocatable; on a hypervisor, its cores less the hypervisor's
  reservation, with the hypervisor's CPU tax inside the VMs' demand). DaemonSets and the
  kubelet are not simulated, so their own CPU use does not show.
- ``"allocated"`` (no simulation): requests placed plus kubelet reservations, DaemonSet
  requests and the hypervisor's cores, ÷ the host's cores, as if all were busy
  (:func:`allocated_utilisation`; the static comparison's figure).

**Cost of bare-metal-equivalent work** (``SubstrateCost.cost_per_baremetal_work_usd``) is
the monthly total ÷ ``work_throughput``, the work a resource does vs bare metal for what
the cost does not already hold. The hypervisor's (or sandbox's) CPU tax is counted once:
with a simulation it is in the simulated demand (a VM's pods need 1 / (1 − tax) as much
CPU: more CPU used, so more power, or demand unmet, which the decision's performance
figure counts), so it is not divided by again — ``work_throughput`` is the GPU mode's
efficiency when GPUs are allocated (the simulation does not model GPUs), else 1. Without
a simulation nothing has counted the tax, so the static CPU efficiency (1 − tax) is used
when no GPU is allocated.

Monthly figures from a simulation assume its horizon repeats (a simulated week stands for
every week of the month); horizon figures are the monthly ones × horizon hours ÷
``hours_per_month``. Without a simulation the horizon is the scenario's
``simulation.horizon_hours``.

Per tenant (:func:`tenant_host_shares`, :func:`attribute`): a host's cost and energy go to
the owner of a dedicated host; otherwise to the tenants on it by their share of what is
placed there (CPU and memory requests as fractions of the host, summed; on ``vm``, the
tenants' VMs' cores); hosts with nothing of any tenant (shared or hosted control planes)
by each tenant's share of all that. A tenant's own clusters' ops are its own; the shared
cluster's and the hosted pool's by that same overall share. So tenants' figures add up to
the substrate's. **Cost per SLA-met pod-hour** = the tenant's cost over the horizon ÷
(pods placed × horizon hours × the share of steps its SLA was met); ``None`` without a
simulation or when no pod-hour met the SLA.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from underlay.analysis.capacity_results import SubstrateCapacity
from underlay.defaults.catalog import Defaults
from underlay.model.scenario import Scenario, Vm
from underlay.placement.result import SubstratePlacement
from underlay.simulation.power import (
    KNOTS,
    UTILISATION_AT_KNOTS,
    host_knots,
    knot_weights,
    watts,
)
from underlay.simulation.results import SubstrateSimulation

__all__ = [
    "CostParts",
    "HostCosts",
    "SubstrateCost",
    "TenantCost",
    "allocated_utilisation",
    "analyse_cost",
    "attribute",
    "host_costs",
    "host_costs_weighted",
    "hypervisor_licence",
    "idle_costs",
    "idle_inventory",
    "licensed_cores",
    "overall_shares",
    "tenant_host_shares",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class HostCosts:
    """Per-host monthly costs (USD), mean draw (W) and facility energy (kWh a month)."""

    capex: F64
    power: F64
    licences: F64
    watts: F64
    energy_kwh: F64  # facility energy: draw × hours a month × PUE
    licensed_cores: F64  # what a per-core licence counts (see licensed_cores)

    @property
    def total(self) -> F64:
        """Sum of capex, power and licences, per host."""
        out: F64 = self.capex + self.power + self.licences
        return out


def licensed_cores(scenario: Scenario, defaults: Defaults, host_model: I64) -> F64:
    """Cores a per-core licence counts on each host: at least the minimum per CPU socket."""
    minimum = defaults.licensing.min_cores_per_cpu
    table = np.array(
        [max(m.physical_cores, minimum * m.sockets) for m in scenario.hardware.host_models],
        np.float64,
    )
    out: F64 = table[np.asarray(host_model, np.int64)]
    return out


def host_costs_weighted(
    scenario: Scenario,
    defaults: Defaults,
    host_model: I64,
    power_weights: F64,
    licence_per_core_year: float,
) -> HostCosts:
    """Monthly costs of hosts whose draw is ``power_weights`` (hosts × 11) on their curves."""
    models = scenario.hardware.host_models
    host_model = np.asarray(host_model, np.int64)
    price = np.array([m.price_usd for m in models], np.float64)[host_model]
    life = np.array([m.lifetime_years for m in models], np.float64)[host_model]
    c = defaults.costs
    draw = watts(host_knots(scenario, host_model), power_weights)
    energy = draw * c.hours_per_month / 1000.0 * c.pue
    cores = licensed_cores(scenario, defaults, host_model)
    return HostCosts(
        capex=price / (life * 12.0),
        power=energy * c.electricity_usd_per_kwh,
        licences=cores * licence_per_core_year / 12.0,
        watts=draw,
        energy_kwh=energy,
        licensed_cores=cores,
    )


def host_costs(
    scenario: Scenario,
    defaults: Defaults,
    host_model: I64,
    utilisation: F64,
    licence_per_core_year: float,
) -> HostCosts:
    """Monthly costs of each host of ``host_model`` codes at CPU ``utilisation`` (0–1)."""
    return host_costs_weighted(
        scenario, defaults, host_model, knot_weights(utilisation), licence_per_core_year
    )


def hypervisor_licence(scenario: Scenario, defaults: Defaults, label: str) -> float:
    """Licence per physical core and year on substrate ``label`` (0 unless it is a ``vm``)."""
    substrate = scenario.substrate(label)
    if not isinstance(substrate, Vm):
        return 0.0
    given = substrate.licence_per_core_year_usd
    return (
        defaults.hypervisors[substrate.hypervisor].licence_per_core_year_usd
        if given is None
        else given
    )


def idle_inventory(scenario: Scenario, placement: SubstratePlacement) -> I64:
    """Per host model (scenario order), inventory hosts the placement left unopened; all 0
    when underlay sizes the fleet."""
    models = scenario.hardware.host_models
    owned = np.zeros(len(models), np.int64)
    if scenario.hardware.inventory is None:
        return owned
    names = [m.name for m in models]
    for entry in scenario.hardware.inventory:
        owned[names.index(entry.model)] += entry.count
    opened = np.bincount(np.array(placement.hosts.model, np.int64), minlength=len(models))
    out: I64 = np.maximum(owned - opened, 0)
    return out


def idle_costs(scenario: Scenario, idle: I64) -> tuple[float, float]:
    """(capex, host operations) a month of ``idle`` hosts per model: paid for, powered off
    (no power, no licence)."""
    models = scenario.hardware.host_models
    price = np.array([m.price_usd / (m.lifetime_years * 12.0) for m in models], np.float64)
    capex = float(price @ idle)
    ops = float(idle.sum()) * scenario.costs.ops_per_host_month_usd
    return capex, ops


def allocated_utilisation(scenario: Scenario, placement: SubstratePlacement) -> F64:
    """Per host, the CPU placement allocated (requests, reservations, DaemonSets, the
    hypervisor's cores; a VM counts its cores ÷ the CPU overcommit) ÷ the host's cores."""
    p, nodes = placement, placement.nodes
    busy = np.zeros(len(p.hosts))
    on_host = nodes.host >= 0
    if len(nodes):
        node_busy = (nodes.used_cpu + nodes.reserved_cpu + nodes.system_cpu).astype(np.float64)
        substrate = scenario.substrate(p.name)
        if isinstance(substrate, Vm):
            node_busy = np.minimum(node_busy, nodes.size_cpu) / substrate.cpu_overcommit
        np.add.at(busy, nodes.host[on_host], node_busy[on_host])
    busy += p.host_hypervisor_cpu
    out: F64 = np.divide(busy, p.host_cpu, out=np.zeros(len(busy)), where=p.host_cpu > 0)
    return out


def _cluster_tenant(placement: SubstratePlacement) -> I64:
    """Tenant of each cluster index, with -1 for index -1 (the shared cluster)."""
    return np.array([c.tenant_index for c in placement.clusters] + [-1], np.int64)


def tenant_host_shares(scenario: Scenario, placement: SubstratePlacement) -> F64:
    """(tenants × hosts) weights of each tenant on each host, for :func:`attribute`.

    A dedicated host (one with an owner cluster) is its owner's tenant's alone (weight 1).
    Elsewhere a tenant weighs, on bare metal, the sum over its pods there of CPU and
    memory requests as fractions of the host; on ``vm``, its VMs' cores ÷ the CPU
    overcommit. Hosted control-plane VMs and nodes weigh nothing.
    """
    p, nodes = placement, placement.nodes
    n_t, n_hosts = len(scenario.tenants), len(p.hosts)
    share = np.zeros((n_t, n_hosts))
    cluster_tenant = _cluster_tenant(p)
    substrate = scenario.substrate(p.name)
    if isinstance(substrate, Vm):
        cores = nodes.size_cpu / 1000 / substrate.cpu_overcommit
        mine = (nodes.host >= 0) & (nodes.cluster >= 0)
        np.add.at(share, (cluster_tenant[nodes.cluster[mine]], nodes.host[mine]), cores[mine])
        return share
    t_idx, n_idx, cpu, mem = [], [], [], []
    for ref, pn, pc in zip(p.workloads, p.pod_nodes, p.pod_counts, strict=True):
        if len(pn):
            t_idx.append(np.full(len(pn), ref.tenant_index))
            n_idx.append(pn)
            cpu.append(pc * ref.workload.requests.cpu_milli)
            mem.append(pc * ref.workload.requests.memory_mib)
    if t_idx:
        hosts = nodes.host[np.concatenate(n_idx)]
        weight = np.concatenate(cpu) / np.maximum(p.host_cpu[hosts], 1)
        weight += np.concatenate(mem) / np.maximum(p.host_mem[hosts], 1)
        np.add.at(share, (np.concatenate(t_idx), hosts), weight)
    owner = np.array(p.hosts.owner, np.int64)
    owned = np.flatnonzero(owner >= 0)
    share[:, owned] = 0.0
    share[cluster_tenant[owner[owned]], owned] = 1.0
    return share


def overall_shares(shares: F64) -> F64:
    """Each tenant's share of all weights (equal shares when there are none)."""
    per_tenant = shares.sum(axis=1)
    total = per_tenant.sum()
    if total > 0:
        out: F64 = per_tenant / total
        return out
    return np.full(len(per_tenant), 1.0 / max(len(per_tenant), 1))


def attribute(shares: F64, per_host: F64) -> F64:
    """Per-host values (hosts, or hosts × k) split among tenants → (tenants[, k]).

    Each host's value goes to the tenants by their weights on it (``shares``, tenants ×
    hosts, from :func:`tenant_host_shares`); a host nobody weighs on is split by
    :func:`overall_shares`. Columns add up to the hosts' totals.
    """
    col = shares.sum(axis=0)
    direct = (shares / np.where(col > 0, col, 1.0)) @ per_host
    rest = np.asarray(per_host)[col == 0].sum(axis=0)
    out: F64 = direct + np.multiply.outer(overall_shares(shares), rest)
    return out


@dataclass(frozen=True)
class CostParts:
    """Cost by part (USD) over some period."""

    capex: float
    power: float
    licences: float
    ops_hosts: float
    ops_clusters: float

    @property
    def total(self) -> float:
        """Sum of the parts."""
        return self.capex + self.power + self.licences + self.ops_hosts + self.ops_clusters

    def scaled(self, factor: float) -> CostParts:
        """Every part × ``factor`` (e.g. a month → the horizon)."""
        return CostParts(
            self.capex * factor,
            self.power * factor,
            self.licences * factor,
            self.ops_hosts * factor,
            self.ops_clusters * factor,
        )


@dataclass(frozen=True)
class TenantCost:
    """One tenant's share of a substrate's cost and energy."""

    name: str
    per_month: CostParts
    horizon_usd: float
    watts: float  # mean IT draw attributed to the tenant
    energy_kwh_per_month: float  # facility energy (× PUE)
    energy_kwh_horizon: float
    pods_placed: int
    sla_met_pod_hours: float | None  # pods placed × horizon hours × SLA attainment share
    cost_per_sla_met_pod_hour_usd: float | None


@dataclass(frozen=True)
class SubstrateCost:
    """One substrate's cost and energy, per month and over the horizon, and per tenant."""

    kind: str
    name: str
    power_basis: Literal["simulated", "allocated"]
    hours_per_month: float
    horizon_hours: float
    hosts: int  # opened
    idle_hosts: int  # inventory hosts left unopened: capex and host ops paid, powered off
    clusters_operated: int  # tenant clusters + shared cluster + hosted control-plane pool
    licensed_cores: int  # cores a paid hypervisor licence counts (0 without one)
    per_month: CostParts
    horizon: CostParts
    watts: float  # mean IT draw of all hosts
    energy_kwh_per_month: float  # facility energy (× PUE)
    energy_kwh_horizon: float
    utilisation_mean: float  # mean over hosts of the utilisation the power curve saw
    host_watts: F64  # mean IT draw per host
    host_utilisation: F64  # mean utilisation (clipped to 0–1) per host behind host_watts
    # work per resource vs bare metal not counted elsewhere: the GPU's when GPUs are
    # allocated; else 1 with a simulation (the CPU tax is in its demand), 1 − tax without
    work_throughput: float
    tenants: list[TenantCost]
    notes: list[str] = field(default_factory=list)

    @property
    def cost_per_baremetal_work_usd(self) -> float:
        """Monthly cost per bare-metal-equivalent of work: total ÷ ``work_throughput`` (a VM
        at 94 % GPU throughput needs 1 / 0.94 of the money for the same training). The CPU
        tax is not divided by when there was a simulation: it is in the simulated demand
        already (module docstring)."""
        return self.per_month.total / self.work_throughput if self.work_throughput else 0.0

    @property
    def cost_per_month_usd(self) -> float:
        """All parts, per month."""
        return self.per_month.total


def _power_weights(
    scenario: Scenario,
    placement: SubstratePlacement,
    simulation: SubstrateSimulation | None,
    notes: list[str],
) -> tuple[F64, Literal["simulated", "allocated"]]:
    n_hosts = len(placement.hosts)
    if simulation is not None:
        w = np.asarray(simulation.host_power_weights, np.float64)
        if w.shape == (n_hosts, KNOTS):
            return w, "simulated"
        if w.size:
            raise ValueError(
                f"simulation {simulation.name!r}: host_power_weights has shape {w.shape}, "
                f"expected ({n_hosts}, {KNOTS}) for the placement's hosts"
            )
        notes.append("the simulation kept no host power weights: power at allocated utilisation")
    return knot_weights(allocated_utilisation(scenario, placement)), "allocated"


def _work_throughput(static: SubstrateCapacity, simulation: SubstrateSimulation | None) -> float:
    """Work per resource vs bare metal that the cost does not hold already (see the module
    docstring: the CPU tax is counted once, in the simulation when there is one)."""
    if static.allocated.gpu_milli > 0:
        return static.gpu_efficiency  # GPUs are not simulated
    return 1.0 if simulation is not None else static.cpu_efficiency


def _check(
    scenario: Scenario,
    placement: SubstratePlacement,
    static: SubstrateCapacity,
    simulation: SubstrateSimulation | None,
) -> None:
    names = [t.name for t in scenario.tenants]
    results = [("static", static.name, [t.name for t in static.tenants])]
    if simulation is not None:
        results.append(("simulation", simulation.name, [t.name for t in simulation.tenants]))
    for what, other, tenants in results:
        if other != placement.name or tenants != names:
            raise ValueError(
                f"analyse_cost: the {what} result is of substrate {other!r} with tenants "
                f"{tenants}; the placement is of {placement.name!r} with tenants {names}"
            )


def _tenant_costs(
    scenario: Scenario, static: SubstrateCapacity, simulation: SubstrateSimulation | None,
    t_parts: F64, t_clusters: F64, horizon_h: float, to_horizon: float,
) -> list[TenantCost]:  # fmt: skip
    """One row per tenant: its attributed parts (capex, power, licences, host operations,
    draw, energy) and cluster operations; per SLA-met pod-hour when simulated."""
    tenants = []
    for t, ten in enumerate(scenario.tenants):
        capex, power, licences, ops_h, draw, energy = (float(x) for x in t_parts[t])
        month = CostParts(capex, power, licences, ops_h, float(t_clusters[t]))
        placed = static.tenants[t].pods_placed
        met = per_met = None
        if simulation is not None:
            met = float(placed * horizon_h * simulation.tenants[t].sla_attainment_percent / 100)
            per_met = month.total * to_horizon / met if met > 0 else None
        tenants.append(
            TenantCost(
                name=ten.name,
                per_month=month,
                horizon_usd=month.total * to_horizon,
                watts=draw,
                energy_kwh_per_month=energy,
                energy_kwh_horizon=energy * to_horizon,
                pods_placed=placed,
                sla_met_pod_hours=met,
                cost_per_sla_met_pod_hour_usd=per_met,
            )
        )
    return tenants


def analyse_cost(
    scenario: Scenario,
    defaults: Defaults,
    placement: SubstratePlacement,
    static: SubstrateCapacity,
    simulation: SubstrateSimulation | None = None,
) -> SubstrateCost:
    """Cost and energy of ``placement`` (see the module docstring for the model)."""
    _check(scenario, placement, static, simulation)
    p, n_t = placement, len(scenario.tenants)
    c, ops = defaults.costs, scenario.costs
    notes: list[str] = []
    weights, basis = _power_weights(scenario, p, simulation, notes)
    host_model = np.array(p.hosts.model, np.int64)
    licence = hypervisor_licence(scenario, defaults, p.name)
    costs = host_costs_weighted(scenario, defaults, host_model, weights, licence)
    ops_hosts = np.full(len(p.hosts), ops.ops_per_host_month_usd)

    # Clusters the placement runs: tenant clusters (≥ 0), shared cluster and hosted pool (< 0).
    operated = np.unique(p.nodes.cluster[p.nodes.host >= 0])
    own = operated[operated >= 0]
    platform = int((operated < 0).sum())
    shares = tenant_host_shares(scenario, p)
    overall = overall_shares(shares)
    per_cluster = ops.ops_per_cluster_month_usd
    t_clusters = (
        np.bincount(_cluster_tenant(p)[own], minlength=n_t) * per_cluster
        + overall * platform * per_cluster
    )
    per_host = np.stack(
        [costs.capex, costs.power, costs.licences, ops_hosts, costs.watts, costs.energy_kwh],
        axis=1,
    )
    t_parts = attribute(shares, per_host)
    idle = idle_inventory(scenario, p)
    idle_capex, idle_ops = idle_costs(scenario, idle)
    t_parts[:, 0] += overall * idle_capex
    t_parts[:, 3] += overall * idle_ops

    if simulation is not None:
        horizon_h = simulation.steps * simulation.step_minutes / 60.0
    else:
        horizon_h = scenario.simulation.steps * scenario.simulation.step_minutes / 60.0
    to_horizon = horizon_h / c.hours_per_month
    tenants = _tenant_costs(
        scenario, static, simulation, t_parts, t_clusters, horizon_h, to_horizon
    )
    month = CostParts(
        float(costs.capex.sum()) + idle_capex,
        float(costs.power.sum()),
        float(costs.licences.sum()),
        float(ops_hosts.sum()) + idle_ops,
        float((len(own) + platform) * per_cluster),
    )
    host_util: F64 = weights @ UTILISATION_AT_KNOTS
    energy = float(costs.energy_kwh.sum())
    return SubstrateCost(
        kind=p.kind,
        name=p.name,
        power_basis=basis,
        hours_per_month=c.hours_per_month,
        horizon_hours=horizon_h,
        hosts=len(p.hosts),
        idle_hosts=int(idle.sum()),
        clusters_operated=len(own) + platform,
        licensed_cores=int(costs.licensed_cores.sum()) if licence > 0 else 0,
        per_month=month,
        horizon=month.scaled(to_horizon),
        watts=float(costs.watts.sum()),
        energy_kwh_per_month=energy,
        energy_kwh_horizon=energy * to_horizon,
        utilisation_mean=float(host_util.mean()) if len(host_util) else 0.0,
        host_watts=costs.watts,
        host_utilisation=host_util,
        work_throughput=_work_throughput(static, simulation),
        tenants=tenants,
        notes=notes,
    )
