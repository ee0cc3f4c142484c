"""A sweep's points on Ray: each task a point (or a group of points sharing their
evidence), results taken as they end.

Ray is an optional extra (``pip install 'underlay[ray]'``), imported only here and only
when ``--ray`` is given. ``--ray local`` starts a Ray instance on this machine for the
sweep, with ``--workers`` CPUs (default: its cores) — Ray's old ``local_mode``, every task
in the driver, is gone from Ray 2.x (``ray.init`` refuses it) — for tests and for
measuring Ray's overhead per task; any other value is the address of an existing cluster
(``auto``, ``ray://host:10001``), as ``ray.init`` takes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from underlay.errors import InputError
from underlay.extras import import_ray
from underlay.sweeps import points as point_jobs
from underlay.sweeps.points import PointJob, PointResult

__all__ = ["LOCAL", "ray_results"]

LOCAL = "local"
"""The ``--ray`` value for Ray's local mode."""


def ray_results(
    tasks: list[list[PointJob]], address: str, workers: int | None = None
) -> Iterator[PointResult]:
    """Each job's result as its Ray task ends (connecting before the first is sent); a
    task is a group of jobs sharing their evidence (``underlay.sweeps.run.groups``)."""
    ray = import_ray()
    try:
        if address == LOCAL:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    except Exception as exc:  # Ray's own errors (no cluster there, refused) have no base
        raise InputError(f"--ray {address}: cannot connect ({type(exc).__name__}: {exc})") from None
    return _results(ray, tasks)


def _results(ray: Any, tasks: list[list[PointJob]]) -> Iterator[PointResult]:
    try:
        remote = ray.remote(point_jobs.run_group)
        pending = [remote.remote(task) for task in tasks]
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            results: list[PointResult] = ray.get(ready[0])
            yield from results
    finally:
        ray.shutdown()
