"""The replay of a hybrid: each tenant's pods under its own part's rules.

web (12 pods) on shared bare metal, bank (6 pods) in KVM VMs; every pod asks 2 cores and
uses 90 % of them all the time (constant usage, under its 4-core limit), for 2 hours.
"""

from __future__ import annotations

import pytest

from factories import make_scenario, make_tenant, make_workload
from underlay.defaults.catalog import load_defaults
from underlay.pipeline import simulate


def _workload(name: str, replicas: int) -> dict[str, object]:
    return make_workload(
        name,
        replicas=replicas,
        cpu="2",
        memory="2Gi",
        limits={"cpu": "4"},
        usage={"model": "constant", "cpu": 0.9},
    )


def test_each_part_pays_its_own_cpu_tax() -> None:
    sc = make_scenario(
        substrates=[
            {
                "kind": "hybrid",
                "name": "mixed",
                "parts": [
                    {"name": "s", "substrate": {"kind": "baremetal-shared"}, "tenants": ["web"]},
                    {
                        "name": "v",
                        "substrate": {"kind": "vm", "sizing": "requests"},
                        "isolation": ["regulated"],
                    },
                ],
            }
        ],
        tenants=[
            make_tenant("web", workloads=[_workload("api", 12)]),
            make_tenant("bank", isolation="regulated", workloads=[_workload("ledger", 6)]),
        ],
        simulation={"horizon_hours": 2, "step_minutes": 15},
    )
    (result,) = simulate(sc).results
    rows = {t.name: t for t in result.tenants}
    # web on bare metal: 12 pods × 2 cores × 0.9 × 2 h = 43.2 core-hours, no tax
    assert rows["web"].demand_core_hours == pytest.approx(12 * 2 * 0.9 * 2)
    # bank in VMs: 6 × 2 × 0.9 × 2 = 21.6 core-hours of work, which needs 1 / (1 − tax)
    # as much CPU under KVM's CPU overhead
    tax = load_defaults().hypervisors["kvm"].cpu_overhead_percent / 100
    assert tax > 0
    assert rows["bank"].demand_core_hours == pytest.approx(6 * 2 * 0.9 * 2 / (1 - tax))
    assert rows["web"].unmet_core_hours == rows["bank"].unmet_core_hours == 0
