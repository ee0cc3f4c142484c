"""LP lower bounds on hosts, so packing quality is visible (hosts used ÷ bound ≥ 1).

The bound relaxes bin packing to a linear programme solved with SciPy's HiGHS: choose a
fractional number of hosts ``x_m`` of each host model so that, for every resource, the
capacity bought covers the demand placed on that substrate's nodes:

    minimise Σ_m x_m   s.t.  Σ_m x_m · cap[m, r] ≥ demand[r]  (cpu, memory, pod slots)
                              Σ_{m with an allowed GPU} x_m · gpus[m] ≥ gpu demand of each GPU group
                              0 ≤ x_m ≤ inventory[m]

and rounds the optimum up (hosts are whole). Hosts that run only control planes are
fixed counts added on top. Bare-metal-dedicated clusters cannot share hosts, so their
bound is the sum of per-cluster bounds. For VMs the demand is the chosen VMs' footprints
(vCPU ÷ overcommit, memory + per-VM overhead) against hypervisor hosts — a bound given
the VM shapes chosen, so shape waste shows up under "stranded", not here.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linprog

__all__ = ["hosts_lower_bound"]

F64 = NDArray[np.float64]


def hosts_lower_bound(
    cap: F64,
    demand: F64,
    *,
    gpu_groups: list[tuple[F64, float]] | None = None,
    at_least: int = 0,
    available: F64 | None = None,
) -> int:
    """Fewest whole hosts (LP-relaxed, rounded up) covering ``demand``.

    ``cap`` is (models × resources) per-host capacity, ``demand`` (resources,) the total;
    each GPU group is (GPUs per host of each model usable by the group, GPUs needed);
    ``at_least`` is a count forced by anti-affinity (one replica per host).
    """
    models = cap.shape[0]
    if models == 0:
        return at_least
    rows = [-cap[:, r] for r in range(cap.shape[1]) if demand[r] > 0]
    rhs = [-demand[r] for r in range(cap.shape[1]) if demand[r] > 0]
    for per_host, needed in gpu_groups or []:
        if needed > 0:
            rows.append(-per_host)
            rhs.append(-needed)
    if not rows:
        return at_least
    bounds = [(0.0, None if available is None else float(available[m])) for m in range(models)]
    res = linprog(
        c=np.ones(models), A_ub=np.array(rows), b_ub=np.array(rhs), bounds=bounds, method="highs"
    )
    if res.status != 0:  # infeasible within the inventory: no finite bound; use the LP without it
        res = linprog(c=np.ones(models), A_ub=np.array(rows), b_ub=np.array(rhs), method="highs")
        if res.status != 0:
            return at_least
    return max(at_least, math.ceil(res.fun - 1e-9))
