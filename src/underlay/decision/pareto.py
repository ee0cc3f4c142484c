"""The Pareto frontier of hybrid plans: cost ↓, isolation exposure ↓, SLA probability ↑.

A plan's figures, from the evidence (measured with every tenant on each substrate, as in
:mod:`underlay.decision.optimiser`, whose programme and hard constraints this reuses):

- cost: Σ of the units' attributed monthly costs on their substrates (USD a month);
- exposure: Σ of the tenants' expected escapes by others reaching their pods a year; a
  workload carries its tenant's figure × its share of the tenant's pods (of its cost
  when the tenant asks for no pods);
- SLA probability: the pod-weighted mean, over units, of the share of failure years in
  which the tenant meets its availability SLA.

The ε-constraint method (Haimes, Lasdon & Wismer 1971) in its augmented form (AUGMECON,
Mavrotas 2009): over a grid of ``points`` exposure caps × ``points`` SLA floors, minimise

    cost + 1e-4 · C · (exposure ÷ E − SLA ÷ R)

subject to the hard constraints, exposure ≤ cap and SLA ≥ floor. ``C`` is the least cost,
``E`` and ``R`` the ranges of exposure and SLA in the payoff table (the least-cost plan,
the least-exposed plan, the best-SLA plan). With every weight positive, an optimum is
dominated by no feasible plan (up to the solver's tolerances); the small weights may buy
a lower exposure or a better SLA for at most 2e-4 × C of cost, which keeps the point on
the frontier. The caps run from the largest exposure in the payoff table (no cap on the
loosest line) down to the least; the floors from the smallest SLA in the payoff table (no
floor on the loosest line) up to the best. Along each cap the floors rise; a floor the
previous plan already meets is skipped (that plan is the optimum there too) and the
first infeasible floor ends the line.

The least-cost hybrid plan (exact, ties broken by exposure) is always the first point.
Points are deduplicated (same cost, exposure and SLA within 1e-7), dominated ones dropped
(a safety net) and sorted by cost, then exposure. The grid finds a subset of the
frontier: plans between grid lines may be missed, and more ``points`` find more of them at
up to ``points``² solves.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from underlay.decision.evidence import Evidence
from underlay.decision.optimiser import (
    TIE,
    HybridProblem,
    Row,
    find_conflict,
    hybrid_problem,
    infeasible_error,
    least_cost_assignment,
    secondary,
    solve,
    total,
)
from underlay.decision.results import ParetoPoint
from underlay.model.scenario import Constraints

__all__ = ["dominates", "pareto_frontier"]

I64 = NDArray[np.int64]
AUGMENT = 1e-4  # weight of exposure and SLA against cost (× the least cost)


def dominates(a: ParetoPoint, b: ParetoPoint, *, tol: float = TIE) -> bool:
    """Whether ``a`` is no worse than ``b`` on cost, exposure and SLA, and better on one
    (differences within ``tol``, relative to the larger figure or 1, count as equal)."""
    gaps = [  # how much better a is, on each figure
        (b.cost_usd_per_month - a.cost_usd_per_month, a.cost_usd_per_month),
        (b.exposure_per_year - a.exposure_per_year, a.exposure_per_year),
        (a.sla_probability - b.sla_probability, a.sla_probability),
    ]
    scaled = [gap / max(1.0, abs(ref), abs(ref + gap)) for gap, ref in gaps]
    return all(g >= -tol for g in scaled) and any(g > tol for g in scaled)


def _close(a: ParetoPoint, b: ParetoPoint) -> bool:
    return all(
        abs(x - y) <= TIE * max(1.0, abs(x), abs(y))
        for x, y in (
            (a.cost_usd_per_month, b.cost_usd_per_month),
            (a.exposure_per_year, b.exposure_per_year),
            (a.sla_probability, b.sla_probability),
        )
    )


def _point(p: HybridProblem, choice: I64) -> ParetoPoint:
    return ParetoPoint(
        cost_usd_per_month=total(p.cost, choice),
        exposure_per_year=total(p.exposure, choice),
        sla_probability=total(p.sla, choice),
        assignment={u: p.substrates[s] for u, s in zip(p.units, choice.tolist(), strict=True)},
    )


def pareto_frontier(
    evidence: Evidence, constraints: Constraints | None = None, *, points: int = 5
) -> list[ParetoPoint]:
    """The non-dominated plans meeting every hard constraint, cheapest first (see the
    module docstring); raises :class:`~underlay.errors.InfeasibleError` when none does."""
    if points < 2:
        raise ValueError(f"points must be at least 2, not {points}")
    p = hybrid_problem(evidence, constraints)
    cheapest = least_cost_assignment(p)
    if cheapest is None:
        raise infeasible_error(p, find_conflict(p))
    payoff = [cheapest]
    for weights in ({"exposure": 1.0, "sla": 1e-3}, {"exposure": 1e-3, "sla": 1.0}):
        choice = solve(p, secondary(p, **weights))
        payoff.append(cheapest if choice is None else choice)
    exposures = [total(p.exposure, c) for c in payoff]
    slas = [total(p.sla, c) for c in payoff]
    e_range = max(max(exposures) - exposures[1], 1e-12)
    s_range = max(slas[2] - min(slas), 1e-12)
    scale = AUGMENT * max(1.0, abs(total(p.cost, cheapest)))
    objective = p.cost + scale * (p.exposure / e_range - p.sla / s_range)
    grid_caps = np.linspace(max(exposures), exposures[1], points)[1:]
    grid_floors = np.linspace(min(slas), slas[2], points)[1:]
    caps: list[float | None] = [None, *sorted(set(grid_caps.tolist()), reverse=True)]
    floors: list[float | None] = [None, *sorted(set(grid_floors.tolist()))]
    found = [_point(p, cheapest)]
    for cap in caps:
        reached = -np.inf
        for floor in floors:
            if floor is not None and floor <= reached:
                continue  # the previous plan meets this floor too, so it is the optimum here
            rows: list[Row] = []
            if cap is not None:
                rows.append((p.exposure, -np.inf, cap + 1e-9 * max(1.0, cap)))
            if floor is not None:
                rows.append((p.sla, floor - 1e-9, np.inf))
            choice = solve(p, objective, rows=rows)
            if choice is None:
                break  # higher floors are infeasible under this cap too
            found.append(_point(p, choice))
            reached = total(p.sla, choice) - 1e-12
    frontier: list[ParetoPoint] = []
    for point in sorted(found, key=lambda q: (q.cost_usd_per_month, q.exposure_per_year)):
        seen = any(_close(point, q) for q in frontier)
        if not seen and not any(dominates(q, point) for q in found):
            frontier.append(point)
    return frontier
