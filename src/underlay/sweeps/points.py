"""A sweep's points as jobs: each point's scenario written out and validated before any
runs, and :func:`run_point`, the full comparison of one point (what ``compare --json``
gives: placement, replay, analyses, decision).

A job carries its scenario as YAML text, so it pickles small and runs anywhere (a local
process, a Ray worker); the worker validates it again, reading its traces itself.

Evidence is shared: a field that only the decision reads (:data:`DECISION_ONLY`: the
scenario's ``weights``) changes no placement, replay or analysis, so points whose
scenarios differ only there share one evidence key, and :func:`group_results` runs a
group of them with one comparison, replay and analysis (and one hybrid plan and Pareto
frontier, which read no weight), scoring each point with its own weights. Each point's document is the one it would have alone (a test checks equality).
"""

from __future__ import annotations

import pickle
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from underlay.errors import InputError, ScenarioError
from underlay.files import read_text, yaml_text
from underlay.model.loading import MAX_SCENARIO_BYTES, parse_scenario
from underlay.model.strict_yaml import clip, parse_yaml
from underlay.sweeps.grid import Grid, Scalar, apply_point

if TYPE_CHECKING:
    from underlay.model.scenario import Scenario

__all__ = [
    "DECISION_ONLY",
    "PointJob",
    "PointResult",
    "evidence_key",
    "group_results",
    "jobs",
    "run_group",
    "run_point",
]

DECISION_ONLY = ("weights",)
"""Top-level scenario fields read only by the decision (``decide`` takes the weights
from the scenario; placement, replay and analyses never read them)."""


@dataclass(frozen=True)
class PointJob:
    """One point to run: its index in the sweep, parameters and scenario text."""

    index: int
    parameters: dict[str, Scalar]
    text: str  # the point's scenario, as YAML
    source: str  # names it in messages: the scenario file and the point
    base_dir: Path  # the scenario's folder: its trace files are found from there
    allow_paths: bool = False
    evidence: str = ""  # evidence_key of its scenario: equal keys, equal evidence


@dataclass(frozen=True)
class PointResult:
    """What a point gave: its ``compare --json`` document, or the error that stopped it."""

    index: int
    document: dict[str, Any] | None
    error: str | None
    seconds: float


def jobs(
    scenario_path: Path,
    grid: Grid,
    points: list[dict[str, Scalar]],
    *,
    allow_paths: bool = False,
) -> list[PointJob]:
    """Every point's job, each scenario validated (InputError naming the grid's line and
    key when a value breaks the scenario; the point when only a combination does)."""
    text = read_text(
        scenario_path, ScenarioError, "a YAML scenario file", max_bytes=MAX_SCENARIO_BYTES
    )
    _, data = parse_yaml(text, str(scenario_path))
    if not isinstance(data, dict):
        raise ScenarioError(f"{scenario_path}: expected a mapping of scenario fields at the top")
    base_dir = scenario_path.resolve().parent
    checked: dict[str, str] = {}  # point text → its scenario error ("" when valid)
    out = []
    for index, point in enumerate(points):
        applied = apply_point(data, grid, point)
        point_text = yaml_text(applied)
        source = f"{scenario_path} (point {index}: {_shown(point)})"
        if point_text not in checked:
            checked[point_text] = _problem(point_text, source, base_dir, allow_paths)
        if checked[point_text]:
            raise InputError(_blame(data, grid, point, base_dir, allow_paths, checked[point_text]))
        evidence = evidence_key(applied)
        out.append(PointJob(index, point, point_text, source, base_dir, allow_paths, evidence))
    return out


def evidence_key(data: dict[str, Any]) -> str:
    """Raw scenario ``data`` without its decision-only fields, as text: two scenarios with
    the same key have the same placement, replay and analyses."""
    return yaml_text({k: v for k, v in data.items() if k not in DECISION_ONLY})


def _shown(point: dict[str, Scalar]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in point.items())


def _problem(text: str, source: str, base_dir: Path, allow_paths: bool) -> str:
    try:
        parse_scenario(text, source=source, base_dir=base_dir, allow_paths=allow_paths)
    except ScenarioError as exc:
        return str(exc)
    return ""


def _blame(
    data: dict[str, Any],
    grid: Grid,
    point: dict[str, Scalar],
    base_dir: Path,
    allow_paths: bool,
    problem: str,
) -> str:
    """The message for a point whose scenario is invalid: the key whose value alone breaks
    it (its line in the grid file), else the combination."""
    for axis in grid.axes:
        single = Grid(grid.source, (axis,))
        text = yaml_text(apply_point(data, single, {axis.key: point[axis.key]}))
        alone = _problem(text, "the scenario", base_dir, allow_paths)
        if alone:
            return f"{grid.where(axis.key)}: value {clip(point[axis.key])} breaks the scenario: {_tail(alone).removeprefix('the scenario: ')}"
    return f"{grid.source}: this combination breaks the scenario: {_tail(problem)}"


def _tail(message: str) -> str:
    """A scenario error without the line in the generated point file (not the user's)."""
    return re.sub(r": line \d+(, column \d+)?: ", ": ", message, count=1)


def run_group(group: list[PointJob]) -> list[PointResult]:
    """:func:`group_results` as a list (what a pool or Ray task returns)."""
    return list(group_results(group))


def group_results(group: list[PointJob]) -> Iterator[PointResult]:
    """Each job's result, in order, for jobs of one evidence key: the first point's
    evidence computed once, each point decided with its own weights. A group of one is
    :func:`run_point` (looked up at each call, so a test can count the runs)."""
    if len(group) == 1:
        yield run_point(group[0])
        return
    if len({job.evidence for job in group}) != 1:
        raise ValueError("a group's jobs must share their evidence key")
    from underlay.decision.decide import decide, redecide
    from underlay.errors import UnderlayError
    from underlay.pipeline import analyse, compare, simulate
    from underlay.report.json import comparison_to_dict
    from underlay.report.json_decision import decision_to_dict

    start = time.perf_counter()
    try:
        first = _parse(group[0])
        comparison = compare(first)
        simulation = simulate(first, comparison=comparison)
        analysis = analyse(comparison, simulation)
        evidence = comparison_to_dict(comparison, simulation, analysis)
    except UnderlayError as exc:  # the evidence fails: so does every point of the group
        seconds = (time.perf_counter() - start) / len(group)
        for job in group:
            yield PointResult(job.index, None, str(exc), seconds)
        return
    kept = pickle.dumps(evidence)  # each point's document its own copy (faster than deepcopy)
    decision = None  # the first point's: its plan and frontier hold for the others
    for job in group:
        try:
            weights = _parse(job).weights.as_dict()
            if decision is None:
                decision = decide(comparison, simulation, analysis, weights=weights)
                mine = decision
            else:
                mine = redecide(decision, comparison, simulation, analysis, weights=weights)
        except UnderlayError as exc:
            yield PointResult(job.index, None, str(exc), time.perf_counter() - start)
        else:
            doc = pickle.loads(kept)
            doc["decision"] = decision_to_dict(mine)
            yield PointResult(job.index, doc, None, time.perf_counter() - start)
        start = time.perf_counter()


def _parse(job: PointJob) -> Scenario:
    return parse_scenario(
        job.text, source=job.source, base_dir=job.base_dir, allow_paths=job.allow_paths
    )


def run_point(job: PointJob) -> PointResult:
    """The full comparison of ``job``'s scenario, as ``compare --json`` gives it; an
    UnderlayError (an impossible point) is returned as the point's error."""
    from underlay.decision.decide import decide
    from underlay.errors import UnderlayError
    from underlay.pipeline import analyse, compare, simulate
    from underlay.report.json import comparison_to_dict
    from underlay.report.json_decision import decision_to_dict

    start = time.perf_counter()
    try:
        sc = parse_scenario(
            job.text, source=job.source, base_dir=job.base_dir, allow_paths=job.allow_paths
        )
        comparison = compare(sc)
        # one process per point: the sweep already keeps every core busy
        simulation = simulate(sc, comparison=comparison, workers=1)
        analysis = analyse(comparison, simulation)
        decision = decide(comparison, simulation, analysis)
    except UnderlayError as exc:
        return PointResult(job.index, None, str(exc), time.perf_counter() - start)
    doc = comparison_to_dict(comparison, simulation, analysis)
    doc["decision"] = decision_to_dict(decision)
    return PointResult(job.index, doc, None, time.perf_counter() - start)
