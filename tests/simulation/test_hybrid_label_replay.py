"""The replay of a tenant split by label: each workload under its own part's rules.

Tenant shop: db (6 pods, labelled tier: back) on shared bare metal by the part's label
selector, api (12 pods) in KVM VMs, the part naming the tenant. Every pod asks 2 cores and
uses 90 % of them all the time (constant usage, under its 4-core limit), for 2 hours.
"""

from __future__ import annotations

import pytest

from factories import make_scenario, make_tenant, make_workload
from underlay.defaults.catalog import load_defaults
from underlay.pipeline import simulate


def _workload(name: str, replicas: int, **extra: object) -> dict[str, object]:
    return make_workload(
        name,
        replicas=replicas,
        cpu="2",
        memory="2Gi",
        limits={"cpu": "4"},
        usage={"model": "constant", "cpu": 0.9},
        **extra,
    )


def test_a_label_split_tenant_pays_each_part_its_cpu_tax() -> None:
    parts = [
        {"name": "s", "substrate": {"kind": "baremetal-shared"}, "labels": {"tier": "back"}},
        {"name": "v", "substrate": {"kind": "vm", "sizing": "requests"}, "tenants": ["shop"]},
    ]
    workloads = [_workload("db", 6, labels={"tier": "back"}), _workload("api", 12)]
    sc = make_scenario(
        substrates=[{"kind": "hybrid", "name": "mixed", "parts": parts}],
        tenants=[make_tenant("shop", workloads=workloads)],
        simulation={"horizon_hours": 2, "step_minutes": 15},
    )
    (result,) = simulate(sc).results
    (shop,) = result.tenants
    # db on bare metal: 6 pods × 2 cores × 0.9 × 2 h = 21.6 core-hours, no tax; api in
    # VMs: 12 × 2 × 0.9 × 2 = 43.2 core-hours of work, needing 1 / (1 − tax) as much CPU
    # under KVM's CPU overhead
    tax = load_defaults().hypervisors["kvm"].cpu_overhead_percent / 100
    assert tax > 0
    assert shop.demand_core_hours == pytest.approx(6 * 2 * 0.9 * 2 + 12 * 2 * 0.9 * 2 / (1 - tax))
    assert shop.unmet_core_hours == 0


def test_one_part_selecting_every_workload_by_label_replays_as_that_substrate() -> None:
    # Both workloads carry fleet: one; the hybrid's one part selects them by it: the
    # replay is the pure baremetal-shared one, tenant row for tenant row.
    workloads = [
        _workload("db", 6, labels={"fleet": "one", "tier": "back"}),
        _workload("api", 12, labels={"fleet": "one"}),
    ]
    part = {"name": "all", "substrate": {"kind": "baremetal-shared"}, "labels": {"fleet": "one"}}
    sc = make_scenario(
        substrates=[
            {"kind": "baremetal-shared"},
            {"kind": "hybrid", "name": "mixed", "parts": [part]},
        ],
        tenants=[make_tenant("shop", workloads=workloads)],
        simulation={"horizon_hours": 2, "step_minutes": 15},
    )
    pure, hybrid = simulate(sc).results
    assert pure.tenants == hybrid.tenants
    # 18 pods × 2 cores × 0.9 × 2 h = 64.8 core-hours, no tax on bare metal
    assert [t.demand_core_hours for t in hybrid.tenants] == pytest.approx([18 * 2 * 0.9 * 2])
