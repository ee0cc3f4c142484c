"""The Pareto frontier against brute force (Hypothesis: every point is a feasible plan that
no feasible plan dominates; the least-cost plan comes first), by hand, and on the
saas-platform example."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from test_optimiser import AB, PROPERTY, Plans, all_plans, cases, feasible, reference, saas_evidence

from decision_factories import make_evidence
from underlay.decision.evidence import Evidence
from underlay.decision.optimiser import least_cost_hybrid
from underlay.decision.pareto import dominates, pareto_frontier
from underlay.decision.results import ParetoPoint
from underlay.errors import InfeasibleError
from underlay.model.scenario import Constraints

TOL = 1e-7


def dominated_by_any(point: ParetoPoint, plans: Plans, ok: np.ndarray) -> bool:
    """Whether some feasible plan is no worse on all three figures and better on one."""
    c, e, s = plans.cost[ok], plans.exposure[ok], plans.sla[ok]
    tc = TOL * max(1.0, point.cost_usd_per_month)
    te = TOL * max(1.0, point.exposure_per_year)
    no_worse = (c <= point.cost_usd_per_month + tc) & (e <= point.exposure_per_year + te)
    no_worse &= s >= point.sla_probability - TOL
    better = (c < point.cost_usd_per_month - tc) | (e < point.exposure_per_year - te)
    better |= s > point.sla_probability + TOL
    return bool((no_worse & better).any())


def check_frontier(ev: Evidence, c: Constraints) -> None:
    plans, ok = reference(ev, c)
    if not ok.any():
        with pytest.raises(InfeasibleError):
            pareto_frontier(ev, c, points=4)
        return
    front = pareto_frontier(ev, c, points=4)
    assert front
    for point in front:
        i = plans.index(point.assignment)
        assert ok[i], "a point breaks a hard constraint"
        assert point.cost_usd_per_month == pytest.approx(plans.cost[i], rel=1e-9, abs=1e-9)
        assert point.exposure_per_year == pytest.approx(plans.exposure[i], rel=1e-9, abs=1e-9)
        assert point.sla_probability == pytest.approx(plans.sla[i], rel=1e-9, abs=1e-9)
        assert not dominated_by_any(point, plans, ok), point
    costs = [q.cost_usd_per_month for q in front]
    assert costs == sorted(costs)
    assert costs[0] == pytest.approx(least_cost_hybrid(ev, c).cost_usd_per_month, rel=1e-7)
    assert costs[0] == pytest.approx(plans.cost[ok].min(), rel=1e-6)
    figures = [(q.cost_usd_per_month, q.exposure_per_year, q.sla_probability) for q in front]
    for k, a in enumerate(front):  # distinct and mutually non-dominated
        assert not any(dominates(b, a) for b in front)
        assert all(figures[k] != pytest.approx(f) for f in figures[:k])


@PROPERTY
@given(cases())
def test_frontier_against_brute_force(case: tuple[Evidence, Constraints]) -> None:
    check_frontier(*case)


@PROPERTY
@given(cases(by_workload=True))
def test_frontier_per_workload_against_brute_force(case: tuple[Evidence, Constraints]) -> None:
    check_frontier(*case)


def test_two_tenants_by_hand() -> None:
    # a, b on shared (cheap, exposed, SLA 0.9) or vm (dear, safe, SLA 1.0); 10 pods each.
    #   plan        cost  exposure  SLA (pod-weighted)
    #   shared/shared  2      4       0.90
    #   shared/vm      6      2       0.95   (and vm/shared: 11, 2, 0.95 — dominated)
    #   vm/vm         15      0       1.00
    ev = make_evidence(
        ["a", "b"], AB,
        cost=[[1, 10], [1, 5]], exposure=[[2, 0], [2, 0]],
        sla_probability=[[0.9, 1.0], [0.9, 1.0]],
    )  # fmt: skip
    front = pareto_frontier(ev, Constraints())
    assert [(q.cost_usd_per_month, q.exposure_per_year, q.sla_probability) for q in front] == [
        pytest.approx((2, 4, 0.9)),
        pytest.approx((6, 2, 0.95)),
        pytest.approx((15, 0, 1.0)),
    ]
    assert front[1].assignment == {"a": "baremetal-shared", "b": "vm"}


def test_a_budget_forces_a_cheaper_worse_plan() -> None:
    # the same choices under a budget of 10: vm/vm (15) is out, so the best SLA and the
    # least exposure reachable are shared/vm's 0.95 and 2, not 1.0 and 0.
    ev = make_evidence(
        ["a", "b"], AB,
        cost=[[1, 10], [1, 5]], exposure=[[2, 0], [2, 0]],
        sla_probability=[[0.9, 1.0], [0.9, 1.0]],
    )  # fmt: skip
    front = pareto_frontier(ev, Constraints(budget_usd_per_month=10))
    assert [q.cost_usd_per_month for q in front] == [2, 6]
    assert max(q.sla_probability for q in front) == pytest.approx(0.95)
    assert min(q.exposure_per_year for q in front) == pytest.approx(2)


def test_sla_is_weighted_by_pods() -> None:
    # a has 30 pods, b 10: a on vm lifts the mean to (30 × 1.0 + 10 × 0.5) / 40 = 0.875;
    # b on vm only to (30 × 0.5 + 10 × 1.0) / 40 = 0.625.
    ev = make_evidence(
        ["a", "b"], AB, cost=[[1, 2], [1, 2]], pods=[30, 10],
        sla_probability=[[0.5, 1.0], [0.5, 1.0]],
    )  # fmt: skip
    front = pareto_frontier(ev, Constraints(), points=3)
    assert [(q.cost_usd_per_month, q.sla_probability) for q in front] == [
        pytest.approx((2, 0.5)),
        pytest.approx((3, 0.875)),
        pytest.approx((4, 1.0)),
    ]


def test_infeasible_and_bad_points() -> None:
    ev = make_evidence(["a"], AB, placed=[[1.0, 0.5]])
    with pytest.raises(InfeasibleError, match="a has no substrate left"):
        pareto_frontier(ev, Constraints(allowed={"a": ["vm"]}))
    with pytest.raises(ValueError, match="points must be at least 2"):
        pareto_frontier(make_evidence(["a"], AB), points=1)


def test_saas_platform_frontier(saas: Evidence) -> None:
    ev, c = saas, saas.scenario.constraints
    front = pareto_frontier(ev, c)
    plan = least_cost_hybrid(ev, c)
    assert front[0].cost_usd_per_month == pytest.approx(plan.cost_usd_per_month)
    assert len(front) >= 3  # cheap and exposed … dear and isolated
    plans = all_plans(ev, c)  # 4 tenants on 4 substrates: 256 plans
    pairs = [(a, b, s) for s, ps in enumerate(ev.violation_pairs) for a, b in ps]
    ok = feasible(ev, plans, ev.placed < 1, pairs, None)
    shared = ev.substrates.index("baremetal-shared")
    for point in front:
        assert ok[plans.index(point.assignment)]
        assert not dominated_by_any(point, plans, ok)
        on_shared = {t for t, s in point.assignment.items() if s == ev.substrates[shared]}
        assert not ({"bank-eu", "bank-us"} & on_shared and "customer-code" in on_shared)


@pytest.fixture(scope="module")
def saas() -> Evidence:
    return saas_evidence()


def test_equal_costs_break_ties_by_exposure_then_sla() -> None:
    # every tenant costs 5 on both; vm is less exposed for a and b, equally for c but with
    # a better SLA there: the least-cost plan (and the one point of the frontier) takes vm.
    ev = make_evidence(
        ["a", "b", "c"], AB,
        cost=[[5, 5], [5, 5], [5, 5]], exposure=[[3, 1], [2, 0], [1, 1]],
        sla_probability=[[1, 1], [1, 1], [0.9, 1.0]],
    )  # fmt: skip
    plan = least_cost_hybrid(ev, Constraints())
    assert set(plan.assignment.values()) == {"vm"}
    front = pareto_frontier(ev, Constraints())
    assert [(q.cost_usd_per_month, q.exposure_per_year, q.sla_probability) for q in front] == [
        pytest.approx((15, 2, 1.0))
    ]
