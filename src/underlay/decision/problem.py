"""The least-cost hybrid's programme as data (``HybridProblem``): its units, each unit's
figures per substrate, the substrates excluded for each tenant and why, and the groups of
constraints that explaining infeasibility relaxes together. ``optimiser`` solves it.

A tenant is excluded from ``s`` when ``s`` placed fewer of its pods than another substrate
(always: where one places them all, only those remain; where none does, those placing the
most, with a note), and, when set, when its share of failure years meeting its availability SLA is below
``min_sla_probability``, its CPU SLA attainment below ``min_cpu_sla_attainment_percent``,
it cannot run its own Kubernetes version (``own_version``), it trains on GPUs in a mode not
in ``gpu_training_on``, or ``s`` is not in its ``allowed`` list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from underlay.decision.evidence import Evidence
from underlay.errors import ScenarioError
from underlay.model.scenario import Constraints, workload_key
from underlay.units import usd

__all__ = ["F64", "I64", "ConstraintGroup", "HybridProblem", "hybrid_problem"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class ConstraintGroup:
    """Constraints relaxed together when explaining infeasibility."""

    kind: str  # budget | exclusions | isolation
    tenants: tuple[int, ...]  # the tenant (exclusions) or the pair (isolation)
    substrates: tuple[int, ...]  # excluded substrates, or where the pair may not meet
    words: str


@dataclass(frozen=True)
class HybridProblem:
    """The programme's data: units, per-unit figures, exclusions and constraint groups."""

    units: list[str]  # assignment keys: tenant, or tenant/cluster/workload
    owner: I64  # tenant index of each unit
    tenants: list[str]
    substrates: list[str]
    cost: F64  # (units × substrates) USD a month
    exposure: F64  # (units × substrates) escapes a year reaching the unit's pods
    sla: F64  # (units × substrates) pod weight × SLA probability (sums to the pod-weighted mean)
    excluded: NDArray[np.bool_]  # (tenants × substrates)
    reasons: list[list[list[tuple[str, str]]]]  # tenant → substrate → (constraint, why)
    groups: list[ConstraintGroup]
    budget: float | None
    applied: list[str]  # the constraints, in words
    notes: list[str]


# floor constraint → (the evidence figure it bounds, its last digit shown, the figure in
# words, the rule in words); figures are floored, so one below its floor never reads as on it
_FLOORS = {
    "min_sla_probability": (
        "sla_probability",
        1e-3,
        "availability SLA met in {:.1%} of failure years",
        "each tenant meets its availability SLA in ≥ {:.1%} of failure years",
    ),
    "min_cpu_sla_attainment_percent": (
        "cpu_sla",
        0.1,
        "CPU SLA met in {:.1f}% of steps",
        "each tenant meets its CPU SLA in ≥ {:g}% of steps",
    ),
}


def _floored(value: F64, step: float) -> F64:
    out: F64 = np.floor(value / step + 1e-9) * step
    return out


def _reasons(ev: Evidence, c: Constraints) -> tuple[list[list[list[tuple[str, str]]]], list[str]]:
    """Per tenant and substrate, the (constraint, figure) pairs that exclude it; the rules."""
    T, S = ev.shape
    out: list[list[list[tuple[str, str]]]] = [[[] for _ in range(S)] for _ in range(T)]

    def cut(
        key: str, mask: NDArray[np.bool_], why: Callable[[int, int], str] | list[list[str]]
    ) -> None:
        for t, s in np.argwhere(mask).tolist():
            out[t][s].append((key, f"{key} ({why[t][s] if isinstance(why, list) else why(t, s)})"))

    placed = _floored(ev.placed, 1e-3)
    pods = np.rint(ev.placed * ev.pods[:, None])
    most = pods.max(axis=1, keepdims=True)
    full = (most >= ev.pods[:, None]).repeat(S, axis=1)
    fewer = pods < most
    cut("all pods placed", fewer & full, lambda t, s: f"{placed[t, s]:.1%} fit")
    cut(
        "most pods placed",
        fewer & ~full,
        lambda t, s: (
            f"{pods[t, s]:,.0f} of {ev.pods[t]:,.0f} pods fit, {most[t, 0]:,.0f} elsewhere"
        ),
    )
    rules = ["each tenant only where all its pods fit (where none does, where most do)"]
    for field, (name, step, why, words) in _FLOORS.items():
        if (floor := getattr(c, field)) is not None:
            value: F64 = getattr(ev, name)
            figure = [[why.format(v) for v in row] for row in _floored(value, step).tolist()]
            cut(f"{field} {floor:g}", value < floor - 1e-12, figure)
            rules.append(words.format(floor))
    if c.own_version:
        cut("own_version", ev.version_mismatch > 0, lambda t, s: "cannot run its version")
        rules.append("each tenant runs the Kubernetes version it wants")
    if (modes := c.gpu_training_on) is not None:
        # the modes its training workloads really get there (whole GPUs pass through)
        bad = (
            np.array(
                [[any(m not in modes for m in got) for got in row] for row in ev.training_modes],
                bool,
            ).reshape(ev.shape)
            & ev.gpu_training[:, None]
        )
        cut(
            f"gpu_training_on {', '.join(modes)}",
            bad,
            lambda t, s: f"{'/'.join(ev.training_modes[t][s]) or ev.gpu_modes[s]} GPUs",
        )
        rules.append(f"GPU training only on {', '.join(modes)} GPUs")
    if c.allowed:
        ok = [[s in c.allowed.get(t, [s]) for s in ev.substrates] for t in ev.tenants]
        cut("allowed", ~np.array(ok, bool), lambda t, s: f"not listed for {ev.tenants[t]}")
        rules += [f"{t} only on {', '.join(v)}" for t, v in c.allowed.items()]
    return out, rules


def _check_allowed(ev: Evidence, c: Constraints) -> None:
    known = set(ev.substrates) | set(ev.scenario.substrate_labels)
    for who, labels in c.allowed.items():
        if who not in ev.tenants:
            raise ScenarioError(f"constraints.allowed.{who}: no tenant is called {who!r}")
        for i, label in enumerate(labels):
            if label not in known:
                raise ScenarioError(
                    f"constraints.allowed.{who}[{i}]: no substrate is called {label!r} "
                    f"(known: {', '.join(ev.substrates)})"
                )


def _isolation_groups(ev: Evidence) -> list[ConstraintGroup]:
    where: dict[tuple[int, int], list[int]] = {}
    for s, pairs in enumerate(ev.violation_pairs):
        for a, b in pairs:
            if a != b:
                where.setdefault((min(a, b), max(a, b)), []).append(s)
    out = []
    for (a, b), subs in sorted(where.items()):
        on = ", ".join(ev.substrates[s] for s in subs)
        words = f"{ev.tenants[a]} and {ev.tenants[b]} may not share {on} (isolation rule)"
        out.append(ConstraintGroup("isolation", (a, b), tuple(subs), words))
    return out


def _units(ev: Evidence, by_workload: bool) -> tuple[list[str], I64, F64, F64]:
    """Keys, owner tenant, share of the tenant's cost and pods of each unit."""
    if not by_workload:
        return list(ev.tenants), np.arange(len(ev.tenants)), np.ones(len(ev.tenants)), ev.pods
    keys, owner, shares, pods = [], [], [], []
    for ti, t in enumerate(ev.scenario.tenants):
        ws = [(c.name, w) for c in t.clusters for w in c.workloads]
        reps = np.array([w.replicas for _, w in ws], float)
        cpu = reps * [w.requests.cpu_milli for _, w in ws]
        mem = reps * [w.requests.memory_mib for _, w in ws]
        fallback = reps / reps.sum() if reps.sum() > 0 else np.full(len(ws), 1 / len(ws))
        shares.append(np.mean([v / v.sum() for v in (cpu, mem) if v.sum() > 0] or [fallback], 0))
        keys += [workload_key(t.name, c, w.name) for c, w in ws]
        owner += [ti] * len(ws)
        pods.append(reps)
    return keys, np.array(owner, np.int64), np.concatenate(shares), np.concatenate(pods)


def hybrid_problem(evidence: Evidence, constraints: Constraints | None = None) -> HybridProblem:
    """The programme for ``evidence`` under ``constraints`` (default: the scenario's)."""
    ev, c = evidence, evidence.scenario.constraints if constraints is None else constraints
    _check_allowed(ev, c)
    T, S = ev.shape
    reasons, applied = _reasons(ev, c)
    excluded = np.array([[bool(r) for r in row] for row in reasons], bool).reshape(T, S)
    budget = c.budget_usd_per_month
    groups: list[ConstraintGroup] = []
    if budget is not None:
        groups.append(ConstraintGroup("budget", (), (), f"the budget of {usd(budget)} a month"))
    for t in np.flatnonzero(excluded.any(axis=1)).tolist():
        subs = np.flatnonzero(excluded[t]).tolist()
        left = " or ".join(ev.substrates[s] for s in range(S) if not excluded[t, s]) or "nothing"
        why = "; ".join(
            f"{ev.substrates[s]}: {', '.join(w for _, w in reasons[t][s])}" for s in subs
        )
        words = f"{ev.tenants[t]} may only use {left} ({why})"
        groups.append(ConstraintGroup("exclusions", (t,), tuple(subs), words))
    notes: list[str] = []
    pods = np.rint(ev.placed * ev.pods[:, None])
    for t in np.flatnonzero(pods.max(axis=1) < ev.pods).tolist():
        notes.append(
            f"{ev.tenants[t]}: no substrate places all its pods; the plan may only put it "
            f"where most fit ({pods[t].max():,.0f} of {ev.pods[t]:,.0f})"
        )
    if c.isolation_rules:
        pairs = _isolation_groups(ev)
        groups += pairs
        listed = [g.words.removesuffix(" (isolation rule)") for g in pairs[:5]]
        more = f" and {len(pairs) - 5} more" if len(pairs) > 5 else ""
        n = f"{len(pairs)} tenant pair{'s' if len(pairs) != 1 else ''} kept apart"
        kept = f"{n} ({'; '.join(listed)}{more})" if pairs else "no tenant pair breaks one"
        applied.append(f"isolation rules: {kept}")
    for field, stage, what in (
        ("isolation_rules", "isolation", "the isolation analysis"),
        ("min_sla_probability", "failures", "the failure analysis"),
        ("min_cpu_sla_attainment_percent", "simulation", "the simulation"),
    ):
        if getattr(c, field) not in (None, False) and stage in ev.missing:
            notes.append(f"{field} not checked: {what} did not run")
    if budget is not None:
        applied.append(f"total cost ≤ {usd(budget)} a month")
    keys, owner, share, pods_u = _units(ev, c.assign == "workload")
    if c.assign == "workload":
        applied.append(
            "one substrate per workload; a workload costs its tenant's figure × its "
            "share of the tenant's requested CPU and memory"
        )
    tenant_pods = ev.pods[owner]
    of_tenant = np.where(tenant_pods > 0, pods_u / np.maximum(tenant_pods, 1e-300), share)
    weight = pods_u / pods_u.sum() if pods_u.sum() > 0 else np.full(len(keys), 1 / len(keys))
    return HybridProblem(
        units=keys,
        owner=owner,
        tenants=list(ev.tenants),
        substrates=list(ev.substrates),
        cost=ev.cost[owner] * share[:, None],
        exposure=ev.exposure[owner] * of_tenant[:, None],
        sla=ev.sla_probability[owner] * weight[:, None],
        excluded=excluded,
        reasons=reasons,
        groups=groups,
        budget=budget,
        applied=applied,
        notes=notes,
    )
