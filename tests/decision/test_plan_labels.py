"""recommend's plan on a hybrid column that selects workloads by label: the plan's hybrid
keeps that column's split (the labelled workloads in the column's labelled part)."""

from __future__ import annotations

from factories import make_scenario, make_tenant, make_workload
from underlay.decision.plan_check import plan_hybrid, plan_label


def test_a_tenant_on_a_label_hybrid_column_keeps_its_split() -> None:
    db_on_metal = {
        "kind": "hybrid",
        "name": "dom",
        "parts": [
            {
                "name": "metal",
                "substrate": {"kind": "baremetal-dedicated"},
                "labels": {"tier": "db"},
            },
            {"name": "vms", "substrate": {"kind": "vm"}, "tenants": ["shop"]},
        ],
    }
    db = make_workload("db", replicas=3, labels={"tier": "db"})
    sc = make_scenario(
        substrates=[{"kind": "vm"}, db_on_metal],
        tenants=[make_tenant("shop", workloads=[make_workload("api"), db])],
    )
    h = plan_hybrid(sc, {"shop": "dom"}, plan_label(sc))
    # db (tier: db) in the column's metal part, api in its vms part; the plan names them
    assert [(p.name, p.substrate.kind, p.tenants, p.workloads) for p in h.parts] == [
        ("dom-metal", "baremetal-dedicated", [], ["shop/shop/db"]),
        ("dom-vms", "vm", [], ["shop/shop/api"]),
    ]
    sc.with_hybrid(h)  # a valid hybrid of that scenario
