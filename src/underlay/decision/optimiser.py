"""The least-cost hybrid: each tenant (or workload) on its own substrate, every hard
constraint met, total cost least — a 0–1 programme solved with SciPy's HiGHS (``milp``).

Units ``u`` are the tenants (``constraints.assign: tenant``) or their workloads (``assign:
workload``, keyed ``tenant/cluster/workload``); ``x[u, s] = 1`` puts ``u`` on substrate ``s``:

    minimise Σ cost[u, s]·x[u, s]
    s.t.     Σ_s x[u, s] = 1                     every unit on exactly one substrate
             x[u, s] = 0                         where s is excluded for u's tenant
             z[a, s] + z[b, s] ≤ 1               every isolation pair (a, b) on s
             x[u, s] ≤ z[t(u), s]                (z is x itself for a one-unit tenant)
             Σ cost[u, s]·x[u, s] ≤ budget

Which substrates each tenant may use, and why not the others: ``problem.py``.

Assumptions:

- ``cost[t, s]`` is the tenant's attributed monthly cost when *all* tenants run on ``s``,
  and a hybrid costs the sum of its units' figures. A substrate holding fewer tenants may
  pack differently (emptier or fuller hosts, a shared control plane split fewer ways), so
  the total is an approximation of what the hybrid would cost if placed again.
- Isolation pairs are conservative: a pair is kept apart on ``s`` because it broke a rule
  when every tenant was placed on ``s``; with fewer tenants there the two might never meet
  (and a pair that would meet only in another packing is not seen).
- With ``assign: workload`` a workload costs its tenant's figure × its share of the
  tenant's requests (the mean of its share of requested CPU and of requested memory,
  replicas × requests; pods when both are zero). Tenant-level constraints (SLA floors,
  version, the GPU-training rule, allow-lists, isolation pairs) apply to each workload.
- The budget never changes the least-cost optimum: it holds, or nothing does. Among plans
  of equal least cost (within 1e-7), a second solve takes the one with least exposure,
  higher pod-weighted SLA probability as a small second weight. HiGHS runs with a
  relative MIP gap of 1e-9, so "least" is exact to that tolerance.

Infeasibility is explained: each tenant left with no substrate, with what removed each
one; otherwise a minimal set of conflicting constraint groups (the budget; one tenant's
exclusions; one isolation pair) by a divide-and-conquer deletion filter (QuickXplain,
Junker 2004) that re-solves the programme, and, when the budget breaks it, the least cost
that meets every other constraint.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array, csr_array, vstack

from underlay.decision.evidence import Evidence
from underlay.decision.problem import F64, I64, ConstraintGroup, HybridProblem, hybrid_problem
from underlay.decision.results import HybridPlan
from underlay.errors import InfeasibleError
from underlay.model.scenario import Constraints
from underlay.quiet import quiet_stdout
from underlay.units import usd

__all__ = [
    "TIE",
    "Conflict",
    "ConstraintGroup",
    "HybridProblem",
    "Row",
    "find_conflict",
    "hybrid_problem",
    "infeasible_error",
    "least_cost_assignment",
    "least_cost_hybrid",
    "secondary",
    "solve",
    "total",
]

Row = tuple[F64, float, float]  # (units × substrates) coefficients, lower, upper
TIE = 1e-7  # relative cost tolerance for "equally cheap"


def _structure(p: HybridProblem, groups: Collection[int]) -> tuple[csr_array, F64, F64, F64, int]:
    """Constraint matrix, row bounds, variable upper bounds and the number of x variables."""
    U, S = p.cost.shape
    n_x, active = U * S, [p.groups[g] for g in sorted(groups)]
    of = [np.flatnonzero(p.owner == t) for t in range(len(p.tenants))]
    usage: dict[tuple[int, int], int] = {}  # (tenant, substrate) → its usage column z
    pairs, n_z = [], 0
    for g in (g for g in active if g.kind == "isolation"):
        for s in g.substrates:
            for t in g.tenants:
                if (t, s) in usage:
                    continue
                if len(of[t]) == 1:  # z is x itself
                    usage[(t, s)] = int(of[t][0]) * S + s
                else:
                    usage[(t, s)], n_z = n_x + n_z, n_z + 1
            pairs.append((usage[(g.tenants[0], s)], usage[(g.tenants[1], s)]))
    links = [(int(u) * S + s, z) for (t, s), z in usage.items() if len(of[t]) > 1 for u in of[t]]
    link = np.array(links, np.int64).reshape(-1, 2)
    pair = np.array(pairs, np.int64).reshape(-1, 2)
    # rows: one per unit (Σ_s x = 1), one per link (x − z ≤ 0), one per pair (z + z ≤ 1)
    n_link, n_pair = len(link), len(pair)
    r = np.concatenate([np.repeat(np.arange(U), S), np.repeat(U + np.arange(n_link + n_pair), 2)])
    cols = np.concatenate([np.arange(n_x), link.ravel(), pair.ravel()])
    vals = np.concatenate([np.ones(n_x), np.tile([1.0, -1.0], n_link), np.ones(2 * n_pair)])
    lo = np.concatenate([np.ones(U), np.full(n_link + n_pair, -np.inf)])
    hi = np.concatenate([np.ones(U), np.zeros(n_link), np.ones(n_pair)])
    if any(g.kind == "budget" for g in active) and p.budget is not None:
        r = np.concatenate([r, np.full(n_x, U + n_link + n_pair)])
        cols, vals = np.concatenate([cols, np.arange(n_x)]), np.concatenate([vals, p.cost.ravel()])
        lo, hi = np.append(lo, -np.inf), np.append(hi, p.budget)
    cut = np.zeros_like(p.excluded)
    for g in (g for g in active if g.kind == "exclusions"):
        cut[g.tenants[0], list(g.substrates)] = True
    ub = np.concatenate([(~cut[p.owner]).ravel().astype(float), np.ones(n_z)])
    matrix = coo_array((vals, (r, cols)), shape=(len(lo), n_x + n_z)).tocsr()
    return matrix, lo, hi, ub, n_x


def solve(
    problem: HybridProblem,
    objective: F64 | None,
    *,
    rows: Sequence[Row] = (),
    groups: Collection[int] | None = None,
) -> I64 | None:
    """Substrate index per unit minimising ``objective`` (units × substrates; None: any
    feasible plan) under the constraint ``groups`` (default all) and extra ``rows``;
    None when infeasible."""
    p = problem
    matrix, lo, hi, ub, n_x = _structure(p, range(len(p.groups)) if groups is None else groups)
    n = len(ub)
    if rows:
        extra = csr_array(
            np.hstack([np.array([r[0].ravel() for r in rows]), np.zeros((len(rows), n - n_x))])
        )
        matrix = vstack([matrix, extra]).tocsr()
        lo = np.concatenate([lo, [r[1] for r in rows]])
        hi = np.concatenate([hi, [r[2] for r in rows]])
    c = np.zeros(n)
    if objective is not None:
        c[:n_x] = objective.ravel()
    with quiet_stdout():  # HiGHS may print from C++, which would break --json
        res = milp(
            c=c,
            constraints=LinearConstraint(matrix, lo, hi),
            integrality=np.concatenate([np.ones(n_x), np.zeros(n - n_x)]),
            bounds=Bounds(0, ub),
            options={"mip_rel_gap": 1e-9},
        )
    if res.status != 0 or res.x is None:
        return None
    choice: I64 = np.argmax(res.x[:n_x].reshape(p.cost.shape), axis=1).astype(np.int64)
    return choice


def total(figure: F64, choice: I64) -> float:
    """Sum of ``figure`` (units × substrates) over the chosen substrates."""
    return float(figure[np.arange(len(choice)), choice].sum())


def secondary(p: HybridProblem, *, exposure: float, sla: float) -> F64:
    """``exposure`` × exposure ÷ its largest total − ``sla`` × SLA, scaled by 1e6 so that
    HiGHS's absolute gap (1e-6, not settable through SciPy) stays far below the SLA term."""
    e_scale = max(float(p.exposure.max(axis=1).sum()), 1e-12)
    return 1e6 * (exposure * p.exposure / e_scale - sla * p.sla)


def least_cost_assignment(problem: HybridProblem) -> I64 | None:
    """The least-cost plan meeting the hard constraints (None: there is none); among plans
    within 1e-7 of that cost the least exposed, higher SLA as a small second weight."""
    p = problem
    first = solve(p, p.cost)
    if first is None or not (np.ptp(p.exposure, axis=1).any() or np.ptp(p.sla, axis=1).any()):
        return first
    cheapest = total(p.cost, first)
    cap = (p.cost, -np.inf, cheapest + TIE * max(1.0, abs(cheapest)))
    second = solve(p, secondary(p, exposure=1.0, sla=1e-3), rows=[cap])
    return first if second is None else second


@dataclass(frozen=True)
class Conflict:
    """Why no plan exists: stranded tenants, or a minimal set of conflicting groups."""

    stranded: list[int]  # tenants with no substrate left
    groups: list[int]  # indices into ``HybridProblem.groups``; relaxing any one helps
    cost_without_budget: float | None  # least cost meeting every other constraint


def _quickxplain(
    candidates: list[int], background: list[int], feasible: Callable[[list[int]], bool]
) -> list[int]:
    """A minimal subset of ``candidates`` infeasible with ``background`` (which must be
    infeasible with all of them)."""

    def qx(base: list[int], added: bool, cands: list[int]) -> list[int]:
        if added and not feasible(base):
            return []
        if len(cands) == 1:
            return cands
        half = len(cands) // 2
        right = qx(base + cands[:half], True, cands[half:])
        left = qx(base + right, bool(right), cands[:half])
        return left + right

    if not feasible(background) or not candidates:
        return []
    return qx(background, False, candidates)


def find_conflict(problem: HybridProblem) -> Conflict:
    """Why ``problem`` has no feasible plan (call only when it has none)."""
    p = problem
    used = np.zeros(len(p.tenants), bool)
    used[p.owner] = True
    stranded = np.flatnonzero(p.excluded.all(axis=1) & used).tolist()
    if stranded:
        return Conflict(stranded, [], None)
    budget = [g for g, grp in enumerate(p.groups) if grp.kind == "budget"]
    others = [g for g, grp in enumerate(p.groups) if grp.kind != "budget"]

    def feasible(active: list[int]) -> bool:
        return solve(p, None, groups=active) is not None

    without = solve(p, p.cost, groups=others) if budget else None
    if without is not None:  # the budget breaks it: find what pushes the cost above it
        return Conflict([], budget + _quickxplain(others, budget, feasible), total(p.cost, without))
    return Conflict([], _quickxplain(others, [], feasible), None)


def infeasible_error(problem: HybridProblem, conflict: Conflict) -> InfeasibleError:
    """The error saying which constraints conflict, in one message."""
    p, c = problem, conflict
    head = "no hybrid plan meets every constraint: "
    if c.stranded:
        why = [
            [f"{s}: {', '.join(w for _, w in p.reasons[t][j])}" for j, s in enumerate(p.substrates)]
            for t in c.stranded
        ]
        parts = [
            f"{p.tenants[t]} has no substrate left ({'; '.join(w)})"
            for t, w in zip(c.stranded, why, strict=True)
        ]
        more = f"; and {len(parts) - 5} more tenants" if len(parts) > 5 else ""
        return InfeasibleError(
            f"{head}{'; '.join(parts[:5])}{more}. Relax one of those constraints."
        )
    words = [p.groups[g].words for g in c.groups if p.groups[g].kind != "budget"]
    if len(words) > 10:
        words[10:] = [f"and {len(words) - 10} more"]
    if c.cost_without_budget is not None and p.budget is not None:
        least = usd(c.cost_without_budget)
        msg = f"the budget of {usd(p.budget)} a month is below {least}, the least cost meeting every other constraint"
        if not words:
            return InfeasibleError(f"{head}{msg}. Raise the budget to at least {least}.")
        msg += f"; what pushes the cost above it: {'; '.join(words)}"
        return InfeasibleError(
            f"{head}{msg}. Raise the budget to at least {least} or relax one of those."
        )
    listed = "; ".join(f"({i}) {w}" for i, w in enumerate(words, 1))
    return InfeasibleError(f"{head}these constraints conflict: {listed}. Relax one of them.")


def _binding(p: HybridProblem, choice: I64) -> list[str]:
    """The constraints that kept a unit off a substrate cheaper than its choice, naming it."""
    idx = np.arange(len(choice))
    paid = p.cost[idx, choice]
    moved: dict[str, list[str]] = {}
    partners: dict[tuple[int, int], set[int]] = {}  # (tenant, substrate) → who it may not meet
    for g in (g for g in p.groups if g.kind == "isolation"):
        for s, (a, b) in itertools.product(g.substrates, [g.tenants, g.tenants[::-1]]):
            partners.setdefault((a, s), set()).add(b)
    cheaper = p.cost < (paid - TIE * np.maximum(1.0, np.abs(paid)))[:, None]
    for u, s in np.argwhere(cheaper).tolist():
        t, to = int(p.owner[u]), p.substrates[choice[u]]
        entry = f"{p.units[u]} ({p.substrates[s]} → {to}, +{usd(paid[u] - p.cost[u, s])} a month)"
        for key, _ in p.reasons[t][s]:
            moved.setdefault(key, []).append(entry)
        if p.reasons[t][s]:
            continue
        near = sorted(
            p.tenants[o] for o in partners.get((t, s), set()) & set(p.owner[choice == s].tolist())
        )
        if near:
            who = ", ".join(near[:3]) + (f" and {len(near) - 3} more" if len(near) > 3 else "")
            moved.setdefault("isolation rules", []).append(f"{entry}: {who} there")
    return [
        f"{key}: moved {'; '.join(entries[:_SHOWN])}"
        + (f"; and {len(entries) - _SHOWN} more" if len(entries) > _SHOWN else "")
        for key, entries in moved.items()
    ]


_SHOWN = 5  # units named per binding constraint; the rest are counted


def least_cost_hybrid(evidence: Evidence, constraints: Constraints | None = None) -> HybridPlan:
    """The least-cost assignment meeting every hard constraint (see the module docstring);
    raises :class:`~underlay.errors.InfeasibleError` naming the conflict when none does."""
    p = hybrid_problem(evidence, constraints)
    choice = least_cost_assignment(p)
    if choice is None:
        raise infeasible_error(p, find_conflict(p))
    cost = total(p.cost, choice)
    alone: dict[str, float | None] = {}
    for s, label in enumerate(p.substrates):
        ok = not p.excluded[p.owner, s].any() and not any(
            g.kind == "isolation" and s in g.substrates for g in p.groups
        )
        value = float(p.cost[:, s].sum())
        alone[label] = value if ok and (p.budget is None or value <= p.budget * (1 + TIE)) else None
    notes = [
        "costs are each tenant's share when all tenants run on a substrate; a hybrid placed again may pack differently",
        *p.notes,
    ]
    if p.budget is not None:
        notes.append(f"budget: {usd(cost)} of {usd(p.budget)} a month used")
    return HybridPlan(
        assignment={u: p.substrates[s] for u, s in zip(p.units, choice.tolist(), strict=True)},
        cost_usd_per_month=cost,
        single_substrate_costs=alone,
        constraints=list(p.applied),
        binding=_binding(p, choice),
        notes=notes,
    )
