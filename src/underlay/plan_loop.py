"""``recommend`` closes the loop: the least-cost plan is written as a ``hybrid`` substrate,
placed, replayed and analysed as one fleet like any substrate, its measured cost and SLA
set beside what the optimiser predicted, and the optimiser solves again with the measured
figures until the plan stops changing (:func:`measure_plan`).

Each round measures one plan: the figures of its tenants on the substrates it gave them are
replaced by the measured ones (:func:`~underlay.decision.plan_check.with_measured`), and
the optimiser solves again on every constraint. The loop ends when the new plan is the
one just measured (``stable``), when it comes back to a plan measured before or after
:data:`MAX_ROUNDS` plans (``unstable``: the decision keeps the one measured cheapest, and
the reason gives each figure; ``max_rounds`` sets another limit), when the measured figures
leave no plan meeting the constraints (``unstable``, with the conflict), or at once when
the plan cannot be one hybrid (``not-measured``, saying why). Like the pipeline it sits
just below the CLI.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from underlay.analysis.results import Analysis, Comparison
from underlay.decision.evidence import Evidence, gather
from underlay.decision.optimiser import least_cost_hybrid
from underlay.decision.plan_check import (
    column,
    measured_round,
    plan_hybrid,
    plan_label,
    predicted_round,
    same_hybrid,
    with_measured,
)
from underlay.decision.results import Decision, HybridPlan, PlanCheck, PlanRound
from underlay.errors import InfeasibleError
from underlay.model.scenario import Scenario
from underlay.pipeline import analyse, compare, simulate
from underlay.simulation.results import Simulation
from underlay.units import usd

__all__ = ["MAX_ROUNDS", "measure_plan"]

_LOCATION = re.compile(r"^@\S+: ")  # where in the generated hybrid: not the user's file

MAX_ROUNDS = 8
"""Plans measured at most, by default, before the loop gives up on a stable one (the
SaaS example settles in 5)."""


def measure_plan(
    comparison: Comparison,
    simulation: Simulation | None,
    analysis: Analysis,
    decision: Decision,
    *,
    trials: int | None = None,
    max_rounds: int = MAX_ROUNDS,
    on_round: Callable[[int], None] | None = None,
) -> Decision:
    """``decision`` with its plan measured as one fleet (``plan_check``) and, when the
    measured figures move the optimiser, the plan it settles on (``hybrid``).

    The plan's fleet is placed with the scenario's settings, replayed with the same seed
    (when ``simulation`` ran) and analysed with ``analysis``'s sections, seed and
    ``trials``; at most ``max_rounds`` plans are measured. ``on_round(k)`` is called
    before round ``k`` (from 1) is placed."""
    plan = decision.hybrid
    if plan is None:
        return decision
    sc = comparison.scenario
    label = plan_label(sc)
    first = ev = gather(comparison, simulation, analysis)
    plans: dict[tuple[tuple[str, str], ...], HybridPlan] = {}
    rounds: list[PlanRound] = []
    status, reason = "stable", ""
    current = plan
    while True:
        predicted = predicted_round(ev, current)
        plans[_key_of(current.assignment)] = current
        hybrid = plan_hybrid(sc, current.assignment, label)
        if (there := same_hybrid(sc, hybrid)) in first.substrates:
            # the scenario holds this plan already (a plan file): measured with the rest
            label = str(there)
            measured = column(first, first.substrates.index(label))
        else:
            try:
                with_plan = sc.with_hybrid(hybrid)
            except ValueError as exc:
                why = _LOCATION.sub("", str(exc))
                status = "unstable" if rounds else "not-measured"
                reason = f"plan {len(rounds) + 1} cannot be placed as one hybrid fleet: {why}"
                rounds.append(predicted)
                break
            if on_round:
                on_round(len(rounds) + 1)
            measured = _measure(with_plan, label, simulation, analysis, trials)
        rounds.append(measured_round(predicted, measured))
        ev = with_measured(ev, rounds[-1], measured)
        try:
            again = least_cost_hybrid(ev, sc.constraints)
        except InfeasibleError as exc:
            status = "unstable"
            reason = f"with the measured figures no plan meets the constraints: {exc}"
            break
        fleet = _fleet(sc, again.assignment)
        if fleet == _fleet(sc, current.assignment):
            break  # the same plan, or another name for the same fleet (a hybrid column's part)
        seen = [r for r in rounds if _fleet(sc, r.assignment) == fleet]
        if seen or len(rounds) >= max_rounds:
            status, reason = "unstable", _unstable(rounds, seen)
            break
        current = again
    check = PlanCheck(label, rounds, status, reason)
    final = plans[_key_of(check.final.assignment)]
    kept = replace(final, single_substrate_costs=plan.single_substrate_costs)
    return replace(decision, hybrid=kept, plan_check=check)


def _fleet(scenario: Scenario, assignment: dict[str, str]) -> list[str]:
    """The fleet a plan places: each part as written but for its name (its substrate,
    host models, racks, tenants and workloads), in a fixed order; two plans naming one
    part differently (through a hybrid column, or the substrate itself) place one fleet."""
    hybrid = plan_hybrid(scenario, assignment, "fleet")
    return sorted(
        p.model_copy(
            update={"name": "p", "tenants": sorted(p.tenants), "workloads": sorted(p.workloads)}
        ).model_dump_json()
        for p in hybrid.parts
    )


def _key_of(assignment: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(assignment.items()))


def _measure(
    scenario: Scenario,
    label: str,
    simulation: Simulation | None,
    analysis: Analysis,
    trials: int | None,
) -> Evidence:
    """The plan's fleet placed, replayed and analysed: its one-column evidence."""
    comparison = compare(scenario, substrates=[label])
    replay = simulate(scenario, comparison=comparison) if simulation is not None else None
    measured = analyse(
        comparison, replay, sections=analysis.sections, trials=trials, seed=analysis.failure_seed
    )
    return gather(comparison, replay, measured)


def _unstable(rounds: list[PlanRound], seen: list[PlanRound]) -> str:
    """Why the loop stopped without a stable plan, with each plan's figures."""
    figures = "; ".join(
        f"plan {i + 1}: predicted {usd(r.predicted_cost)}, measured "
        f"{usd(r.measured_cost or 0.0)} a month"
        for i, r in enumerate(rounds)
    )
    if seen:
        back = rounds.index(seen[0]) + 1
        head = f"the measured figures send the optimiser back to plan {back}"
    else:
        n = len(rounds)
        head = f"the plan still changed after {n} round{'s' if n != 1 else ''}"
    cheapest = min(range(len(rounds)), key=lambda i: rounds[i].measured_cost or float("inf"))
    return f"{head} ({figures}); kept plan {cheapest + 1}, the cheapest measured"
