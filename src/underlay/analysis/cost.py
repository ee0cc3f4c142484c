"""Monthly cost of a placement: amortised capex, power at allocated load, licences.

Power is linear in CPU utilisation between the host model's idle and peak watts (the
linear model of CloudSim's PowerModelLinear; SPECpower-style curves arrive with the time
simulation). Energy is billed at ``costs.electricity_usd_per_kwh`` × ``costs.pue``.
Hypervisor licences are per physical core and year, at least ``licensing.min_cores_per_cpu``
cores per socket (VMware's 16-core minimum).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from underlay.defaults.catalog import Defaults
from underlay.model.scenario import Scenario

__all__ = ["HostCosts", "host_costs"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class HostCosts:
    """Per-host monthly costs (USD) and power draw (W)."""

    capex: F64
    power: F64
    licences: F64
    watts: F64

    @property
    def total(self) -> F64:
        """Sum of the three, per host."""
        out: F64 = self.capex + self.power + self.licences
        return out


def host_costs(
    scenario: Scenario,
    defaults: Defaults,
    host_model: I64,
    utilisation: F64,
    licence_per_core_year: float,
) -> HostCosts:
    """Monthly costs of each host of ``host_model`` codes at CPU ``utilisation`` (0–1)."""
    models = scenario.hardware.host_models
    price = np.array([models[m].price_usd for m in host_model], np.float64)
    life = np.array([models[m].lifetime_years for m in host_model], np.float64)
    idle = np.array([models[m].power.idle_watts for m in host_model], np.float64)
    peak = np.array([models[m].power.peak_watts for m in host_model], np.float64)
    c = defaults.costs
    watts = idle + (peak - idle) * np.clip(utilisation, 0.0, 1.0)
    power = watts * c.hours_per_month / 1000.0 * c.electricity_usd_per_kwh * c.pue
    licensed = np.array(
        [
            max(models[m].physical_cores // models[m].sockets, defaults.licensing.min_cores_per_cpu)
            * models[m].sockets
            for m in host_model
        ],
        np.float64,
    )
    licences = licensed * licence_per_core_year / 12.0
    return HostCosts(capex=price / (life * 12.0), power=power, licences=licences, watts=watts)
