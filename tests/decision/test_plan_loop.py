"""``recommend`` closing the loop: the plan written as a hybrid, placed and replayed as one
fleet, predicted vs measured, and re-solved with the measured figures.

The two-tenant case: ``web`` (6 pods of 2 cores) may run on the shared bare-metal cluster
or in VMs; ``bank`` (40 pods of 2 cores, regulated) only in VMs. With every tenant on the
shared cluster, web pays its share of that cluster's hosts; alone there (the plan), it
pays the whole cluster, which costs more than its VMs next to bank's, so the measured
figures move it, and the plan with both in VMs is the pure vm substrate: stable.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from decision_factories import make_evidence
from factories import make_host_model, make_scenario, make_tenant, make_workload
from underlay.decision.decide import decide
from underlay.decision.evidence import gather
from underlay.decision.plan_check import column, plan_hybrid, plan_label, with_measured
from underlay.decision.results import PlanRound, PlanTenant
from underlay.model.scenario import Hybrid, Scenario
from underlay.pipeline import analyse, compare, simulate
from underlay.plan_loop import measure_plan


def _two(allowed: dict[str, list[str]] | None = None) -> Scenario:
    return make_scenario(
        hardware={"host_models": [make_host_model("std")]},
        substrates=[{"kind": "baremetal-shared"}, {"kind": "vm", "sizing": "requests"}],
        constraints={"allowed": allowed or {"bank": ["vm"]}},
        simulation={"horizon_hours": 4, "step_minutes": 60},
        failures={"trials": 50},
        tenants=[
            make_tenant("web", workloads=[make_workload("api", replicas=6, cpu="2", memory="4Gi")]),
            make_tenant(
                "bank",
                isolation="regulated",
                workloads=[make_workload("ledger", replicas=40, cpu="2", memory="4Gi")],
            ),
        ],
    )


def _run(sc: Scenario) -> tuple[Any, ...]:
    c = compare(sc)
    s = simulate(sc, comparison=c)
    a = analyse(c, s)
    return c, s, a, decide(c, s, a, require_plan=True)


# ----------------------------------------------------------------- the plan as a hybrid


def test_a_per_tenant_plan_is_one_part_per_substrate_in_file_order() -> None:
    sc = _two()
    h = plan_hybrid(sc, {"web": "baremetal-shared", "bank": "vm"}, "plan")
    assert isinstance(h, Hybrid) and h.name == "plan"
    assert [(p.name, p.substrate.kind, p.tenants, p.workloads) for p in h.parts] == [
        ("baremetal-shared", "baremetal-shared", ["web"], []),
        ("vm", "vm", ["bank"], []),
    ]
    assert h.parts[1].substrate == sc.substrates[1]  # the substrate as the file gives it


def test_parts_holding_gpu_workloads_come_first() -> None:
    # with an inventory the parts draw hosts in file order: the GPU part takes them first
    train = make_workload("train", replicas=1, cpu="8", memory="32Gi", gpu={"count": 1})
    gpu = make_host_model("g", gpus={"model": "A100-80GB", "count": 8})
    sc = make_scenario(
        hardware={"host_models": [make_host_model("std"), gpu]},
        substrates=[{"kind": "baremetal-shared"}, {"kind": "baremetal-dedicated"}],
        tenants=[make_tenant("web"), make_tenant("ml", workloads=[train])],
    )
    h = plan_hybrid(sc, {"web": "baremetal-shared", "ml": "baremetal-dedicated"}, "plan")
    assert [p.name for p in h.parts] == ["baremetal-dedicated", "baremetal-shared"]


def test_a_per_workload_plan_names_the_workloads_of_a_split_tenant() -> None:
    two = [make_workload("a"), make_workload("b")]
    sc = make_scenario(
        substrates=[{"kind": "baremetal-dedicated"}, {"kind": "vm"}],
        constraints={"assign": "workload"},
        tenants=[make_tenant("t", workloads=two), make_tenant("u")],
    )
    assignment = {"t/t/a": "vm", "t/t/b": "baremetal-dedicated", "u/u/w": "vm"}
    h = plan_hybrid(sc, assignment, "plan")
    assert [(p.name, p.tenants, p.workloads) for p in h.parts] == [
        ("baremetal-dedicated", [], ["t/t/b"]),
        ("vm", ["u"], ["t/t/a"]),
    ]
    sc.with_hybrid(h)  # a valid hybrid of that scenario


def test_a_tenant_on_a_hybrid_column_takes_that_hybrids_parts() -> None:
    gpu_on_metal = {
        "kind": "hybrid",
        "name": "gom",
        "parts": [
            {"name": "metal", "substrate": {"kind": "baremetal-dedicated"}, "gpu_workloads": True},
            {"name": "vms", "substrate": {"kind": "vm"}, "tenants": ["ml"]},
        ],
    }
    train = make_workload("train", replicas=1, cpu="8", memory="32Gi", gpu={"count": 1})
    gpu = make_host_model("g", gpus={"model": "A100-80GB", "count": 8})
    sc = make_scenario(
        hardware={"host_models": [make_host_model("std"), gpu]},
        substrates=[{"kind": "vm"}, gpu_on_metal],
        tenants=[make_tenant("ml", workloads=[train, make_workload("api")])],
    )
    h = plan_hybrid(sc, {"ml": "gom"}, plan_label(sc))
    assert [(p.name, p.substrate.kind, p.tenants, p.workloads) for p in h.parts] == [
        ("gom-metal", "baremetal-dedicated", [], ["ml/ml/train"]),
        ("gom-vms", "vm", [], ["ml/ml/api"]),
    ]


def test_the_label_is_one_the_scenario_does_not_use() -> None:
    sc = make_scenario(substrates=[{"kind": "vm", "name": "plan"}, {"kind": "vm", "name": "v"}])
    assert plan_label(sc) == "plan-2"


# ----------------------------------------------------------------- the measured figures


def _tenant(name: str, where: str, cost: float) -> PlanTenant:
    return PlanTenant(name, where, cost, None, 1.0, None, 100.0, None, None)


def test_measured_figures_replace_the_predicted_ones_where_the_plan_put_them() -> None:
    ev = make_evidence(
        ["a", "b"],
        ["baremetal-shared", "vm"],
        cost=[[10.0, 20.0], [30.0, 40.0]],
        sla_probability=[[0.9, 0.9], [0.9, 0.9]],
    )
    measured = make_evidence(
        ["a", "b"],
        ["baremetal-shared"],
        cost=[[25.0], [36.0]],
        sla_probability=[[0.5], [0.7]],
        cpu_sla=[[80.0], [90.0]],
        placed=[[1.0], [0.5]],
        violation_pairs=[[(0, 1)]],
    )
    tenants = [_tenant("a", "baremetal-shared", 10.0), _tenant("b", "vm", 40.0)]
    rnd = PlanRound(
        {"a": "baremetal-shared", "b": "vm"}, 50, None, 1, None, 100, None, None, tenants
    )
    out = with_measured(ev, rnd, measured)
    # a on baremetal-shared: 10 → 25 (× 25 / 10); b on vm: 40 → 36 (× 36 / 40); the rest kept
    assert out.cost.tolist() == [[25.0, 20.0], [30.0, 36.0]]
    assert out.sla_probability.tolist() == [[0.5, 0.9], [0.9, 0.7]]
    assert out.cpu_sla.tolist() == [[80.0, 100.0], [100.0, 90.0]]
    assert out.placed.tolist() == [[1.0, 1.0], [1.0, 0.5]]
    # a and b broke a rule in the fleet, but in two parts: no substrate they share
    assert out.violation_pairs == [[], []]
    assert ev.cost.tolist() == [[10.0, 20.0], [30.0, 40.0]]  # the input is not changed


def test_a_split_tenant_keeps_its_split_at_the_measured_total() -> None:
    ev = make_evidence(["a"], ["baremetal-dedicated", "vm"], cost=[[10.0, 30.0]])
    measured = make_evidence(["a"], ["baremetal-dedicated"], cost=[[60.0]])
    # the round predicted 40 for a (split over both) and measured 60: both its figures × 1.5
    rnd = PlanRound(
        {}, 40, None, 1, None, 100, None, None, [_tenant("a", "baremetal-dedicated + vm", 40)]
    )
    assert with_measured(ev, rnd, measured).cost.tolist() == [[15.0, 45.0]]


def test_one_column_of_the_evidence_is_that_substrate_gathered_alone() -> None:
    sc = _two()
    c, s, a, _ = _run(sc)
    alone_c = compare(sc, substrates=["vm"])
    alone_s = simulate(sc, comparison=alone_c)
    alone = gather(alone_c, alone_s, analyse(alone_c, alone_s))
    cut = column(gather(c, s, a), 1)
    for name, value in vars(alone).items():
        if isinstance(value, np.ndarray):
            assert np.array_equal(getattr(cut, name), value), name
        elif name != "scenario":
            assert getattr(cut, name) == value, name


# ----------------------------------------------------------------------------- the loop


def test_the_loop_moves_web_off_its_lone_shared_cluster_and_settles() -> None:
    sc = _two()
    c, s, a, d = _run(sc)
    ev = gather(c, s, a)
    web, bank, shared, vm = 0, 1, 0, 1
    assert d.hybrid.assignment == {"web": "baremetal-shared", "bank": "vm"}
    out = measure_plan(c, s, a, d)
    check = out.plan_check
    assert check is not None and check.label == "plan"
    first, second = check.rounds
    # round 1: what the optimiser predicted is each tenant's figure on its substrate
    assert first.predicted_cost == pytest.approx(ev.cost[web, shared] + ev.cost[bank, vm])
    assert first.tenants[web].predicted_cost == pytest.approx(ev.cost[web, shared])
    # web alone pays its whole shared cluster: more than its share with bank there, and
    # more than its VMs: the optimiser moves it
    assert first.tenants[web].measured_cost > ev.cost[web, shared]
    assert first.tenants[web].measured_cost > ev.cost[web, vm]
    assert second.assignment == {"web": "vm", "bank": "vm"}
    # round 2 is predicted from the figures measured in round 1 where it has them
    assert second.tenants[bank].predicted_cost == pytest.approx(first.tenants[bank].measured_cost)
    assert second.tenants[web].predicted_cost == pytest.approx(ev.cost[web, vm])
    # every tenant in one part is the pure vm substrate: its figures, bit for bit
    j = ev.substrates.index("vm")
    assert second.measured_cost == ev.substrate_cost[j]
    assert [t.measured_cost for t in second.tenants] == ev.cost[:, j].tolist()
    assert [t.measured_cpu_sla for t in second.tenants] == ev.cpu_sla[:, j].tolist()
    assert check.status == "stable" and check.final is second
    assert out.hybrid is not None and out.hybrid.assignment == second.assignment
    # what the plan table compares with stays the substrates alone
    assert out.hybrid.single_substrate_costs == d.hybrid.single_substrate_costs


def test_a_plan_all_on_one_substrate_measures_as_that_substrate() -> None:
    sc = _two({"bank": ["vm"], "web": ["vm"]})
    c, s, a, d = _run(sc)
    ev = gather(c, s, a)
    out = measure_plan(c, s, a, d)
    (only,) = out.plan_check.rounds
    j = ev.substrates.index("vm")
    assert only.measured_cost == ev.substrate_cost[j]  # the same fleet, bit for bit
    assert only.predicted_cost == pytest.approx(only.measured_cost)  # the tenants' sum
    assert [t.measured_cost for t in only.tenants] == ev.cost[:, j].tolist()
    assert out.plan_check.status == "stable"


def test_no_plan_no_loop() -> None:
    sc = _two()
    c, s, a, d = _run(sc)
    assert measure_plan(c, s, a, replace(d, hybrid=None)).plan_check is None
