"""Lower bounds on hosts, so packing quality is visible (hosts used ÷ bound ≥ 1).

Bin packing is relaxed to a small mixed-integer programme solved with SciPy's HiGHS.
Pods are grouped by the set of host models they may use (GPU pods: models with an
allowed GPU; others: any model). Let ``x_m`` be the hosts of model ``m`` (whole numbers)
and ``y[g, m, r]`` the amount of resource ``r`` (CPU, memory, pod slots, GPU) of group
``g`` put on model ``m`` (divisible):

    minimise Σ_m x_m
    s.t.     Σ_{m allowed for g} y[g, m, r] ≥ demand[g, r]       every group, resource
             Σ_g y[g, m, r]               ≤ x_m · cap[m, r]      every model, resource
             0 ≤ x_m ≤ inventory[m]

Every real placement is a solution of this programme, so its optimum (rounded up) never
exceeds the hosts really needed. Hosts that run only control planes are fixed counts the
caller adds. Bare-metal-dedicated clusters cannot share hosts, so their bound is the sum
of per-cluster bounds. For VMs the demand is the chosen VMs' footprints (vCPU ÷
overcommit, memory + per-VM overhead) on hypervisor hosts — a bound given the VM shapes
chosen, so shape waste shows under "stranded", not here.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import Bounds, LinearConstraint, milp

from underlay.quiet import quiet_stdout

__all__ = ["hosts_lower_bound"]

F64 = NDArray[np.float64]


def hosts_lower_bound(
    cap: F64,
    groups: list[tuple[NDArray[np.bool_], F64]],
    *,
    at_least: int = 0,
    available: F64 | None = None,
) -> int:
    """Fewest whole hosts that can hold every group's demand (see the module docstring).

    ``cap`` is (models × resources) per-host capacity; each group is (allowed models mask,
    demand per resource); ``at_least`` is a count forced by anti-affinity or spread.
    """
    models, resources = cap.shape
    groups = [(allowed, demand) for allowed, demand in groups if demand.any()]
    if models == 0 or not groups:
        return at_least
    # Variable layout: x_0..x_{M-1}, then y[g, m, r] for allowed (g, m) and demanded r.
    y_index: list[tuple[int, int, int]] = []
    for g, (allowed, demand) in enumerate(groups):
        for m in np.flatnonzero(allowed).tolist():
            for r in np.flatnonzero(demand > 0).tolist():
                y_index.append((g, m, r))
    n_vars = models + len(y_index)
    rows: list[F64] = []
    lower: list[float] = []
    upper: list[float] = []
    for g, (_, demand) in enumerate(groups):  # demand covered
        for r in np.flatnonzero(demand > 0).tolist():
            row = np.zeros(n_vars)
            for k, (gg, _, rr) in enumerate(y_index):
                if gg == g and rr == r:
                    row[models + k] = 1.0
            rows.append(row)
            lower.append(float(demand[r]))
            upper.append(np.inf)
    for m in range(models):  # capacity respected
        for r in range(resources):
            ks = [k for k, (_, mm, rr) in enumerate(y_index) if mm == m and rr == r]
            if not ks:
                continue
            row = np.zeros(n_vars)
            row[[models + k for k in ks]] = 1.0
            row[m] = -cap[m, r]
            rows.append(row)
            lower.append(-np.inf)
            upper.append(0.0)
    cost = np.zeros(n_vars)
    cost[:models] = 1.0
    integrality = np.zeros(n_vars)
    integrality[:models] = 1
    limits = (
        [np.full(models, np.inf)]
        if available is None
        else [np.asarray(available, np.float64), np.full(models, np.inf)]
    )
    for limit in limits:  # without the inventory when it cannot hold everything
        hi = np.concatenate([limit, np.full(len(y_index), np.inf)])
        with quiet_stdout():  # HiGHS may print solver chatter from C++, which breaks --json
            res = milp(
                c=cost,
                constraints=LinearConstraint(np.array(rows), np.array(lower), np.array(upper)),
                integrality=integrality,
                bounds=Bounds(0, hi),
            )
        if res.status == 0:
            return max(at_least, _ceil(res.fun))
    return at_least


def _ceil(value: float) -> int:
    return math.ceil(float(value) - 1e-6)
