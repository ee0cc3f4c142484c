"""The least-cost hybrid against brute force (every S^U assignment of small random cases,
Hypothesis), by hand (isolation, budget, GPU training, own version, SLA floors, per
workload), its infeasibility explanations, and the saas-platform example end to end.

The brute force here is written from the optimiser's module docstring, not from its code;
``test_pareto.py`` imports it too.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from decision_factories import make_evidence
from factories import make_scenario, make_tenant, make_workload
from properties import examples
from underlay.decision.evidence import Evidence
from underlay.decision.optimiser import find_conflict, hybrid_problem, least_cost_hybrid
from underlay.errors import InfeasibleError, ScenarioError
from underlay.model.scenario import Constraints

KINDS = ["baremetal-dedicated", "baremetal-shared", "vm", "sandboxed"]
MODES = ["baremetal", "passthrough", "vgpu"]
EXAMPLES = examples(40)
PROPERTY = settings(
    max_examples=EXAMPLES * 2,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
F64 = NDArray[np.float64]


# ------------------------------------------------------------------ brute force


def reference_excluded(ev: Evidence, c: Constraints) -> NDArray[np.bool_]:
    """(tenants × substrates): where the constraints forbid a tenant, from the docstring."""
    pods = np.rint(ev.placed * ev.pods[:, None])  # placed fewer of its pods than another did
    out = pods < pods.max(axis=1, keepdims=True)
    if c.min_sla_probability is not None:
        out = out | (ev.sla_probability < c.min_sla_probability)
    if c.min_cpu_sla_attainment_percent is not None:
        out = out | (ev.cpu_sla < c.min_cpu_sla_attainment_percent)
    if c.own_version:
        out = out | (ev.version_mismatch > 0)
    if c.gpu_training_on is not None:
        for t, s in itertools.product(range(len(ev.tenants)), range(len(ev.substrates))):
            if ev.gpu_training[t] and ev.gpu_modes[s] not in c.gpu_training_on:
                out[t, s] = True
    for who, labels in c.allowed.items():
        t = ev.tenants.index(who)
        for s, label in enumerate(ev.substrates):
            if label not in labels:
                out[t, s] = True
    return out


def reference_units(ev: Evidence, c: Constraints) -> tuple[list[str], list[int], F64, F64]:
    """Keys, owner, cost share and pods of each unit (workload: mean of CPU and memory shares)."""
    if c.assign == "tenant":
        return list(ev.tenants), list(range(len(ev.tenants))), np.ones(len(ev.tenants)), ev.pods
    keys, owner, share, pods = [], [], [], []
    for t, tenant in enumerate(ev.scenario.tenants):
        ws = [(cl.name, w) for cl in tenant.clusters for w in cl.workloads]
        cpu = sum(w.replicas * w.requests.cpu_milli for _, w in ws)
        mem = sum(w.replicas * w.requests.memory_mib for _, w in ws)
        for cl, w in ws:
            parts = [w.replicas * w.requests.cpu_milli / cpu] if cpu else []
            parts += [w.replicas * w.requests.memory_mib / mem] if mem else []
            if not parts:  # nothing requested: by replicas, else equal shares
                replicas = sum(x.replicas for _, x in ws)
                parts = [w.replicas / replicas if replicas else 1 / len(ws)]
            keys.append(f"{tenant.name}/{cl}/{w.name}")
            owner.append(t)
            share.append(sum(parts) / len(parts))
            pods.append(w.replicas)
    return keys, owner, np.array(share), np.array(pods, float)


@dataclass
class Plans:
    """Every assignment of units to substrates, with its figures."""

    keys: list[str]
    owner: list[int]
    choice: NDArray[np.int64]  # (plans × units), itertools.product order
    cost: F64
    exposure: F64
    sla: F64
    substrates: list[str]

    def index(self, assignment: dict[str, str]) -> int:
        digits = [self.substrates.index(assignment[k]) for k in self.keys]
        return int(sum(d * len(self.substrates) ** (len(digits) - 1 - i) for i, d in enumerate(digits)))  # fmt: skip


def all_plans(ev: Evidence, c: Constraints) -> Plans:
    keys, owner, share, pods = reference_units(ev, c)
    S = len(ev.substrates)
    choice = np.array(list(itertools.product(range(S), repeat=len(keys))), np.int64)
    cost, exposure, sla = np.zeros(len(choice)), np.zeros(len(choice)), np.zeros(len(choice))
    tenant_pods = ev.pods
    total_pods = pods.sum()
    for u, t in enumerate(owner):
        s = choice[:, u]
        cost += ev.cost[t, s] * share[u]
        exposure += ev.exposure[t, s] * (pods[u] / tenant_pods[t] if tenant_pods[t] else share[u])
        weight = pods[u] / total_pods if total_pods else 1 / len(keys)
        sla += ev.sla_probability[t, s] * weight
    return Plans(keys, owner, choice, cost, exposure, sla, list(ev.substrates))


def feasible(
    ev: Evidence,
    plans: Plans,
    excluded: NDArray[np.bool_],
    pairs: list[tuple[int, int, int]],
    budget: float | None,
) -> NDArray[np.bool_]:
    """Which plans meet the given exclusions, isolation pairs (a, b, substrate) and budget."""
    ok = np.ones(len(plans.choice), bool)
    for u, t in enumerate(plans.owner):
        ok &= ~excluded[t, plans.choice[:, u]]
    for a, b, s in pairs:
        on_a = np.zeros(len(ok), bool)
        on_b = np.zeros(len(ok), bool)
        for u, t in enumerate(plans.owner):
            on_a |= (t == a) & (plans.choice[:, u] == s)
            on_b |= (t == b) & (plans.choice[:, u] == s)
        ok &= ~(on_a & on_b)
    if budget is not None:
        ok &= plans.cost <= budget * (1 + 1e-9)
    return ok


def reference(ev: Evidence, c: Constraints) -> tuple[Plans, NDArray[np.bool_]]:
    """All plans and which of them meet every constraint."""
    plans = all_plans(ev, c)
    pairs = [(a, b, s) for s, ps in enumerate(ev.violation_pairs) for a, b in ps]
    ok = feasible(
        ev, plans, reference_excluded(ev, c), pairs if c.isolation_rules else [],
        c.budget_usd_per_month,
    )  # fmt: skip
    return plans, ok


# ------------------------------------------------------------------ random cases


@st.composite
def cases(draw: st.DrawFn, *, by_workload: bool = False, tight: bool = False) -> tuple[Evidence, Constraints]:  # fmt: skip
    """Random evidence (≤ 6 units, ≤ 4 substrates) and random constraints."""
    S = draw(st.integers(1 if not tight else 2, 4))
    T = draw(st.integers(1, 3 if by_workload else 6 if S <= 3 else 5))
    tenants = [f"t{i}" for i in range(T)]
    subs = KINDS[:S]

    def grid(values: Any) -> list[list[Any]]:
        return [[draw(values) for _ in range(S)] for _ in range(T)]

    scenario = None
    if by_workload:
        scenario = make_scenario(
            tenants=[
                make_tenant(t, workloads=[
                    make_workload(f"w{j}", replicas=draw(st.integers(0, 4)),
                                  cpu=draw(st.sampled_from(["0", "500m", "1", "3"])),
                                  memory=draw(st.sampled_from(["0", "1Gi", "4Gi"])))
                    for j in range(draw(st.integers(1, 2)))
                ])
                for t in tenants
            ],
            substrates=[{"kind": k} for k in subs],
        )  # fmt: skip
    density = 2 if tight else 4  # a pair breaks a rule on a substrate with odds 1 in density + 1
    pairs = [[p for p in itertools.combinations(range(T), 2) if draw(st.integers(0, density)) == 0] for _ in subs]  # fmt: skip
    ev = make_evidence(
        tenants, subs, scenario=scenario, violation_pairs=pairs,
        cost=grid(st.integers(1, 40).map(float)),
        exposure=grid(st.integers(0, 30).map(lambda v: v / 10)),
        sla_probability=grid(st.sampled_from([0.5, 0.8, 0.9, 0.95, 1.0])),
        cpu_sla=grid(st.sampled_from([60.0, 90.0, 99.0, 100.0])),
        placed=grid(st.sampled_from([1.0] * (20 if tight else 7) + [0.8])),
        version_mismatch=grid(st.sampled_from([0.0, 0.0, 1.0])),
        pods=[float(draw(st.integers(1, 20))) for _ in tenants],
        gpu_training=[draw(st.booleans()) for _ in tenants],
        gpu_modes=[draw(st.sampled_from(MODES)) for _ in subs],
    )  # fmt: skip
    if scenario is not None:  # pods asked for = the workloads' replicas
        object.__setattr__(ev, "pods", np.array([
            sum(w.replicas for cl in t.clusters for w in cl.workloads) for t in scenario.tenants
        ], float))  # fmt: skip
    low, high = ev.cost.min(axis=1).sum(), ev.cost.max(axis=1).sum()
    budget = draw(st.none() | st.floats(0.9 * low, low + (high - low) * (0.4 if tight else 1.1)))
    rare = 3 if tight else 1  # tight cases: fewer exclusions, so conflicts are not all stranded

    def maybe(values: st.SearchStrategy[Any]) -> Any:
        return draw(st.none() | values) if draw(st.integers(0, rare - 1)) == 0 else None

    c = Constraints(
        isolation_rules=draw(st.booleans()) or tight,
        budget_usd_per_month=budget,
        min_sla_probability=maybe(st.sampled_from([0.8, 0.9])),
        min_cpu_sla_attainment_percent=maybe(st.sampled_from([90.0, 99.0])),
        own_version=bool(maybe(st.just(True))),
        gpu_training_on=maybe(st.lists(st.sampled_from(MODES), min_size=1, unique=True)),
        allowed={
            t: draw(st.lists(st.sampled_from(subs), min_size=1, unique=True))
            for t in tenants
            if draw(st.integers(0, 3 * rare)) == 0
        },
        assign="workload" if by_workload else "tenant",
    )
    return ev, c


def check_against_brute_force(ev: Evidence, c: Constraints) -> None:
    plans, ok = reference(ev, c)
    assert hybrid_problem(ev, c).excluded.tolist() == reference_excluded(ev, c).tolist()
    if not ok.any():
        with pytest.raises(InfeasibleError, match="no hybrid plan meets every constraint"):
            least_cost_hybrid(ev, c)
        return
    plan = least_cost_hybrid(ev, c)
    i = plans.index(plan.assignment)
    assert ok[i], "the plan breaks a constraint"
    assert plan.cost_usd_per_month == pytest.approx(plans.cost[i], rel=1e-9)
    assert plan.cost_usd_per_month == pytest.approx(plans.cost[ok].min(), rel=1e-6)


@PROPERTY
@given(cases())
def test_least_cost_equals_brute_force(case: tuple[Evidence, Constraints]) -> None:
    check_against_brute_force(*case)


@PROPERTY
@given(cases(by_workload=True))
def test_least_cost_per_workload_equals_brute_force(case: tuple[Evidence, Constraints]) -> None:
    check_against_brute_force(*case)


@PROPERTY
@given(st.one_of(cases(tight=True), cases(by_workload=True, tight=True)))
def test_conflict_is_irreducible(case: tuple[Evidence, Constraints]) -> None:
    """The groups named conflict (brute force finds no plan under them alone) and each is
    needed (dropping any one leaves a plan); the stranded are exactly the tenants left with
    no substrate."""
    ev, c = case
    plans, ok = reference(ev, c)
    if ok.any():
        return
    p = hybrid_problem(ev, c)
    conflict = find_conflict(p)
    with pytest.raises(InfeasibleError) as err:
        least_cost_hybrid(ev, c)
    message = str(err.value)
    excluded = reference_excluded(ev, c)
    used = sorted(set(plans.owner))
    stranded = [t for t in used if excluded[t].all()]
    assert conflict.stranded == stranded
    if stranded:
        assert all(f"{ev.tenants[t]} has no substrate left" in message for t in stranded)
        return
    groups = [p.groups[g] for g in conflict.groups]
    assert groups

    def plan_exists(chosen: list[Any]) -> bool:
        cut = np.zeros_like(excluded)
        for g in chosen:
            if g.kind == "exclusions":
                cut[g.tenants[0]] = excluded[g.tenants[0]]
        pairs = [(*g.tenants, s) for g in chosen if g.kind == "isolation" for s in g.substrates]
        budget = c.budget_usd_per_month if any(g.kind == "budget" for g in chosen) else None
        return bool(feasible(ev, plans, cut, pairs, budget).any())

    assert not plan_exists(groups)
    for k in range(len(groups)):
        assert plan_exists(groups[:k] + groups[k + 1 :]), f"{groups[k].words} is not needed"
    for g in groups:
        assert (g.words if g.kind != "budget" else "budget") in message
    if any(g.kind == "budget" for g in groups):
        others = feasible(ev, plans, excluded, [(*g.tenants, s) for g in p.groups if g.kind == "isolation" for s in g.substrates], None)  # fmt: skip
        assert conflict.cost_without_budget == pytest.approx(plans.cost[others].min(), rel=1e-6)


# ------------------------------------------------------------------ by hand

AB = ["baremetal-shared", "vm"]


def test_cheapest_substrate_breaks_an_isolation_rule() -> None:
    # bank and runner are cheapest on shared (10, 10 vs 30, 15) but break a rule there; the
    # cheaper move is runner to vm (+5) rather than bank (+20): 10 + 15 + 10 (other) = 35.
    ev = make_evidence(
        ["bank", "runner", "other"], AB,
        cost=[[10, 30], [10, 15], [10, 12]],
        violation_pairs=[[(0, 1)], []],
    )  # fmt: skip
    plan = least_cost_hybrid(ev, Constraints())
    assert plan.assignment == {"bank": "baremetal-shared", "runner": "vm", "other": "baremetal-shared"}  # fmt: skip
    assert plan.cost_usd_per_month == pytest.approx(35)
    assert plan.binding == ["isolation rules: moved runner (baremetal-shared → vm, +$5.00 a month): bank there"]  # fmt: skip
    assert plan.single_substrate_costs == {"baremetal-shared": None, "vm": pytest.approx(57)}
    # without the rule everyone stays on shared: 30
    free = least_cost_hybrid(ev, Constraints(isolation_rules=False))
    assert set(free.assignment.values()) == {"baremetal-shared"}
    assert free.cost_usd_per_month == pytest.approx(30) and free.binding == []
    assert free.single_substrate_costs == {"baremetal-shared": 30, "vm": 57}


def test_budget_holds_or_nothing_does() -> None:
    # least cost 35 (as above): a budget of 40 changes nothing, 34 leaves no plan, and the
    # message gives the least cost without the budget and the rule that pushes it up.
    ev = make_evidence(
        ["bank", "runner", "other"], AB,
        cost=[[10, 30], [10, 15], [10, 12]],
        violation_pairs=[[(0, 1)], []],
    )  # fmt: skip
    plan = least_cost_hybrid(ev, Constraints(budget_usd_per_month=40))
    assert plan.cost_usd_per_month == pytest.approx(35)
    assert "budget: $35.00 of $40.00 a month used" in plan.notes
    assert plan.single_substrate_costs == {"baremetal-shared": None, "vm": None}  # 57 > 40
    with pytest.raises(InfeasibleError) as err:
        least_cost_hybrid(ev, Constraints(budget_usd_per_month=34))
    assert str(err.value) == (
        "no hybrid plan meets every constraint: the budget of $34.00 a month is below $35.00, "
        "the least cost meeting every other constraint; what pushes the cost above it: bank "
        "and runner may not share baremetal-shared (isolation rule). Raise the budget to at "
        "least $35.00 or relax one of those."
    )
    assert InfeasibleError.exit_code == 3
    # below even every tenant on its cheapest substrate (30): the budget alone conflicts
    with pytest.raises(InfeasibleError, match=r"below \$35\.00, the least cost meeting every other constraint\. Raise the budget to at least \$35\.00\.$"):  # fmt: skip
        least_cost_hybrid(ev, Constraints(budget_usd_per_month=29))


def test_gpu_training_rule() -> None:
    # trainer is cheapest on vgpu VMs (5 vs 8); with gpu_training_on [baremetal] it pays 8;
    # web has no training workload and stays on vgpu.
    ev = make_evidence(
        ["trainer", "web"], ["baremetal-dedicated", "vm"],
        cost=[[8, 5], [8, 5]], gpu_training=[True, False], gpu_modes=["baremetal", "vgpu"],
    )  # fmt: skip
    assert least_cost_hybrid(ev, Constraints()).assignment == {"trainer": "vm", "web": "vm"}
    plan = least_cost_hybrid(ev, Constraints(gpu_training_on=["baremetal", "passthrough"]))
    assert plan.assignment == {"trainer": "baremetal-dedicated", "web": "vm"}
    assert plan.cost_usd_per_month == pytest.approx(13)
    assert plan.binding == ["gpu_training_on baremetal, passthrough: moved trainer (vm → baremetal-dedicated, +$3.00 a month)"]  # fmt: skip
    assert "GPU training only on baremetal, passthrough GPUs" in plan.constraints


def test_own_version_and_sla_floors() -> None:
    # a: shared is cheapest (3) but cannot run its version; vm (4) meets SLA 0.95 and CPU 99 %.
    # b: vm cheapest (1) but its SLA is met in 80 % of years; shared (2) is 0.99 / 100 %.
    ev = make_evidence(
        ["a", "b"], AB,
        cost=[[3, 4], [2, 1]],
        version_mismatch=[[1, 0], [0, 0]],
        sla_probability=[[1, 0.95], [0.99, 0.8]],
        cpu_sla=[[100, 99], [100, 100]],
    )  # fmt: skip
    assert least_cost_hybrid(ev, Constraints()).cost_usd_per_month == pytest.approx(4)
    plan = least_cost_hybrid(ev, Constraints(own_version=True, min_sla_probability=0.9))
    assert plan.assignment == {"a": "vm", "b": "baremetal-shared"}
    assert plan.cost_usd_per_month == pytest.approx(6)
    assert plan.binding == [
        "own_version: moved a (baremetal-shared → vm, +$1.00 a month)",
        "min_sla_probability 0.9: moved b (vm → baremetal-shared, +$1.00 a month)",
    ]
    # a CPU floor of 99.5 % removes a's vm too: a has nothing left, and the message says why
    with pytest.raises(InfeasibleError) as err:
        least_cost_hybrid(ev, Constraints(own_version=True, min_cpu_sla_attainment_percent=99.5))  # fmt: skip
    assert str(err.value) == (
        "no hybrid plan meets every constraint: a has no substrate left (baremetal-shared: "
        "own_version (cannot run its version); vm: min_cpu_sla_attainment_percent 99.5 (CPU "
        "SLA met in 99.0% of steps)). Relax one of those constraints."
    )


def test_unplaced_pods_and_allow_lists_exclude() -> None:
    # a fits only partly on vm (its cheapest); b is only allowed on vm.
    ev = make_evidence(["a", "b"], AB, cost=[[5, 1], [5, 1]], placed=[[1, 0.5], [1, 1]])
    plan = least_cost_hybrid(ev, Constraints(allowed={"b": ["vm"]}))
    assert plan.assignment == {"a": "baremetal-shared", "b": "vm"}
    assert plan.single_substrate_costs == {"baremetal-shared": None, "vm": None}
    assert plan.binding == ["all pods placed: moved a (vm → baremetal-shared, +$4.00 a month)"]
    with pytest.raises(InfeasibleError, match=r"a has no substrate left \(baremetal-shared: allowed \(not listed for a\); vm: all pods placed \(50.0% fit\)\)"):  # fmt: skip
        least_cost_hybrid(ev, Constraints(allowed={"a": ["vm"]}))


def test_isolation_conflict_names_the_pairs() -> None:
    # three tenants that pairwise break rules on both substrates cannot be split in two.
    triangle = [(0, 1), (0, 2), (1, 2)]
    ev = make_evidence(["a", "b", "c", "d"], AB, violation_pairs=[triangle, triangle])
    with pytest.raises(InfeasibleError) as err:
        least_cost_hybrid(ev, Constraints())
    assert str(err.value) == (
        "no hybrid plan meets every constraint: these constraints conflict: (1) a and b may "
        "not share baremetal-shared, vm (isolation rule); (2) a and c may not share "
        "baremetal-shared, vm (isolation rule); (3) b and c may not share baremetal-shared, "
        "vm (isolation rule). Relax one of them."
    )


def test_exclusions_and_a_pair_conflict() -> None:
    # a and b both may only use shared (vm not allowed / SLA) and break a rule there.
    ev = make_evidence(
        ["a", "b"], AB, sla_probability=[[1, 1], [1, 0.5]], violation_pairs=[[(0, 1)], []]
    )
    c = Constraints(allowed={"a": ["baremetal-shared"]}, min_sla_probability=0.9)
    with pytest.raises(InfeasibleError) as err:
        least_cost_hybrid(ev, c)
    assert "(1) a may only use baremetal-shared (vm: allowed (not listed for a))" in str(err.value)  # fmt: skip
    assert "(2) b may only use baremetal-shared (vm: min_sla_probability 0.9 (availability SLA met in 50.0% of failure years))" in str(err.value)  # fmt: skip
    assert "(3) a and b may not share baremetal-shared (isolation rule)" in str(err.value)


def test_per_workload_costs_split_by_requests() -> None:
    # w1: 1 × (1 core, 1Gi), w2: 1 × (3 cores, 1Gi) → CPU shares 1/4, 3/4, memory 1/2, 1/2
    # → cost shares 0.375 and 0.625 of the tenant's figure (80 on shared, 40 on vm).
    scenario = make_scenario(
        tenants=[make_tenant("t", workloads=[make_workload("w1", cpu="1", memory="1Gi"),
                                             make_workload("w2", cpu="3", memory="1Gi")]),
                 make_tenant("u")],
        substrates=[{"kind": k} for k in AB],
    )  # fmt: skip
    ev = make_evidence(["t", "u"], AB, scenario=scenario, cost=[[80, 40], [1, 1]], pods=[2, 1])
    p = hybrid_problem(ev, Constraints(assign="workload"))
    assert p.units == ["t/t/w1", "t/t/w2", "u/u/w"]
    np.testing.assert_allclose(p.cost[:2], [[30, 15], [50, 25]])
    # w2 may not use vm (an allow-list is per tenant, so its whole tenant may not): both on
    # shared: 30 + 50 + 1 = 81
    plan = least_cost_hybrid(ev, Constraints(assign="workload", allowed={"t": ["baremetal-shared"]}))  # fmt: skip
    assert plan.assignment == {"t/t/w1": "baremetal-shared", "t/t/w2": "baremetal-shared", "u/u/w": "baremetal-shared"}  # fmt: skip
    assert plan.cost_usd_per_month == pytest.approx(81)


def test_workloads_of_a_pair_never_meet() -> None:
    # t's two workloads are cheapest on shared, u's on shared too, and t, u break a rule
    # there: one tenant moves whole (every workload), the cheaper move being u (+1).
    scenario = make_scenario(
        tenants=[make_tenant("t", workloads=[make_workload("w1"), make_workload("w2")]),
                 make_tenant("u")],
        substrates=[{"kind": k} for k in AB],
    )  # fmt: skip
    ev = make_evidence(
        ["t", "u"], AB, scenario=scenario, cost=[[10, 20], [4, 5]], violation_pairs=[[(0, 1)], []]
    )
    plan = least_cost_hybrid(ev, Constraints(assign="workload"))
    assert plan.assignment == {"t/t/w1": "baremetal-shared", "t/t/w2": "baremetal-shared", "u/u/w": "vm"}  # fmt: skip
    assert plan.cost_usd_per_month == pytest.approx(15)


def test_unknown_tenant_in_allow_list() -> None:
    ev = make_evidence(["a"], AB)
    with pytest.raises(ScenarioError, match=r"constraints.allowed.zed: no tenant is called 'zed'"):  # fmt: skip
        least_cost_hybrid(ev, Constraints(allowed={"zed": ["vm"]}))
    with pytest.raises(ScenarioError, match=r"constraints.allowed.a\[0\]: no substrate is called 'metal'"):  # fmt: skip
        least_cost_hybrid(ev, Constraints(allowed={"a": ["metal"]}))


def test_notes_say_what_was_not_checked() -> None:
    ev = make_evidence(["a"], AB)
    object.__setattr__(ev, "missing", ["simulation", "failures"])
    plan = least_cost_hybrid(ev, Constraints(min_sla_probability=0.9))
    assert "min_sla_probability not checked: the failure analysis did not run" in plan.notes


# ------------------------------------------------------------------ the example


@functools.cache
def saas_evidence() -> Evidence:
    """The saas-platform example's evidence: placed, simulated and analysed (about 1 s)."""
    from pathlib import Path

    from underlay import analyse, compare, load_scenario, simulate
    from underlay.decision.evidence import gather

    path = Path(__file__).resolve().parents[2] / "examples" / "saas-platform.yaml"
    comparison = compare(load_scenario(path))
    simulation = simulate(comparison.scenario, comparison=comparison)
    return gather(comparison, simulation, analyse(comparison, simulation))


@pytest.fixture(scope="module")
def saas() -> Evidence:
    return saas_evidence()


def test_saas_platform_end_to_end(saas: Evidence) -> None:
    ev = saas
    banks, code = ["bank-eu", "bank-us"], "customer-code"
    shared = "baremetal-shared"
    # the default isolation rules break on shared bare metal: banks beside customer code
    assert {(ev.tenants[a], ev.tenants[b]) for a, b in ev.violation_pairs[ev.substrates.index(shared)]} == {(b, code) for b in banks}  # fmt: skip
    plan = least_cost_hybrid(ev)
    i = {t: k for k, t in enumerate(ev.tenants)}
    s = {label: k for k, label in enumerate(ev.substrates)}
    assert plan.cost_usd_per_month == pytest.approx(sum(ev.cost[i[t], s[v]] for t, v in plan.assignment.items()))  # fmt: skip
    assert plan.single_substrate_costs[shared] is None  # all on shared breaks the rules
    # bare metal only: the banks and customer code are never together on the shared hosts
    bare = ["baremetal-dedicated", shared]
    plan = least_cost_hybrid(ev, Constraints(allowed=dict.fromkeys(ev.tenants, bare)))
    together = [t for t in [*banks, code] if plan.assignment[t] == shared]
    assert not (set(together) & set(banks) and code in together)
    assert plan.assignment[code] == "baremetal-dedicated"
    assert any("isolation rules: moved customer-code" in b for b in plan.binding)
    free = least_cost_hybrid(ev, Constraints(isolation_rules=False, allowed=dict.fromkeys(ev.tenants, bare)))  # fmt: skip
    assert set(free.assignment.values()) == {shared}
    assert free.cost_usd_per_month < plan.cost_usd_per_month


def test_a_tenant_no_substrate_places_goes_where_most_of_it_fits() -> None:
    # a: 10 pods; shared places 8 at $5, vm 5 at $1: vm is cheaper but runs fewer of a's
    # pods, so the plan puts a on shared and says that no substrate places all of it.
    ev = make_evidence(["a", "b"], AB, cost=[[5, 1], [5, 1]], placed=[[0.8, 0.5], [1, 1]])
    plan = least_cost_hybrid(ev, Constraints())
    assert plan.assignment == {"a": "baremetal-shared", "b": "vm"}
    assert plan.cost_usd_per_month == pytest.approx(5 + 1)
    assert "a: no substrate places all its pods; the plan may only put it where most fit (8 of 10)" in plan.notes  # fmt: skip
    assert plan.binding == ["most pods placed: moved a (vm → baremetal-shared, +$4.00 a month)"]
    # placing as many on both, the cheaper one is free to win
    even = make_evidence(["a"], AB, cost=[[5, 1]], placed=[[0.5, 0.5]])
    assert least_cost_hybrid(even, Constraints()).assignment == {"a": "vm"}
