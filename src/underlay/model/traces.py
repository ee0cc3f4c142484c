"""The trace files a scenario's workloads replay, read when the scenario is loaded.

A workload with ``usage: {model: trace, trace: FILE, series: [...]}`` replays series of a
file in underlay's trace format (:mod:`underlay.importers.trace_format`). The loader
(:func:`underlay.model.loading.parse_scenario`, given the scenario's folder) reads every
such file once, strictly, and checks that the series named exist, so a bad trace is
refused with the scenario, before anything is placed; the simulation then replays the
series read. A scenario built another way (``Scenario.model_validate``) has its traces
read when they are first needed, with the same checks.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from underlay.errors import ScenarioError
from underlay.importers.trace_format import TraceSeries, read_trace
from underlay.model.scenario import Scenario, Workload

__all__ = [
    "TraceFiles",
    "read_traces",
    "retarget_traces",
    "scenario_traces",
    "series_problems",
    "trace_workloads",
]

TraceFiles = dict[Path, dict[str, TraceSeries]]
"""Trace files by resolved path: series name → series, in file order."""

Loc = tuple[int | str, ...]


def trace_workloads(scenario: Scenario) -> Iterator[tuple[Loc, Workload, Path]]:
    """``(field path of its usage, workload, resolved trace file)`` for every workload that
    replays a trace, in file order."""
    for ti, tenant in enumerate(scenario.tenants):
        for ci, cluster in enumerate(tenant.clusters):
            for wi, workload in enumerate(cluster.workloads):
                usage = workload.usage
                if usage.model == "trace" and usage.trace:
                    loc = ("tenants", ti, "clusters", ci, "workloads", wi, "usage")
                    yield loc, workload, (scenario.base_dir / usage.trace).resolve()


def read_traces(scenario: Scenario) -> TraceFiles:
    """Every trace file ``scenario`` replays, each read once (a bad file raises
    :class:`~underlay.errors.TraceError` naming its line and column)."""
    files: TraceFiles = {}
    for _, _, path in trace_workloads(scenario):
        if path not in files:
            files[path] = read_trace(path)
    return files


def series_problems(scenario: Scenario, traces: TraceFiles) -> list[tuple[Loc, str]]:
    """Series that workloads name but their trace file does not have, as (field path,
    problem)."""
    problems: list[tuple[Loc, str]] = []
    for loc, workload, path in trace_workloads(scenario):
        available = traces[path]
        for si, name in enumerate(workload.usage.series):
            if name not in available:
                some = ", ".join(list(available)[:3])
                problems.append(
                    (
                        (*loc, "series", si),
                        f"no series {name!r} in {workload.usage.trace} (the file has "
                        f"{len(available)} series, e.g. {some})",
                    )
                )
    return problems


def scenario_traces(scenario: Scenario) -> TraceFiles:
    """The trace files read when ``scenario`` was loaded; when it was not loaded from a
    file, read now (relative to its ``base_dir``) and checked as the loader would."""
    loaded = scenario.loaded_traces
    if loaded is not None:
        return cast(TraceFiles, loaded)
    traces = read_traces(scenario)
    problems = series_problems(scenario, traces)
    if problems:
        loc, message = problems[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        raise ScenarioError(f"{where}: {message}")
    scenario.with_traces(traces)
    return traces


def retarget_traces(data: Any, source_dir: Path, target_dir: Path) -> bool:
    """The ``trace`` files (and the ``calibration`` file) named in scenario ``data`` relative to ``source_dir`` (the
    scenario's folder), renamed relative to ``target_dir`` (where a file made from it is
    written: a plan, an import); whether one now lies outside that folder (the new file
    then needs ``--allow-paths``)."""
    outside = False
    if isinstance(data, dict):
        for key, value in data.items():
            # a workload's trace file, and the scenario's calibration file
            if (
                key in ("trace", "calibration")
                and isinstance(value, str)
                and not Path(value).is_absolute()
            ):
                data[key] = os.path.relpath((source_dir / value).resolve(), target_dir.resolve())
                outside |= data[key].startswith("..")
            else:
                outside |= retarget_traces(value, source_dir, target_dir)
    elif isinstance(data, list):
        for item in data:
            outside |= retarget_traces(item, source_dir, target_dir)
    return outside
