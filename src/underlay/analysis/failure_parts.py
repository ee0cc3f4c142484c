"""A hybrid's failures part by part: each part's units restart by its own substrate's
rules, in its own pool, after its own recovery times (see :mod:`underlay.analysis.failures`).

A vm part is judged exactly as the vm substrate: its hypervisor hosts are one pool, its
VMs (not their pods) are what restarts, into the hosts' room left by the VMs' footprints,
and a VM that restarts elsewhere is back after the VM replace time of the part's
hypervisor too. A bare-metal or sandboxed part's pods restart within its part (a
dedicated part's: in their cluster), without a VM replace time. The groups of every
part are laid end to end and their pools numbered densely, so a hybrid with every
tenant in one part judges it exactly as that pure substrate (a seeded test checks it,
bit for bit).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from underlay.analysis.failure_groups import Groups, part_substrates, pod_groups, vm_groups
from underlay.defaults.catalog import Defaults
from underlay.model.scenario import Scenario, Vm
from underlay.placement.result import SubstratePlacement

__all__ = ["HOUR_KEYS", "Recovery", "dense_pools", "fleet_groups", "recovery", "recovery_by_group"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

# Hours a failed domain's units are down (see failures.SubstrateFailures.recovery_hours).
HOUR_KEYS = (
    "restart",
    "host_software_wait",
    "host_hardware_wait",
    "host_wait",
    "rack_wait",
    "zone_wait",
)


class Recovery(NamedTuple):
    """Recovery hours (keyed as :data:`HOUR_KEYS`): of the placement (a hybrid: its
    slowest part's, of the parts with hosts), of each part by name (a hybrid's only),
    and of each group of units (its part's)."""

    hours: dict[str, float]
    by_part: dict[str, dict[str, float]]
    by_group: dict[str, F64]


def recovery(defaults: Defaults, substrate: object) -> dict[str, float]:
    """Hours a failed domain's units are down on ``substrate``: restarted elsewhere, or
    waiting (by kind); a VM that restarts is replaced first (its hypervisor's time)."""
    f, life = defaults.failures, defaults.lifecycle
    replace = (
        defaults.hypervisors[substrate.hypervisor].vm_replace_minutes
        if isinstance(substrate, Vm)
        else 0.0
    )
    start = replace + f.pod_start_minutes
    software = (f.detection_minutes + life.baremetal_reboot_minutes + start) / 60
    hardware = (f.detection_minutes + start) / 60 + f.hardware_repair_hours
    share = f.hardware_share
    return {
        "restart": (f.detection_minutes + start) / 60,
        "host_software_wait": software,
        "host_hardware_wait": hardware,
        "host_wait": (1 - share) * software + share * hardware,
        "rack_wait": f.rack_repair_hours + start / 60,
        "zone_wait": f.zone_repair_hours + start / 60,
    }


def fleet_groups(
    scenario: Scenario,
    defaults: Defaults,
    p: SubstratePlacement,
    footprint: I64,
    sets: list[frozenset[str]],
) -> tuple[Groups, I64]:
    """The groups of units that restart under one rule, and each group's part (0 on a
    pure substrate): on a hybrid, the pods of its bare-metal and sandboxed parts (one
    group per workload) and then the VMs of each vm part."""
    if p.kind == "vm":
        gr = vm_groups(scenario, defaults, p, footprint, sets)
        return gr, np.zeros(len(gr.need), np.int64)
    if not p.parts:
        gr = pod_groups(scenario, defaults, p, sets)
        return gr, np.zeros(len(gr.need), np.int64)
    subs = part_substrates(scenario, p)
    only: list[tuple[int, object, int]] = []
    pod_part: list[int] = []
    for k, (part, sub) in enumerate(zip(p.parts, subs, strict=True)):
        if isinstance(sub, Vm):
            continue
        for i in part.workloads:
            dedicated = part.kind == "baremetal-dedicated"
            only.append(
                (i, sub, p.workloads[i].cluster_index if dedicated else len(p.clusters) + k)
            )
            pod_part.append(k)
    pieces = [pod_groups(scenario, defaults, p, sets, only=only)]
    part_of = [np.array(pod_part, np.int64)]
    for k, sub in enumerate(subs):
        if isinstance(sub, Vm):
            pieces.append(vm_groups(scenario, defaults, p, footprint, sets, part=k, substrate=sub))
            part_of.append(np.full(len(pieces[-1].need), k, np.int64))
    return _concat(pieces), np.concatenate(part_of)


def _concat(pieces: list[Groups]) -> Groups:
    """Groups laid end to end (pairs stay sorted by group, then host)."""
    sizes = np.array([len(gr.need) for gr in pieces], np.int64)
    offset = np.cumsum(sizes) - sizes
    fields: dict[str, Any] = {
        name: np.concatenate([getattr(gr, name) for gr in pieces])
        for name in ("need", "gpu", "models", "rule", "tenant", "pool", "h", "units", "pods")
    }
    fields["need"] = fields["need"].reshape(-1, 4)
    fields["g"] = np.concatenate([gr.g + o for gr, o in zip(pieces, offset, strict=True)])
    return Groups(**fields)


def dense_pools(host_pool: I64, gr: Groups) -> tuple[I64, Groups]:
    """Pools numbered 0, 1, ... in order (hosts outside any pool stay -1), on the hosts
    and on the groups alike."""
    used = np.unique(np.concatenate([host_pool[host_pool >= 0], gr.pool]))
    pool = np.where(host_pool >= 0, np.searchsorted(used, host_pool), -1).astype(np.int64)
    return pool, replace(gr, pool=np.searchsorted(used, gr.pool).astype(np.int64))


def recovery_by_group(
    scenario: Scenario, defaults: Defaults, p: SubstratePlacement, part_of: I64
) -> Recovery:
    """The recovery hours of placement ``p``, of its parts and of its groups, each group
    in part ``part_of`` (see :class:`Recovery`)."""
    subs = part_substrates(scenario, p)
    if not subs:
        hours = recovery(defaults, scenario.substrate(p.name))
        return Recovery(hours, {}, {k: np.full(len(part_of), v) for k, v in hours.items()})
    by_part = [recovery(defaults, sub) for sub in subs]
    opened = [h for h, part in zip(by_part, p.parts, strict=True) if part.hosts[1] > part.hosts[0]]
    top = {k: max(h[k] for h in opened or by_part) for k in HOUR_KEYS}
    table = {k: np.array([h[k] for h in by_part], np.float64) for k in HOUR_KEYS}
    return Recovery(
        top,
        {part.name: h for part, h in zip(p.parts, by_part, strict=True)},
        {k: v[part_of] for k, v in table.items()},
    )
