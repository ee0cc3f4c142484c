"""A sweep's points as jobs: each point's scenario written out and validated before any
runs, and :func:`run_point`, the full comparison of one point (what ``compare --json``
gives: placement, replay, analyses, decision).

A job carries its scenario as YAML text, so it pickles small and runs anywhere (a local
process, a Ray worker); the worker validates it again, reading its traces itself.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from underlay.errors import InputError, ScenarioError
from underlay.files import read_text, yaml_text
from underlay.model.loading import MAX_SCENARIO_BYTES, parse_scenario
from underlay.model.strict_yaml import clip, parse_yaml
from underlay.sweeps.grid import Grid, Scalar, apply_point

__all__ = ["PointJob", "PointResult", "jobs", "run_point"]


@dataclass(frozen=True)
class PointJob:
    """One point to run: its index in the sweep, parameters and scenario text."""

    index: int
    parameters: dict[str, Scalar]
    text: str  # the point's scenario, as YAML
    source: str  # names it in messages: the scenario file and the point
    base_dir: Path  # the scenario's folder: its trace files are found from there
    allow_paths: bool = False


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
        point_text = yaml_text(apply_point(data, grid, point))
        source = f"{scenario_path} (point {index}: {_shown(point)})"
        if point_text not in checked:
            checked[point_text] = _problem(point_text, source, base_dir, allow_paths)
        if checked[point_text]:
            raise InputError(_blame(data, grid, point, base_dir, allow_paths, checked[point_text]))
        out.append(PointJob(index, point, point_text, source, base_dir, allow_paths))
    return out


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
