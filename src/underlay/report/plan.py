"""The hybrid plan as an editable scenario file: the user's scenario, each tenant pinned to
the substrate the plan gives it (``constraints.allowed``), with the verdict and the reasons
as a comment on top. Running ``underlay recommend`` or ``compare`` on it again evaluates
the plan; widening a tenant's list lets the optimiser choose again. The run's command-line
settings (``--weight``, ``--seed``, ``--trials``, ``--substrate``) are written into the file
too, so that a second run without them gives the verdict and the figures of the header."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from underlay.decision.results import Decision
from underlay.errors import InputError
from underlay.files import read_text, yaml_text
from underlay.model.scenario import Scenario, workload_tenant
from underlay.model.traces import retarget_traces
from underlay.report.units import usd

__all__ = ["plan_scenario_yaml"]


def _number(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x


def _measured_lines(decision: Decision) -> list[str]:
    check = decision.plan_check
    if check is None:
        return []
    from underlay.report.tables_decision import plan_check_line

    lines = [f"# {plan_check_line(check)}"]
    if check.status != "not-measured":
        lines.append(
            f"# The plan is the substrate {check.label!r} (a hybrid): compare runs it as a "
            "column of its own."
        )
    return lines


def _write_run_settings(
    data: dict[str, Any],
    scenario: Scenario,
    decision: Decision,
    seed: int | None,
    trials: int | None,
) -> None:
    """The settings the run took from the command line, written into the file's fields."""
    weights = decision.scorecard.weights
    if weights != scenario.weights.as_dict():
        data["weights"] = {f: _number(w) for f, w in weights.items()}
    if seed is not None:  # --seed sets the usage models and the failure Monte Carlo
        data["simulation"] = {**(data.get("simulation") or {}), "seed": seed}
        data["failures"] = {**(data.get("failures") or {}), "seed": seed}
    if trials is not None:
        data["failures"] = {**(data.get("failures") or {}), "trials": trials}
    compared = [s.name for s in decision.scorecard.substrates]
    if compared != scenario.substrate_labels:  # --substrate: only those compared
        entries = data.get("substrates") or [{"kind": k} for k in scenario.substrate_labels]
        data["substrates"] = [e for e in entries if (e.get("name") or e.get("kind")) in compared]


def _write_hybrid(
    data: dict[str, Any], scenario: Scenario, assignment: dict[str, str], label: str
) -> None:
    """The plan as a ``hybrid`` substrate called ``label`` (in place of one so called):
    each part's substrate as the file writes it, so the next run compares the plan as a
    column of its own and measures it with the rest."""
    from underlay.decision.plan_check import plan_hybrid

    entries = data.get("substrates") or [{"kind": k} for k in scenario.substrate_labels]
    raw = {str(e.get("name") or e.get("kind")): e for e in entries}
    kept = [e for e in entries if (e.get("name") or e.get("kind")) != label]
    hybrid = plan_hybrid(scenario, assignment, label)
    parts = []
    for part in hybrid.parts:
        own = part.substrate.name or part.substrate.kind
        entry = raw.get(own)
        if entry is None or entry.get("kind") == "hybrid":  # a part of a hybrid column
            entry = next(
                q["substrate"]
                for e in entries
                if e.get("kind") == "hybrid"
                for q in e.get("parts", [])
                if part.name == f"{e.get('name') or 'hybrid'}-{q.get('name')}"[:63].rstrip("-_.")
            )
        out: dict[str, Any] = {"name": part.name, "substrate": copy.deepcopy(entry)}
        if part.tenants:
            out["tenants"] = list(part.tenants)
        if part.workloads:
            out["workloads"] = list(part.workloads)
        parts.append(out)
    data["substrates"] = [*kept, {"kind": "hybrid", "name": label, "parts": parts}]


def plan_scenario_yaml(
    source: Path,
    scenario: Scenario,
    decision: Decision,
    target: Path | None = None,
    *,
    seed: int | None = None,
    trials: int | None = None,
) -> str:
    """The scenario file at ``source`` with the plan written into it (comments are lost);
    relative trace paths are rewritten for a plan file written to ``target``; the run's
    weights, substrates and ``seed`` / ``trials`` (when given) are written in too."""
    plan = decision.hybrid
    assert plan is not None
    # The file was loaded moments ago; read it again through the one wording of files.py
    # (it may have gone or changed since: a clear error, not a traceback).
    text = read_text(source, InputError, "the YAML scenario file the plan is written into")
    data: dict[str, Any] = yaml.safe_load(text)
    outside = target is not None and retarget_traces(
        data.get("tenants"), source.parent, target.parent
    )
    _write_run_settings(data, scenario, decision, seed, trials)
    pinned: dict[str, list[str]] = {}
    per_workload = scenario.constraints.assign == "workload"
    for tenant in scenario.tenants:
        # tenant → substrate, or (workload plans) tenant/cluster/workload → substrate
        mine = [
            where
            for who, where in plan.assignment.items()
            # per-tenant plans key by name; per-workload ones by tenant/cluster/workload
            if (workload_tenant(who) if per_workload else who) == tenant.name
        ]
        pinned[tenant.name] = list(dict.fromkeys(mine))
    constraints = dict(data.get("constraints") or {})
    constraints["allowed"] = pinned
    data["constraints"] = constraints
    if decision.plan_check is not None and decision.plan_check.status != "not-measured":
        _write_hybrid(data, scenario, plan.assignment, decision.plan_check.label)
    v = decision.scorecard.verdict
    lead = ""
    if v.runner_up and v.placement_decides:
        lead = f", ahead of {v.runner_up}, which places fewer pods"
    elif v.runner_up:
        lead = f", {v.margin:.1f} points ahead of {v.runner_up}"
    lines = [
        f"# underlay plan for {scenario.name}, from {source.name}",
        f"# Least-cost plan meeting every constraint: {usd(plan.cost_usd_per_month)} a month.",
        f"# Verdict of the scorecard (one substrate for all): {v.winner}{lead}",
        *(f"#   - {r}" for r in v.reasons),
        *(f"# Applied: {c}" for c in plan.constraints),
        *(f"# Decided: {b}" for b in plan.binding),
        *_measured_lines(decision),
        "# Each tenant is pinned to its substrate under constraints.allowed; edit the lists",
        "# and run `underlay recommend` on this file again"
        + (" with --allow-paths (its traces are outside its folder)." if outside else "."),
        "",
    ]
    body = yaml_text(data)
    return "\n".join(line.replace("\n", " ") for line in lines) + body
