"""The bundles a run's stages hand on: the static :class:`Comparison` and the
:class:`Analysis` of every chosen substrate (plain data).

They live in the analysis stage, whose results they hold, so the decision and the report
read them without importing the orchestrator (:mod:`underlay.pipeline`, which fills them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from underlay.analysis.capacity_results import SubstrateCapacity
from underlay.defaults.catalog import Defaults
from underlay.model.scenario import Scenario
from underlay.placement.result import SubstratePlacement

if TYPE_CHECKING:  # each analysis loads when it runs (the CLI starts faster)
    from underlay.analysis.cost import SubstrateCost
    from underlay.analysis.failures import SubstrateFailures
    from underlay.analysis.isolation import SubstrateIsolation
    from underlay.analysis.lifecycle import SubstrateLifecycle

__all__ = ["SECTIONS", "Analysis", "Comparison", "SubstrateAnalysis"]

SECTIONS = ("isolation", "failures", "lifecycle", "cost")
"""The analyses a run can ask for, in the order they run and are reported."""


@dataclass(frozen=True)
class Comparison:
    """The static comparison of every chosen substrate for one scenario."""

    scenario: Scenario
    defaults: Defaults
    substrates: list[SubstrateCapacity]
    placements: list[SubstratePlacement]


@dataclass(frozen=True)
class SubstrateAnalysis:
    """The analyses of one substrate (a section not asked for is None)."""

    name: str
    isolation: SubstrateIsolation | None
    failures: SubstrateFailures | None
    lifecycle: SubstrateLifecycle | None
    cost: SubstrateCost | None


@dataclass(frozen=True)
class Analysis:
    """Isolation, failures, lifecycle and cost on every chosen substrate."""

    scenario: Scenario
    sections: tuple[str, ...]
    substrates: list[SubstrateAnalysis]
    failure_seed: int  # the Monte Carlo's seed this run used
