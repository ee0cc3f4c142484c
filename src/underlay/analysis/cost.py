"""Cost and energy of one substrate, per month and over the simulated horizon, per tenant.

What a host costs per month (capex, power, licences, host operations) and what owned
hosts left idle cost are in :mod:`underlay.analysis.host_costs`; how a substrate's cost
is split among its tenants is in :mod:`underlay.analysis.tenant_shares`. Both are
re-exported here.

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

Per tenant, the **cost per SLA-met pod-hour** is the tenant's cost over the horizon ÷
(pods placed × horizon hours × the share of steps its SLA was met); ``None`` without a
simulation or when no pod-hour met the SLA.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from underlay.analysis.capacity_results import SubstrateCapacity
from underlay.analysis.host_costs import (
    HostCosts,
    allocated_utilisation,
    host_costs,
    host_costs_weighted,
    hypervisor_licence,
    idle_costs,
    idle_inventory,
    licensed_cores,
    placement_licence,
)
from underlay.analysis.tenant_shares import (
    attribute,
    cluster_tenants,
    host_parts,
    overall_shares,
    part_shares,
    tenant_host_shares,
)
from underlay.defaults.catalog import Defaults
from underlay.model.scenario import Scenario
from underlay.placement.result import SubstratePlacement
from underlay.simulation.power import KNOTS, UTILISATION_AT_KNOTS, knot_weights
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
    "host_parts",
    "hypervisor_licence",
    "idle_costs",
    "idle_inventory",
    "licensed_cores",
    "overall_shares",
    "placement_licence",
    "tenant_host_shares",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


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
    scenario: Scenario,
    static: SubstrateCapacity,
    simulation: SubstrateSimulation | None,
    t_parts: F64,
    t_clusters: F64,
    horizon_h: float,
    to_horizon: float,
) -> list[TenantCost]:
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


def _platform_shares(
    p: SubstratePlacement, shares: F64, parts: I64 | None, overall: F64
) -> tuple[F64, int]:
    """The platform clusters operated (the shared cluster, the hosted control-plane pool)
    and, per tenant, its share of them: each split by the tenants of the part running it
    (a hybrid's parts each run their own)."""
    on = p.nodes.host >= 0
    if parts is None:
        count = len(np.unique(p.nodes.cluster[on & (p.nodes.cluster < 0)]))
        return overall * count, count
    out, total = np.zeros(len(overall)), 0
    for k, part in enumerate(p.parts):
        rows = slice(*part.nodes)
        clusters = p.nodes.cluster[rows][on[rows]]
        count = len(np.unique(clusters[clusters < 0]))
        out += part_shares(shares, parts, k) * count
        total += count
    return out, total


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
    licence = placement_licence(scenario, defaults, p)
    costs = host_costs_weighted(scenario, defaults, host_model, weights, licence)
    ops_hosts = np.full(len(p.hosts), ops.ops_per_host_month_usd)

    # Clusters the placement runs: tenant clusters (≥ 0), shared cluster and hosted pool (< 0).
    operated = np.unique(p.nodes.cluster[p.nodes.host >= 0])
    own = operated[operated >= 0]
    shares = tenant_host_shares(scenario, p)
    parts = host_parts(p)
    overall = overall_shares(shares, parts)
    per_cluster = ops.ops_per_cluster_month_usd
    t_platform, platform = _platform_shares(p, shares, parts, overall)
    t_clusters = (
        np.bincount(cluster_tenants(p)[own], minlength=n_t) * per_cluster + t_platform * per_cluster
    )
    per_host = np.stack(
        [costs.capex, costs.power, costs.licences, ops_hosts, costs.watts, costs.energy_kwh],
        axis=1,
    )
    t_parts = attribute(shares, per_host, parts)
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
        # cores under a paid licence (a hybrid: its vm parts' hosts only)
        licensed_cores=int((costs.licensed_cores * (np.asarray(licence) > 0)).sum()),
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
