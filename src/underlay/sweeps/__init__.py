"""Sweeps: many comparisons of one scenario over a grid (or a sample) of its fields, on a
local process pool or Ray, each point's results committed to a DuckDB file as it ends.

- ``grid``: the grid file, its points, and how a point's values enter the scenario;
- ``points``: each point's scenario validated as a job, and the full comparison of one;
- ``run``: the sweep itself (resume, the local executors); ``ray_pool``: Ray.

(``underlay.sweeps.points`` is that module; the grid's points are ``grid.points``.)
The results file is :mod:`underlay.report.results_db` (the report stage: reports read it).
"""

from underlay.sweeps.grid import Grid, load_grid, parse_grid
from underlay.sweeps.points import PointJob, PointResult, jobs, run_point
from underlay.sweeps.run import SweepSpec, SweepSummary, run_sweep

__all__ = [
    "Grid",
    "PointJob",
    "PointResult",
    "SweepSpec",
    "SweepSummary",
    "jobs",
    "load_grid",
    "parse_grid",
    "run_point",
    "run_sweep",
]
