"""The pipeline as plain functions: scenario → placement per substrate → static analysis.

This is the Python API notebooks use; the CLI is a thin layer over it. It is the
orchestrator, just below the CLI: no stage imports it. The bundles it returns belong to
their stages (:class:`Comparison` and :class:`Analysis` in
:mod:`underlay.analysis.results`, :class:`Simulation` in :mod:`underlay.simulation.results`)
and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from underlay.analysis.capacity import analyse_capacity
from underlay.analysis.results import SECTIONS, Analysis, Comparison, SubstrateAnalysis
from underlay.defaults.catalog import Defaults, load_defaults
from underlay.errors import ScenarioError
from underlay.model.calibration import scenario_overrides
from underlay.model.scenario import Hybrid, Scenario, Vm
from underlay.placement.framework import Registry
from underlay.placement.result import SubstratePlacement
from underlay.placement.substrates import place_substrate
from underlay.simulation.results import Simulation

__all__ = [
    "SECTIONS",
    "Analysis",
    "Comparison",
    "Simulation",
    "SubstrateAnalysis",
    "analyse",
    "compare",
    "place",
    "simulate",
    "total_pods",
]


def total_pods(scenario: Scenario) -> int:
    """Pods the scenario asks for, across all tenants."""
    return sum(w.replicas for t in scenario.tenants for c in t.clusters for w in c.workloads)


def compare(
    scenario: Scenario,
    *,
    substrates: Sequence[str] | None = None,
    strategy: str | None = None,
    on_substrate: Callable[[str], None] | None = None,
    on_pods: Callable[[int], None] | None = None,
    registry: Registry | None = None,
) -> Comparison:
    """Place and analyse ``scenario`` on each chosen substrate (default: all it lists).

    ``registry`` holds the placement plugins and strategies (the built-in ones when None;
    ``default_registry().merge(own)`` adds a site's own); ``strategy`` may name one of its
    strategies, which the scenario file itself cannot (the loader knows the built-in ones).
    """
    if strategy is not None:
        scenario = scenario.model_copy(
            update={"placement": scenario.placement.model_copy(update={"strategy": strategy})}
        )
    defaults = load_defaults(scenario_overrides(scenario))
    labels = scenario.substrate_labels
    chosen = list(substrates) if substrates else labels
    for label in chosen:
        if label not in labels:
            raise ScenarioError(
                f"substrate {label!r} is not in the scenario (it lists: {', '.join(labels)})"
            )
    placements, statics = [], []
    peaks = _peaks(scenario, defaults, chosen)
    for label in chosen:
        if on_substrate:
            on_substrate(label)
        placement = place_substrate(
            scenario, defaults, label, progress=on_pods, peaks=peaks, registry=registry
        )
        placements.append(placement)
        statics.append(analyse_capacity(scenario, defaults, placement))
    return Comparison(scenario, defaults, statics, placements)


def _peaks(
    scenario: Scenario, defaults: Defaults, labels: Sequence[str]
) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """Each workload's usage peak, when a chosen vm substrate sizes its VMs by it."""
    chosen = [scenario.substrate(label) for label in labels]
    subs = [p.substrate for s in chosen if isinstance(s, Hybrid) for p in s.parts] + chosen
    if not any(isinstance(s, Vm) and s.sizing == "peak" for s in subs):
        return None
    from underlay.placement.substrates import flatten
    from underlay.simulation.usage import workload_peaks

    _, workloads = flatten(scenario)
    return workload_peaks(scenario, workloads, defaults.vm_sizing.peak_percentile)


def place(
    scenario: Scenario,
    defaults: Defaults,
    label: str,
    *,
    progress: Callable[[int], None] | None = None,
    registry: Registry | None = None,
) -> SubstratePlacement:
    """Place ``scenario`` on substrate ``label`` (drawing usage peaks when its VMs are sized
    by them), with ``registry``'s plugins (the built-in ones when None)."""
    peaks = _peaks(scenario, defaults, [label])
    return place_substrate(
        scenario, defaults, label, progress=progress, peaks=peaks, registry=registry
    )


def simulate(
    scenario: Scenario,
    *,
    substrates: Sequence[str] | None = None,
    seed: int | None = None,
    comparison: Comparison | None = None,
    on_substrate: Callable[[str], None] | None = None,
    on_steps: Callable[[int], None] | None = None,
    workers: int | None = None,
    ray: str | None = None,
) -> Simulation:
    """Place (or reuse ``comparison``'s placements) and replay usage over the horizon.

    ``workers`` local processes replay each placement, split by groups of whole hosts
    (None: the machine's cores when the fleet is large enough, else 1); ``ray`` (an
    address, or ``"local"``: a Ray instance started here with ``workers`` CPUs) runs them
    on Ray instead, in ``workers`` groups (None: one per CPU of the cluster). The figures
    are the same every way (:mod:`underlay.simulation.partition`)."""
    from contextlib import nullcontext

    from underlay.simulation.partition_workers import RaySession, check_workers, replay_placement

    check_workers(workers)
    if comparison is None:
        comparison = compare(scenario, substrates=substrates)
    results = []
    with RaySession(ray, workers) if ray is not None else nullcontext() as session:
        for placement in comparison.placements:
            if on_substrate:
                on_substrate(placement.name)
            results.append(
                replay_placement(
                    scenario,
                    comparison.defaults,
                    placement,
                    seed=seed,
                    workers=workers,
                    ray=session,
                    progress=on_steps,
                )
            )
    used = scenario.simulation.seed if seed is None else seed
    return Simulation(scenario, comparison.placements, results, used)


def analyse(
    comparison: Comparison,
    simulation: Simulation | None = None,
    *,
    sections: Sequence[str] = SECTIONS,
    trials: int | None = None,
    seed: int | None = None,
    on_step: Callable[[str], None] | None = None,
) -> Analysis:
    """Run the chosen analyses on ``comparison``'s placements (cost uses ``simulation``'s
    utilisation and SLA attainment when given)."""
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        raise ScenarioError(
            f"unknown analysis section {unknown[0]!r} (known: {', '.join(SECTIONS)})"
        )
    sc, defaults = comparison.scenario, comparison.defaults
    used_seed = (
        seed
        if seed is not None
        else (sc.failures.seed if sc.failures.seed is not None else sc.simulation.seed)
    )
    sims = {r.name: r for r in simulation.results} if simulation else {}
    out = []
    for placement, static in zip(comparison.placements, comparison.substrates, strict=True):

        def step(what: str, name: str = placement.name) -> None:
            if on_step:
                on_step(f"{what} on {name}")

        iso = fail = life = cost = None
        if "isolation" in sections:
            from underlay.analysis.isolation import analyse_isolation

            step("isolation")
            iso = analyse_isolation(sc, defaults, placement)
        if "failures" in sections:
            from underlay.analysis.failures import analyse_failures

            step("failures")
            fail = analyse_failures(sc, defaults, placement, trials=trials, seed=used_seed)
        if "lifecycle" in sections:
            from underlay.analysis.lifecycle import analyse_lifecycle

            step("lifecycle")
            life = analyse_lifecycle(sc, defaults, placement)
        if "cost" in sections:
            from underlay.analysis.cost import analyse_cost

            step("cost")
            cost = analyse_cost(sc, defaults, placement, static, sims.get(placement.name))
        out.append(SubstrateAnalysis(placement.name, iso, fail, life, cost))
    return Analysis(sc, tuple(s for s in SECTIONS if s in sections), out, used_seed)
