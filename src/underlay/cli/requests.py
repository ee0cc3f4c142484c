"""What a scenario verb asks of a run (:class:`RunOptions`) and what the run's stages
produced (:class:`RunResults`): shared by the run flow (``run.py``) and the renderers
(``render.py``), so that neither imports the other's module for them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from underlay.analysis.results import Analysis, Comparison
from underlay.model.scenario import Scenario
from underlay.simulation.results import Simulation

if TYPE_CHECKING:
    from underlay.decision.results import Decision

__all__ = ["RunOptions", "RunResults"]


@dataclass(frozen=True)
class RunOptions:
    """What a scenario verb asks of a run: its parsed options, and what it shows."""

    path: Path  # the scenario file
    as_json: bool = False  # --json
    substrates: list[str] | None = None  # --substrate: names or kinds (None: all)
    strategy: str | None = None  # --strategy, overriding the scenario's
    simulate: bool = False  # replay usage over time
    sections: tuple[str, ...] = ()  # the analyses to run (none: no analysis)
    seed: int | None = None  # --seed, overriding the scenario's
    trials: int | None = None  # --trials, overriding the scenario's
    output: Path | None = None  # --output: the terminal tables or the JSON go there
    all_tenants: bool = False  # --all-tenants: no cut at 25 tenants
    show_placement: bool = False  # compare: the substrate table and the simulation's summary
    weights: tuple[str, ...] = ()  # --weight FACTOR=WEIGHT, as given
    decide: bool = False  # score the substrates and give the verdict
    report: Path | None = None  # --report: the HTML report
    markdown: Path | None = None  # --markdown: the Markdown report
    csv: Path | None = None  # --csv: every report table, one cell a line
    plan: Path | None = None  # recommend: where the plan scenario goes (beside it by default)
    recommend: bool = False  # recommend: the decision alone; no plan is an error
    rounds: int | None = None  # recommend: plans measured at most (plan_loop.MAX_ROUNDS)
    width: int | None = None  # --width
    allow_paths: bool = False  # trace files outside the scenario's folder may be read
    db: Path | None = None  # compare --db: the run is stored in this DuckDB results file
    workers: int | None = None  # --workers: local processes per replay (None: by fleet size)
    ray: str | None = None  # --ray: replay on this Ray cluster ("local": started here)


@dataclass(frozen=True)
class RunResults:
    """What a run's stages produced, for the renderers."""

    scenario: Scenario  # as loaded, with --seed applied
    comparison: Comparison
    simulation: Simulation | None
    analysis: Analysis | None
    decision: Decision | None
