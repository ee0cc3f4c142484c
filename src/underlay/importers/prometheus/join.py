"""Pods seen by Prometheus, grouped into workloads and folded into replica slots, and
those workloads found in a scenario.

Workloads
    A pod's workload is its controller as ``kube_pod_owner`` names it, followed one step
    up as ``import kubectl`` does (:func:`workload_of`): a ReplicaSet becomes the
    Deployment that ``kube_replicaset_owner`` names (else the ReplicaSet name without its
    hash), a Job named ``<cronjob>-<digits>`` its CronJob. A pod without an owner is a
    workload of its own (a bare pod).

Replica slots
    Pods come and go (a rollout replaces every pod, a crash loop renames one). A pod is
    alive from its first to its last sample; at every step the alive pods of a workload
    are ranked by when they appeared (then by name), and the k-th one fills slot k. Slot 1
    is thus the longest-running replica, and a rollout's surge (old and new pods at once)
    only adds samples to the last slots. A step where the pod filling a slot has no sample
    (a scrape gap) stays a gap in that slot: nothing is interpolated here.

Scenario workloads
    A workload ``namespace/name`` is looked for in the scenario as ``import kubectl``
    names it: in the tenant named after the namespace, a workload named ``name``, or
    ``namespace-name``, or ``name-kind``; failing that, a workload named
    ``namespace-name`` in any tenant, or the only workload named ``name`` in the scenario
    (tenants from a label rather than namespaces).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from underlay.importers.kubectl.grouping import _workload_of

__all__ = [
    "PodWorkload",
    "ScenarioWorkload",
    "Slots",
    "fold_slots",
    "match_workloads",
    "safe_name",
    "scenario_workloads",
    "workload_of",
]

F64 = npt.NDArray[np.float64]

_NOT_NAME: Final = re.compile(r"[^-A-Za-z0-9_.]+")


def workload_of(kind: str, name: str) -> tuple[str, str]:
    """The workload a pod's controller ``kind``/``name`` stands for, ``(kind, name)``, by
    the rule of ``import kubectl`` (a public name for its grouping function; the pod's
    labels are not in Prometheus, so the ReplicaSet hash is recognised by its shape)."""
    return _workload_of(kind, name, {})


def safe_name(text: str, fallback: str) -> str:
    """``text`` made into a scenario name as ``import kubectl`` makes it (letters, digits,
    ``-_.``, at most 63 characters)."""
    return _NOT_NAME.sub("-", text)[:63].strip("-_.") or fallback


@dataclass(frozen=True, order=True)
class PodWorkload:
    """A workload as Prometheus shows it: namespace, controller kind and name."""

    namespace: str
    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, eq=False)
class Slots:
    """A workload's usage folded into replica slots: ``(slots, steps)`` arrays, NaN where
    a slot has no sample."""

    pods: int
    cpu_cores: F64
    memory_mib: F64


def fold_slots(order: Sequence[int], cpu: F64, mem: F64) -> Slots:
    """Fold the pods at rows ``order`` of ``cpu`` and ``mem`` (pods x steps, NaN where
    a pod has no sample), already sorted by first sample then name, into replica slots
    (see the module docstring); slots without a step that has both are left out."""
    rows = np.asarray(order, dtype=np.int64)
    c, m = cpu[rows], mem[rows]
    seen = ~(np.isnan(c) & np.isnan(m))
    steps = np.arange(c.shape[1])
    has = seen.any(axis=1)
    first = np.where(has, np.argmax(seen, axis=1), c.shape[1])
    last = np.where(has, c.shape[1] - 1 - np.argmax(seen[:, ::-1], axis=1), -1)
    alive = (steps >= first[:, None]) & (steps <= last[:, None])
    slot = np.cumsum(alive, axis=0) - 1
    count = int(alive.sum(axis=0).max(initial=0))
    out_c = np.full((count, c.shape[1]), np.nan)
    out_m = np.full((count, c.shape[1]), np.nan)
    p, t = np.nonzero(alive)
    out_c[slot[p, t], t] = c[p, t]
    out_m[slot[p, t], t] = m[p, t]
    # a slot whose steps all lack CPU or memory (a surge pod seen for one step only by
    # the 5-minute lookback) has nothing to replay: dropped
    complete = (~np.isnan(out_c) & ~np.isnan(out_m)).any(axis=1)
    return Slots(pods=int(has.sum()), cpu_cores=out_c[complete], memory_mib=out_m[complete])


@dataclass
class ScenarioWorkload:
    """A workload of the scenario data (a dict edited in place) and where it is."""

    tenant: str
    name: str
    data: dict[str, Any]
    matched: list[PodWorkload] = field(default_factory=list)


def scenario_workloads(data: dict[str, Any]) -> Iterator[ScenarioWorkload]:
    """Every workload of the scenario data, in file order (under ``tenants[].workloads``
    or ``tenants[].clusters[].workloads``)."""
    for tenant in data.get("tenants") or []:
        lists = [tenant.get("workloads") or []]
        lists += [c.get("workloads") or [] for c in tenant.get("clusters") or []]
        for workloads in lists:
            for workload in workloads:
                yield ScenarioWorkload(str(tenant.get("name")), str(workload.get("name")), workload)


def match_workloads(
    found: Sequence[PodWorkload], scenario: list[ScenarioWorkload]
) -> dict[PodWorkload, ScenarioWorkload]:
    """The scenario workload each Prometheus workload stands for (see the module
    docstring); those not in the scenario are left out."""
    by_place = {(w.tenant, w.name): w for w in scenario}
    by_name: dict[str, list[ScenarioWorkload]] = {}
    for w in scenario:
        by_name.setdefault(w.name, []).append(w)
    out: dict[PodWorkload, ScenarioWorkload] = {}
    for pw in sorted(found):
        tenant = safe_name(pw.namespace, "tenant")
        qualified = safe_name(f"{pw.namespace}-{pw.name}", "workload")
        names = [
            safe_name(pw.name, "workload"),
            qualified,
            safe_name(f"{pw.name}-{pw.kind.lower()}", "workload"),
        ]
        hit = next((by_place[(tenant, n)] for n in names if (tenant, n) in by_place), None)
        if hit is None:
            anywhere = by_name.get(qualified, [])
            alone = by_name.get(names[0], [])
            hit = anywhere[0] if len(anywhere) == 1 else (alone[0] if len(alone) == 1 else None)
        if hit is not None and not hit.matched:  # one Prometheus workload per scenario one
            out[pw] = hit
            hit.matched.append(pw)
    return out
