"""The pipeline as plain functions: scenario → placement per substrate → static analysis.

This is the Python API notebooks use; the CLI is a thin layer over it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from underlay.analysis.capacity import SubstrateStatic, analyse
from underlay.defaults.catalog import Defaults, load_defaults
from underlay.errors import ScenarioError
from underlay.model.scenario import Scenario
from underlay.placement.result import SubstratePlacement
from underlay.placement.substrates import place_substrate
from underlay.simulation.results import SubstrateSimulation

__all__ = ["Comparison", "Simulation", "compare", "simulate", "total_pods"]


@dataclass(frozen=True)
class Comparison:
    """The static comparison of every chosen substrate for one scenario."""

    scenario: Scenario
    defaults: Defaults
    substrates: list[SubstrateStatic]
    placements: list[SubstratePlacement]


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
) -> Comparison:
    """Place and analyse ``scenario`` on each chosen substrate (default: all it lists)."""
    if strategy is not None:
        scenario = scenario.model_copy(
            update={"placement": scenario.placement.model_copy(update={"strategy": strategy})}
        )
    defaults = load_defaults(scenario.overrides)
    labels = scenario.substrate_labels
    chosen = list(substrates) if substrates else labels
    for label in chosen:
        if label not in labels:
            raise ScenarioError(
                f"substrate {label!r} is not in the scenario (it lists: {', '.join(labels)})"
            )
    placements, statics = [], []
    for label in chosen:
        if on_substrate:
            on_substrate(label)
        placement = place_substrate(scenario, defaults, label, progress=on_pods)
        placements.append(placement)
        statics.append(analyse(scenario, defaults, placement))
    return Comparison(scenario, defaults, statics, placements)


@dataclass(frozen=True)
class Simulation:
    """The time-stepped replay on every chosen substrate."""

    scenario: Scenario
    placements: list[SubstratePlacement]
    results: list[SubstrateSimulation]
    seed: int  # the usage models' seed this run used


def simulate(
    scenario: Scenario,
    *,
    substrates: Sequence[str] | None = None,
    seed: int | None = None,
    comparison: Comparison | None = None,
    on_substrate: Callable[[str], None] | None = None,
    on_steps: Callable[[int], None] | None = None,
) -> Simulation:
    """Place (or reuse ``comparison``'s placements) and replay usage over the horizon."""
    from underlay.simulation.engine import simulate_substrate

    if comparison is None:
        comparison = compare(scenario, substrates=substrates)
    results = []
    for placement in comparison.placements:
        if on_substrate:
            on_substrate(placement.name)
        results.append(
            simulate_substrate(
                scenario, comparison.defaults, placement, seed=seed, progress=on_steps
            )
        )
    used = scenario.simulation.seed if seed is None else seed
    return Simulation(scenario, comparison.placements, results, used)
