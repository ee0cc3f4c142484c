"""The decision stage as one function: evidence → scorecard, least-cost hybrid, Pareto
frontier and sensitivity."""

from __future__ import annotations

from collections.abc import Mapping

from underlay.analysis.results import Analysis, Comparison
from underlay.decision.evidence import Evidence, gather
from underlay.decision.results import Decision, HybridPlan, ParetoPoint
from underlay.decision.scorecard import score
from underlay.decision.sensitivity import sensitivity
from underlay.errors import InfeasibleError
from underlay.model.scenario import FACTORS
from underlay.simulation.results import Simulation

__all__ = ["decide", "parse_weights", "redecide"]


def parse_weights(items: list[str], base: Mapping[str, float]) -> dict[str, float]:
    """``["cost=2", "isolation=3"]`` over ``base`` (the scenario's weights); ValueError on a
    malformed item, an unknown factor, a negative weight or all weights zero."""
    out = dict(base)
    for item in items:
        factor, sep, value = item.partition("=")
        factor = factor.strip()
        if not sep or factor not in FACTORS:
            raise ValueError(
                f"{item!r}: write FACTOR=WEIGHT with FACTOR one of {', '.join(FACTORS)}"
            )
        try:
            weight = float(value)
        except ValueError:
            raise ValueError(f"{item!r}: {value!r} is not a number") from None
        if not 0 <= weight <= 1000 or weight != weight:
            raise ValueError(f"{item!r}: a weight is a number from 0 to 1000")
        out[factor] = weight
    if not any(out[f] > 0 for f in FACTORS):
        raise ValueError("at least one weight must be above 0")
    return out


def decide(
    comparison: Comparison,
    simulation: Simulation | None = None,
    analysis: Analysis | None = None,
    *,
    weights: Mapping[str, float] | None = None,
    hybrid: bool = True,
    pareto: bool = True,
    require_plan: bool = False,
) -> Decision:
    """Score, optimise and test the verdict of one run of the pipeline.

    The hybrid plan is None (with a note saying why) when the constraints cannot all hold;
    with ``require_plan`` (``underlay recommend``) that InfeasibleError is raised instead.
    """
    evidence = gather(comparison, simulation, analysis)
    w = dict(weights) if weights is not None else comparison.scenario.weights.as_dict()
    card = score(evidence, w)
    notes: list[str] = []
    plan: HybridPlan | None = None
    frontier: list[ParetoPoint] = []
    if hybrid:
        try:
            plan = least_cost_plan(evidence)
        except InfeasibleError as exc:
            if require_plan:
                raise
            notes.append(str(exc))
    if plan is not None:
        out = [s for s, c in plan.single_substrate_costs.items() if c is None]
        if out and len(out) == len(plan.single_substrate_costs):
            notes.append(
                "no single substrate meets the constraints (each breaks one): the verdict "
                "compares them anyway; the hybrid plan is the one that holds"
            )
        elif out:
            notes.append(f"alone, these substrates break a constraint: {', '.join(out)}")
    if pareto and plan is not None:
        from underlay.decision.pareto import pareto_frontier

        frontier = pareto_frontier(evidence, comparison.scenario.constraints)
    return Decision(
        scorecard=card,
        hybrid=plan,
        pareto=frontier,
        sensitivity=sensitivity(evidence, w, comparison.defaults),
        notes=notes,
    )


def redecide(
    previous: Decision,
    comparison: Comparison,
    simulation: Simulation | None,
    analysis: Analysis | None,
    *,
    weights: Mapping[str, float],
) -> Decision:
    """:func:`decide` on the same evidence with other ``weights``: the scorecard and the
    sensitivity are computed anew; the hybrid plan, the Pareto frontier and their notes
    read no weight (cost under the constraints), so ``previous``'s are kept (a sweep over
    weights solves them once)."""
    evidence = gather(comparison, simulation, analysis)
    w = dict(weights)
    return Decision(
        scorecard=score(evidence, w),
        hybrid=previous.hybrid,
        pareto=list(previous.pareto),
        sensitivity=sensitivity(evidence, w, comparison.defaults),
        notes=list(previous.notes),
    )


def least_cost_plan(evidence: Evidence) -> HybridPlan:
    """The least-cost plan under the scenario's constraints (InfeasibleError if none)."""
    from underlay.decision.optimiser import least_cost_hybrid

    return least_cost_hybrid(evidence, evidence.scenario.constraints)
