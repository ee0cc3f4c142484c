"""The escapes of a hybrid's parts: a hypervisor or sandbox escape starts only from a pod
of a vm or sandboxed part, and reaches only that part's hosts.

Each such escape gets a domain matrix of its own: the fleet's (hosts × tenants) pod counts
with every row outside the part's hosts cleared, so a foothold in another part's pods
exposes nobody through it. Its yearly rate is the substrate's, spread over the footholds
of the whole fleet like every escape (:mod:`underlay.analysis.isolation`), so a part
holding a third of the fleet's foothold weight sees a third of it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from underlay.defaults.catalog import Defaults
from underlay.model.scenario import Hybrid, Sandboxed, Scenario, Vm
from underlay.placement.result import SubstratePlacement

__all__ = ["PartEscape", "part_escapes"]

I64 = NDArray[np.int64]


class PartEscape(NamedTuple):
    """One part's escape: its kind, yearly rate, source, domain name and domain matrix."""

    kind: str
    per_year: float
    source: str
    level: str
    domains: sp.csr_matrix


def part_escapes(
    scenario: Scenario,
    defaults: Defaults,
    p: SubstratePlacement,
    groups: tuple[I64, I64, I64],
) -> list[PartEscape]:
    """The hypervisor and sandbox escapes of hybrid placement ``p``'s parts (none on any
    other substrate); ``groups`` are its pod groups: (tenant, host, pods) of each."""
    substrate = scenario.substrate(p.name)
    if not isinstance(substrate, Hybrid):
        return []
    by_name = {part.name: part.substrate for part in substrate.parts}
    found: list[PartEscape] = []
    for part in p.parts:
        sub = by_name[part.name]
        if isinstance(sub, Vm):
            kind, rate = "hypervisor", defaults.hypervisors[sub.hypervisor].escapes_per_year
            source = f"hypervisors.{sub.hypervisor}.escapes_per_year"
        elif isinstance(sub, Sandboxed):
            kind, rate = "sandbox", defaults.sandbox_runtimes[sub.runtime].escapes_per_year
            source = f"sandbox_runtimes.{sub.runtime}.escapes_per_year"
        else:
            continue
        tenant, host, pods = groups
        on = (host >= part.hosts[0]) & (host < part.hosts[1])
        domains = sp.csr_matrix(
            (pods[on].astype(np.float64), (host[on], tenant[on])),
            shape=(len(p.hosts), len(scenario.tenants)),
        )
        found.append(PartEscape(kind, rate, source, f"host ({part.name})", domains))
    kinds = [e.kind for e in found]
    return [
        e._replace(kind=f"{e.kind} ({e.level[6:-1]})") if kinds.count(e.kind) > 1 else e
        for e in found
    ]
