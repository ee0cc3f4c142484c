"""What the decision stage produces (plain data, read by every report).

- :class:`Scorecard`: one 0–100 score per factor for each substrate (and each tenant on
  each substrate), each traceable to the measured figure behind it, the weighted total and
  the verdict with its reasons;
- :class:`HybridPlan`: the least-cost assignment of tenants (or workloads) to substrates
  that meets every hard constraint;
- :class:`ParetoPoint`: assignments on the cost / isolation / SLA frontier;
- :class:`Sensitivity`: how far each weight and each uncertain default can move before
  the verdict flips, and the tornado ranking;
- :class:`PlanCheck`: the plan placed and replayed as one fleet (a ``hybrid`` substrate),
  round by round: what the optimiser predicted and what was measured;
- :class:`Decision`: all of them together.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Decision",
    "FactorScore",
    "HybridPlan",
    "ParetoPoint",
    "PlanCheck",
    "PlanRound",
    "PlanTenant",
    "Scorecard",
    "Sensitivity",
    "SubstrateScore",
    "TenantScore",
    "TornadoBar",
    "Verdict",
    "WeightRange",
]


@dataclass(frozen=True)
class FactorScore:
    """One factor of one substrate: the score and the measured figure behind it."""

    factor: str  # performance | versions | isolation | sla | cost
    score: float  # 0–100, 100 = best of the substrates compared
    value: float  # the measured figure, in ``unit``
    unit: str
    evidence: str  # the figure in words, e.g. "4.3 escapes a year reach other tenants"
    # the figures ``value`` is made of, each under its own name (performance and sla;
    # means over tenants unless the name says ``worst``)
    parts: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SubstrateScore:
    """One substrate: its factor scores and weighted total."""

    name: str
    kind: str
    factors: dict[str, FactorScore]
    total: float  # weighted mean of the factor scores, 0–100


@dataclass(frozen=True)
class TenantScore:
    """One tenant: its factor scores on each substrate (scenario substrate order)."""

    name: str
    scores: list[dict[str, float]]  # per substrate: factor → score
    totals: list[float]  # per substrate
    best: str  # the substrate with the highest total for this tenant


@dataclass(frozen=True)
class Verdict:
    """The winner, by how much, and the reasons in plain words."""

    winner: str
    runner_up: str | None
    margin: float  # total score points between winner and runner-up
    reasons: list[str]  # two or three sentences
    tie: bool = False  # winner and runner-up total the same (within 0.05 points)
    # the winner ranks ahead of the runner-up because it places pods the runner-up leaves
    # unplaced (whatever the totals: ``margin`` may then be negative)
    placement_decides: bool = False
    pods_unplaced: dict[str, int] = field(default_factory=dict)  # per substrate


@dataclass(frozen=True)
class Scorecard:
    """Scores per substrate and per tenant under the given weights, and the verdict."""

    weights: dict[str, float]
    substrates: list[SubstrateScore]
    tenants: list[TenantScore]
    verdict: Verdict
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class HybridPlan:
    """The least-cost assignment meeting every hard constraint."""

    assignment: dict[str, str]  # tenant (or tenant/cluster/workload) → substrate
    cost_usd_per_month: float
    single_substrate_costs: dict[str, float | None]  # each substrate alone (None: infeasible)
    constraints: list[str]  # the constraints that were applied, in words
    binding: list[str]  # the constraints that decided some assignment
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ParetoPoint:
    """One non-dominated assignment: cost, isolation exposure and SLA."""

    cost_usd_per_month: float
    exposure_per_year: float  # other tenants' escapes reaching tenants, summed
    sla_probability: float  # pod-weighted mean share of years meeting the SLA
    assignment: dict[str, str]


@dataclass(frozen=True)
class WeightRange:
    """How far one weight can move, the others fixed, before the verdict changes."""

    factor: str
    weight: float
    low: float | None  # the verdict holds down to this weight (None: down to 0)
    high: float | None  # ... and up to this one (None: any weight)
    flips_to: str | None  # the substrate that wins past the nearer end


@dataclass(frozen=True)
class TornadoBar:
    """The verdict's margin at the low and high value of one uncertain input."""

    parameter: str  # e.g. "hypervisor CPU overhead"
    base: float
    low: float
    high: float
    unit: str
    margin_low: float  # winner's lead over the runner-up, score points (< 0: flipped)
    margin_high: float
    winner_low: str
    winner_high: str
    flip_low: float | None = None  # the value below base where the verdict changes, if any
    flip_high: float | None = None  # ... above base

    @property
    def span(self) -> float:
        """How much the margin moves across the range."""
        return abs(self.margin_high - self.margin_low)


@dataclass(frozen=True)
class Sensitivity:
    """Weight ranges and the tornado, most influential first."""

    weights: list[WeightRange]
    tornado: list[TornadoBar]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PlanTenant:
    """One tenant of a plan: the figures the optimiser used and those measured on the
    plan placed as one fleet (None: not measured)."""

    name: str
    where: str  # its substrate, or its substrates joined by " + " (a per-workload plan)
    predicted_cost: float  # USD a month
    measured_cost: float | None
    predicted_sla: float  # share of failure years meeting its availability SLA
    measured_sla: float | None
    predicted_cpu_sla: float  # share of steps meeting its CPU SLA, %
    measured_cpu_sla: float | None
    measured_placed: float | None  # share of its pods placed


@dataclass(frozen=True)
class PlanRound:
    """One plan of the loop: predicted (from each tenant's figures when every tenant ran on
    its substrate) and measured (the plan placed, replayed and analysed as one fleet)."""

    assignment: dict[str, str]
    predicted_cost: float  # USD a month, the optimiser's objective
    measured_cost: float | None  # USD a month, the whole fleet's cost analysis
    predicted_sla: float  # pod-weighted mean share of failure years meeting the SLA
    measured_sla: float | None
    predicted_cpu_sla: float  # pod-weighted mean share of steps meeting the CPU SLA, %
    measured_cpu_sla: float | None
    pods_unplaced: int | None  # measured
    tenants: list[PlanTenant]


@dataclass(frozen=True)
class PlanCheck:
    """The loop that places the plan as one fleet, measures it and re-solves with the
    measured figures until the plan stops changing.

    ``status``: ``stable`` (the last re-solve gave the plan just measured), ``unstable``
    (it came back to an earlier plan, or the rounds ran out: ``reason`` gives both figures)
    or ``not-measured`` (the plan cannot be written as one hybrid: ``reason`` says why)."""

    label: str  # the hybrid substrate's label
    rounds: list[PlanRound]
    status: str
    reason: str

    @property
    def final(self) -> PlanRound:
        """The round whose plan the decision keeps."""
        measured = [r for r in self.rounds if r.measured_cost is not None]
        if self.status == "stable" or not measured:
            return self.rounds[-1]
        return min(measured, key=lambda r: r.measured_cost or 0.0)


@dataclass(frozen=True)
class Decision:
    """Everything the decision stage produced."""

    scorecard: Scorecard
    hybrid: HybridPlan | None
    pareto: list[ParetoPoint]
    sensitivity: Sensitivity | None
    notes: list[str] = field(default_factory=list)
    plan_check: PlanCheck | None = None  # ``recommend``: the plan measured as one fleet
