"""A sweep from start to end: the grid's points validated, those the results file does
not hold yet run (in this process, a local process pool, or on Ray), each committed to
the file as it ends.

A sweep is known by its identity — the scenario file's text, the grid file's text and the
sample asked — so running the same sweep into the same file again resumes it: the points
committed are skipped, the others run. A point that fails (an impossible scenario) is
committed too, with its error, and not run again.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from underlay.errors import InputError
from underlay.files import read_text
from underlay.report.results_db import ResultsDB
from underlay.sweeps import points as point_jobs
from underlay.sweeps.grid import load_grid, points
from underlay.sweeps.points import PointJob, PointResult
from underlay.version import __version__

__all__ = ["GROUP_MAX", "SweepSpec", "SweepSummary", "execute", "groups", "run_sweep"]


@dataclass(frozen=True)
class SweepSpec:
    """What ``underlay sweep`` was asked."""

    scenario: Path
    grid: Path
    db: Path
    workers: int | None = None  # local processes (None: the machine's cores; 1: this one)
    ray: str | None = None  # a Ray address, or "local": a Ray instance started here
    sample: str | None = None  # random | lhs (None: every combination)
    count: int | None = None  # points drawn by a sample
    seed: int = 0  # the sample's seed
    allow_paths: bool = False


@dataclass(frozen=True)
class SweepSummary:
    """How a sweep went."""

    sweep_id: int
    points: int  # in the sweep
    already: int  # committed before this run (resumed)
    ran: int  # run and committed now
    failed: int  # of those, points whose scenario could not be compared


def sweep_key(spec: SweepSpec, scenario_text: str, grid_text: str) -> str:
    """The sweep's identity: its scenario, grid and sample (not workers or Ray)."""
    what = json.dumps([scenario_text, grid_text, spec.sample, spec.count, spec.seed])
    return hashlib.sha256(what.encode()).hexdigest()


def run_sweep(
    spec: SweepSpec,
    *,
    on_start: Callable[[int, int], None] | None = None,
    on_point: Callable[[PointResult], None] | None = None,
) -> SweepSummary:
    """Run ``spec``'s points not yet in its results file; ``on_start(points, already)``
    once they are validated, ``on_point`` after each commit."""
    if spec.workers is not None and not 1 <= spec.workers <= 1024:
        raise InputError(f"--workers: must be from 1 to 1,024, got {spec.workers}")
    grid = load_grid(spec.grid)
    pts = points(grid, sample=spec.sample, count=spec.count, seed=spec.seed)
    all_jobs = point_jobs.jobs(spec.scenario, grid, pts, allow_paths=spec.allow_paths)
    scenario_text = read_text(spec.scenario, InputError, "a YAML scenario file")
    key = sweep_key(spec, scenario_text, read_text(spec.grid, InputError, "a YAML sweep grid"))
    with ResultsDB(spec.db) as db:
        sweep_id, _ = db.sweep_id(
            key,
            scenario=_scenario_name(all_jobs),
            scenario_path=str(spec.scenario),
            grid_path=str(spec.grid),
            sample=spec.sample or "grid",
            sample_seed=spec.seed,
            points=len(pts),
            parameters=json.dumps([a.key for a in grid.axes]),
            underlay_version=__version__,
        )
        done = db.finished_points(sweep_id)
        todo = [j for j in all_jobs if j.index not in done]
        if on_start:
            on_start(len(all_jobs), len(done))
        ran = failed = 0
        for result in execute(todo, workers=spec.workers, ray=spec.ray):
            db.add_run(
                result.document,
                parameters=pts[result.index],
                sweep_id=sweep_id,
                point=result.index,
                scenario_path=str(spec.scenario),
                seconds=result.seconds,
                error=result.error,
            )
            ran += 1
            failed += result.error is not None
            if on_point:
                on_point(result)
    return SweepSummary(sweep_id, len(all_jobs), len(done), ran, failed)


def _scenario_name(all_jobs: list[PointJob]) -> str:
    import yaml

    data = yaml.safe_load(all_jobs[0].text) if all_jobs else {}
    return str(data.get("name", "")) if isinstance(data, dict) else ""


GROUP_MAX = 100
"""Most points of one evidence key sent as one task to a pool or Ray worker (whose
results come back when the task ends: a killed worker loses at most this many)."""


def groups(todo: list[PointJob], workers: int = 1, most: int = GROUP_MAX) -> list[list[PointJob]]:
    """``todo`` as tasks: jobs of one evidence key together, in the order their first job
    comes. A key's jobs are split in equal parts of at most ``most``, and in at least as
    many parts as give ``workers`` two tasks each (each part pays the evidence again: a
    split only where the workers would otherwise wait)."""
    by_key: dict[str, list[PointJob]] = {}
    for job in todo:
        by_key.setdefault(job.evidence or f"point {job.index}", []).append(job)
    wanted = math.ceil(2 * workers / len(by_key)) if workers > 1 and by_key else 1
    out = []
    for members in by_key.values():
        size = math.ceil(len(members) / max(wanted, math.ceil(len(members) / most)))
        out += [members[i : i + size] for i in range(0, len(members), size)]
    return out


def execute(
    todo: list[PointJob], *, workers: int | None = None, ray: str | None = None
) -> Iterator[PointResult]:
    """Each job's result as it ends: on Ray when ``ray`` is given, else in this process
    (one worker) or a pool of local processes (default: one per core). Jobs sharing their
    evidence run as one task (:func:`groups`)."""
    if not todo:
        return iter(())
    n = workers or os.cpu_count() or 1
    if ray is not None:
        from underlay.sweeps.ray_pool import ray_results

        return ray_results(groups(todo, n), ray, workers)
    tasks = groups(todo, n)
    n = min(n, len(tasks))
    if n == 1:
        # one result at a time, each point committed as it ends: a key's jobs unsplit
        whole = groups(todo, 1, most=len(todo))
        return (r for task in whole for r in point_jobs.group_results(task))
    return _pool_results(tasks, n)


def _pool_results(tasks: list[list[PointJob]], workers: int) -> Iterator[PointResult]:
    """A pool of ``workers`` processes started by a fork server (the parent holds the
    results file and DuckDB's threads: a plain fork of it would copy them)."""
    import multiprocessing

    context = multiprocessing.get_context("forkserver")
    # the pipeline imported once in the server, not again in every worker
    context.set_forkserver_preload(["underlay.sweeps.points", "underlay.pipeline"])
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    try:
        pending: set[Future[list[PointResult]]] = set()
        queue = iter(tasks)
        for task in queue:  # a few tasks ahead per worker; the rest as they end
            pending.add(pool.submit(point_jobs.run_group, task))
            if len(pending) >= 2 * workers:
                break
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in sorted(finished, key=lambda f: f.result()[0].index):
                yield from future.result()
                nxt = next(queue, None)
                if nxt is not None:
                    pending.add(pool.submit(point_jobs.run_group, nxt))
        pool.shutdown(wait=True)  # every point done: the workers end and are reaped
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
