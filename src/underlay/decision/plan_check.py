"""The least-cost plan as one fleet: the plan written as a ``hybrid`` substrate, the
figures the optimiser predicted for it, the figures measured on it, and the evidence
updated with what was measured, for the optimiser to solve again.

The optimiser prices each tenant as it was when *every* tenant ran on a substrate
(:mod:`underlay.decision.optimiser`); placed as one fleet, a part holding fewer tenants
packs differently, shares racks with other parts and splits control planes and idle
inventory otherwise. The loop that places and replays the plan lives in the pipeline
(:mod:`underlay.plan_loop`); this module is its arithmetic:

- :func:`plan_hybrid`: one part per substrate the plan uses (a tenant on a hybrid column
  takes that hybrid's part for each of its workloads, with its own host models and
  racks), in scenario order with the parts holding GPU workloads first (with an
  inventory, parts draw hosts in file order); a tenant wholly in one part is named in
  ``tenants``, a split one by its workloads;
- :func:`predicted_round` / :func:`measured_round`: per tenant, cost (USD a month), share
  of failure years meeting its availability SLA, share of steps meeting its CPU SLA;
  a split tenant's predicted SLA figures are pod-weighted over its workloads' substrates;
- :func:`with_measured`: each tenant's figures on the substrates the plan gave it
  replaced by those measured (its cost on each scaled by measured ÷ predicted, so a
  split tenant keeps its split), and the pairs breaking an isolation rule in the fleet
  added to the substrate they share.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np

from underlay.decision.evidence import F64, Evidence
from underlay.decision.problem import hybrid_problem
from underlay.decision.results import HybridPlan, PlanRound, PlanTenant
from underlay.model.scenario import (
    Hybrid,
    HybridPart,
    Scenario,
    Workload,
    workload_key,
    workload_tenant,
)

__all__ = [
    "column",
    "measured_round",
    "plan_hybrid",
    "plan_label",
    "predicted_round",
    "same_hybrid",
    "with_measured",
]

_LABEL = "plan"


def plan_label(scenario: Scenario) -> str:
    """A substrate label for the plan that the scenario does not use: ``plan``, ``plan-2``…"""
    taken = set(scenario.substrate_labels)
    n = 1
    while (label := _LABEL if n == 1 else f"{_LABEL}-{n}") in taken:
        n += 1
    return label


def same_hybrid(scenario: Scenario, hybrid: Hybrid) -> str | None:
    """The label of a hybrid substrate of ``scenario`` with ``hybrid``'s parts (a plan
    file written by ``recommend`` holds its plan's), if any."""
    parts = [p.model_dump() for p in hybrid.parts]
    for sub in scenario.substrates:
        if isinstance(sub, Hybrid) and [p.model_dump() for p in sub.parts] == parts:
            return sub.name or sub.kind
    return None


def column(ev: Evidence, j: int) -> Evidence:
    """``ev`` cut down to its substrate ``j`` (one column)."""
    S = len(ev.substrates)
    cut: dict[str, object] = {}
    for name, value in vars(ev).items():
        if isinstance(value, np.ndarray) and value.ndim == 2 and value.shape[1] == S:
            cut[name] = value[:, j : j + 1].copy()
        elif isinstance(value, np.ndarray) and value.ndim == 1 and name.startswith(_PER_SUBSTRATE):
            cut[name] = value[j : j + 1].copy()
        elif name in ("substrates", "kinds", "gpu_modes", "violation_pairs"):
            cut[name] = [value[j]]
        elif name == "training_modes":
            cut[name] = [[row[j]] for row in value]
        else:
            cut[name] = value
    return Evidence(**cut)  # type: ignore[arg-type]


# Evidence's one-dimensional per-substrate fields (the others are per tenant).
_PER_SUBSTRATE = ("substrate_", "gpu_efficiency", "host_", "hypervisor_", "vm_")


def _workload_keys(scenario: Scenario) -> list[tuple[int, str, Workload]]:
    """(tenant index, tenant/cluster/workload, the workload) of every workload, in order."""
    return [
        (ti, workload_key(t.name, c.name, w.name), w)
        for ti, t in enumerate(scenario.tenants)
        for c in t.clusters
        for w in c.workloads
    ]


def _unit_of(key: str, per_workload: bool) -> str:
    return key if per_workload else workload_tenant(key)


def plan_hybrid(scenario: Scenario, assignment: dict[str, str], label: str) -> Hybrid:
    """``assignment`` (a :class:`HybridPlan`'s) as a hybrid substrate called ``label``."""
    per_workload = scenario.constraints.assign == "workload"
    order = {lab: i for i, lab in enumerate(scenario.substrate_labels)}
    # each workload's part: (substrate label, part index in a hybrid column or -1)
    where: dict[tuple[str, int], list[tuple[int, str, int]]] = {}
    every = _workload_keys(scenario)
    for ti, key, w in every:
        sub_label = assignment[_unit_of(key, per_workload)]
        sub = scenario.substrate(sub_label)
        part = -1
        if isinstance(sub, Hybrid):
            tenant = scenario.tenants[ti]
            part = sub.workload_part(tenant.name, tenant.isolation, w.gpu_count, key, w.labels) or 0
        where.setdefault((sub_label, part), []).append((ti, key, w.gpu_count))
    everything = Counter(ti for ti, _, _ in every)
    keys = sorted(where, key=lambda k: (not any(g > 0 for _, _, g in where[k]), order[k[0]], k[1]))
    parts = []
    for sub_label, part in keys:
        sub = scenario.substrate(sub_label)
        name, substrate, hosts, racks = sub_label, sub, [], []
        if isinstance(sub, Hybrid):
            name = f"{sub_label}-{sub.parts[part].name}"[:63].rstrip("-_.")
            # the column's part with its own host models and racks: a site stays on its boxes
            source = sub.parts[part]
            substrate, hosts, racks = source.substrate, source.hosts, source.racks
        members = where[(sub_label, part)]
        count = Counter(ti for ti, _, _ in members)
        whole = [ti for ti, n in count.items() if n == everything[ti]]
        parts.append(
            HybridPart(
                name=name,
                substrate=substrate,  # never a hybrid (above)
                tenants=[scenario.tenants[ti].name for ti in whole],
                workloads=[key for ti, key, _ in members if ti not in whole],
                hosts=hosts,
                racks=racks,
            )
        )
    return Hybrid(kind="hybrid", name=label, parts=parts)


def _tenant_units(ev: Evidence, plan: HybridPlan) -> tuple[list[list[int]], list[str], F64]:
    """Per tenant its units (indices into the problem's), each unit's substrate index and
    pods."""
    per_workload = ev.scenario.constraints.assign == "workload"
    units = list(plan.assignment)
    of: list[list[int]] = [[] for _ in ev.tenants]
    index = {t: i for i, t in enumerate(ev.tenants)}
    pods = np.zeros(len(units))
    replicas = {key: w.replicas for _, key, w in _workload_keys(ev.scenario)}
    for u, key in enumerate(units):
        tenant = workload_tenant(key) if per_workload else key
        of[index[tenant]].append(u)
        pods[u] = replicas[key] if per_workload else ev.pods[index[tenant]]
    return of, [plan.assignment[k] for k in units], pods


def _weighted(values: F64, pods: F64) -> float:
    if len(values) == 1:  # one unit: its figure as it is
        return float(values[0])
    total = float(pods.sum())
    return float(values @ pods / total) if total > 0 else float(values.mean())


def predicted_round(ev: Evidence, plan: HybridPlan) -> PlanRound:
    """What the optimiser predicted for ``plan`` from ``ev`` (nothing measured yet)."""
    problem = hybrid_problem(ev)
    of, subs, pods = _tenant_units(ev, plan)
    col = {s: j for j, s in enumerate(ev.substrates)}
    s_of = np.array([col[s] for s in subs], np.int64)
    unit_cost = problem.cost[np.arange(len(subs)), s_of]
    tenants = []
    for t, units in enumerate(of):
        u = np.array(units, np.int64)
        js = s_of[u]
        tenants.append(
            PlanTenant(
                name=ev.tenants[t],
                where=" + ".join(dict.fromkeys(subs[i] for i in units)),
                predicted_cost=float(unit_cost[u].sum()),
                measured_cost=None,
                predicted_sla=_weighted(ev.sla_probability[t, js], pods[u]),
                measured_sla=None,
                predicted_cpu_sla=_weighted(ev.cpu_sla[t, js], pods[u]),
                measured_cpu_sla=None,
                measured_placed=None,
            )
        )
    weight = ev.pods
    return PlanRound(
        assignment=dict(plan.assignment),
        predicted_cost=plan.cost_usd_per_month,
        measured_cost=None,
        predicted_sla=_weighted(np.array([t.predicted_sla for t in tenants]), weight),
        measured_sla=None,
        predicted_cpu_sla=_weighted(np.array([t.predicted_cpu_sla for t in tenants]), weight),
        measured_cpu_sla=None,
        pods_unplaced=None,
        tenants=tenants,
    )


def measured_round(predicted: PlanRound, measured: Evidence) -> PlanRound:
    """``predicted`` with the figures of ``measured`` (the plan's one-column evidence)."""
    tenants = [
        replace(
            t,
            measured_cost=float(measured.cost[i, 0]),
            measured_sla=float(measured.sla_probability[i, 0]),
            measured_cpu_sla=float(measured.cpu_sla[i, 0]),
            measured_placed=float(measured.placed[i, 0]),
        )
        for i, t in enumerate(predicted.tenants)
    ]
    pods = measured.pods
    unplaced = round(float(((1 - measured.placed[:, 0]) * pods).sum()))
    return replace(
        predicted,
        measured_cost=float(measured.substrate_cost[0]),
        measured_sla=_weighted(measured.sla_probability[:, 0], pods),
        measured_cpu_sla=_weighted(measured.cpu_sla[:, 0], pods),
        pods_unplaced=unplaced,
        tenants=tenants,
    )


def with_measured(ev: Evidence, measured_round: PlanRound, measured: Evidence) -> Evidence:
    """``ev`` with each tenant's figures on the substrates ``measured_round``'s plan gave it
    replaced by the ones ``measured`` (the plan's one-column evidence) holds."""
    col = {s: j for j, s in enumerate(ev.substrates)}
    fields = ("cost", "capex", "licences", "host_bound", "sla_probability", "cpu_sla")
    arrays: dict[str, F64] = {
        f: np.array(getattr(ev, f), np.float64) for f in (*fields, "exposure", "placed")
    }
    on: list[set[int]] = [set() for _ in ev.tenants]
    for t, pt in enumerate(measured_round.tenants):
        js = [col[s] for s in pt.where.split(" + ")]
        on[t] = set(js)
        ratio = (
            measured.cost[t, 0] / pt.predicted_cost
            if pt.predicted_cost > 0
            else (1.0 if measured.cost[t, 0] == 0 else np.inf)
        )
        for j in js:
            for f in ("cost", "capex", "licences", "host_bound"):
                if np.isfinite(ratio):
                    arrays[f][t, j] *= ratio
                else:  # nothing predicted: the measured figure, split evenly
                    arrays[f][t, j] = float(getattr(measured, f)[t, 0]) / len(js)
            arrays["sla_probability"][t, j] = measured.sla_probability[t, 0]
            arrays["cpu_sla"][t, j] = measured.cpu_sla[t, 0]
            arrays["exposure"][t, j] = measured.exposure[t, 0]
            arrays["placed"][t, j] = measured.placed[t, 0]
    pairs = [list(p) for p in ev.violation_pairs]
    for a, b in measured.violation_pairs[0]:
        for j in sorted(on[a] & on[b]):
            if (a, b) not in pairs[j]:
                pairs[j].append((a, b))
    return replace(
        ev,
        violation_pairs=[sorted(p) for p in pairs],
        cost=arrays["cost"],
        capex=arrays["capex"],
        licences=arrays["licences"],
        host_bound=arrays["host_bound"],
        sla_probability=arrays["sla_probability"],
        cpu_sla=arrays["cpu_sla"],
        exposure=arrays["exposure"],
        placed=arrays["placed"],
    )
