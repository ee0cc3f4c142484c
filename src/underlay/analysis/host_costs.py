"""Monthly cost of each host: capex, power, licences, and owned hosts left idle.

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
  with nodes on hosts, the shared cluster (``baremetal-shared``, ``sandboxed``) and the
  pool of hosted control planes (counted as one cluster); a hybrid's shared clusters and
  pools part by part (each part runs its own).

**Owned hosts left idle** (``hardware.inventory`` only): every host the user owns is paid
for on every substrate, used or not. Inventory hosts a substrate leaves unopened
(:func:`idle_inventory`, per host model: owned − opened) add their capex and
``ops_per_host_month_usd`` to its cost; they are assumed **powered off** — no power draw
and no hypervisor licence (a licence follows the hosts that run the hypervisor). Their
cost goes to the tenants by their overall share (:func:`overall_shares`), like any cost
no single tenant causes. A sized fleet (no inventory) buys only the hosts it opens, so
it has no idle hosts. Without this, a substrate that packs tightly — or places nothing —
would look cheaper for hardware the user has already bought.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from underlay.defaults.catalog import Defaults
from underlay.model.scenario import Hybrid, Scenario, Vm
from underlay.placement.result import SubstratePlacement
from underlay.simulation.power import host_knots, knot_weights, watts

__all__ = [
    "HostCosts",
    "allocated_utilisation",
    "host_costs",
    "host_costs_weighted",
    "hypervisor_licence",
    "idle_costs",
    "idle_inventory",
    "licensed_cores",
    "placement_licence",
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
    licence_per_core_year: float | F64,
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
    licence_per_core_year: float | F64,
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


def placement_licence(
    scenario: Scenario, defaults: Defaults, placement: SubstratePlacement
) -> float | F64:
    """Licence per physical core and year of ``placement``'s hosts: its substrate's
    (:func:`hypervisor_licence`); a hybrid's per host, each part's hosts at its part's."""
    substrate = scenario.substrate(placement.name)
    if not isinstance(substrate, Hybrid):
        return hypervisor_licence(scenario, defaults, placement.name)
    out = np.zeros(len(placement.hosts))
    by_name = {part.name: part.substrate for part in substrate.parts}
    for part in placement.parts:
        sub = by_name[part.name]
        if isinstance(sub, Vm):
            given = sub.licence_per_core_year_usd
            price = defaults.hypervisors[sub.hypervisor].licence_per_core_year_usd
            out[part.hosts[0] : part.hosts[1]] = price if given is None else given
    return out


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
