"""How a substrate's per-host costs and energy are split among its tenants.

Per tenant (:func:`tenant_host_shares`, :func:`attribute`): a host's cost and energy go to
the owner of a dedicated host; otherwise to the tenants on it by their share of what is
placed there (CPU and memory requests as fractions of the host, summed; on ``vm``, the
tenants' VMs' cores); hosts with nothing of any tenant (shared or hosted control planes)
by each tenant's share of all that. A tenant's own clusters' ops are its own; the shared
cluster's and the hosted pool's by that same overall share. So tenants' figures add up to
the substrate's. **Cost per SLA-met pod-hour** = the tenant's cost over the horizon ÷
(pods placed × horizon hours × the share of steps its SLA was met); ``None`` without a
simulation or when no pod-hour met the SLA.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from underlay.model.scenario import Hybrid, Scenario, Vm
from underlay.placement.result import SubstratePlacement

__all__ = [
    "attribute",
    "cluster_tenants",
    "host_parts",
    "overall_shares",
    "part_shares",
    "tenant_host_shares",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def cluster_tenants(placement: SubstratePlacement) -> I64:
    """Tenant of each cluster index, with -1 for index -1 (the shared cluster)."""
    return np.array([c.tenant_index for c in placement.clusters] + [-1], np.int64)


def tenant_host_shares(scenario: Scenario, placement: SubstratePlacement) -> F64:
    """(tenants × hosts) weights of each tenant on each host, for :func:`attribute`.

    A dedicated host (one with an owner cluster) is its owner's tenant's alone (weight 1).
    Elsewhere a tenant weighs, on bare metal, the sum over its pods there of CPU and
    memory requests as fractions of the host; on ``vm``, its VMs' cores ÷ the CPU
    overcommit. Hosted control-plane VMs and nodes weigh nothing. A hybrid's hosts weigh
    by their own part's rule (a vm part's by its VMs' cores ÷ its overcommit).
    """
    p, nodes = placement, placement.nodes
    n_t, n_hosts = len(scenario.tenants), len(p.hosts)
    share = np.zeros((n_t, n_hosts))
    cluster_tenant = cluster_tenants(p)
    substrate = scenario.substrate(p.name)
    if isinstance(substrate, Vm):
        _vm_shares(share, p, np.ones(len(nodes.host), bool), substrate.cpu_overcommit)
        return share
    _pod_shares(share, p)
    owner = np.array(p.hosts.owner, np.int64)
    owned = np.flatnonzero(owner >= 0)
    share[:, owned] = 0.0
    share[cluster_tenant[owner[owned]], owned] = 1.0
    if isinstance(substrate, Hybrid):
        for part in p.parts:
            sub = next(q.substrate for q in substrate.parts if q.name == part.name)
            if isinstance(sub, Vm):
                share[:, part.hosts[0] : part.hosts[1]] = 0.0
                rows = np.zeros(len(nodes.host), bool)
                rows[part.nodes[0] : part.nodes[1]] = True
                _vm_shares(share, p, rows, sub.cpu_overcommit)
    return share


def _vm_shares(
    share: F64, p: SubstratePlacement, rows: NDArray[np.bool_], overcommit: float
) -> None:
    """Add each tenant's VM cores ÷ ``overcommit`` on each host, over node ``rows``."""
    nodes = p.nodes
    cores = nodes.size_cpu / 1000 / overcommit
    mine = rows & (nodes.host >= 0) & (nodes.cluster >= 0)
    np.add.at(share, (cluster_tenants(p)[nodes.cluster[mine]], nodes.host[mine]), cores[mine])


def _pod_shares(share: F64, p: SubstratePlacement) -> None:
    """Add each tenant's pods' CPU and memory requests as fractions of their hosts."""
    t_idx, n_idx, cpu, mem = [], [], [], []
    for ref, pn, pc in zip(p.workloads, p.pod_nodes, p.pod_counts, strict=True):
        if len(pn):
            t_idx.append(np.full(len(pn), ref.tenant_index))
            n_idx.append(pn)
            cpu.append(pc * ref.workload.requests.cpu_milli)
            mem.append(pc * ref.workload.requests.memory_mib)
    if t_idx:
        hosts = p.nodes.host[np.concatenate(n_idx)]
        weight = np.concatenate(cpu) / np.maximum(p.host_cpu[hosts], 1)
        weight += np.concatenate(mem) / np.maximum(p.host_mem[hosts], 1)
        np.add.at(share, (np.concatenate(t_idx), hosts), weight)


def host_parts(placement: SubstratePlacement) -> I64 | None:
    """Each host's part index in a hybrid placement (None for any other placement)."""
    if not placement.parts:
        return None
    out = np.full(len(placement.hosts), -1, np.int64)
    for k, part in enumerate(placement.parts):
        out[part.hosts[0] : part.hosts[1]] = k
    return out


def _overall(shares: F64) -> F64 | None:
    per_tenant = shares.sum(axis=1)
    total = per_tenant.sum()
    return per_tenant / total if total > 0 else None


def overall_shares(shares: F64, parts: I64 | None = None) -> F64:
    """Each tenant's share of all weights (equal shares when there are none). With
    ``parts`` (:func:`host_parts`), each part's shares weighted by its hosts: weights of
    two parts' rules (requests as fractions of a host, VM cores) are never added."""
    n_t = shares.shape[0]
    equal = np.full(n_t, 1.0 / max(n_t, 1))
    if parts is None:
        out = _overall(shares)
        return equal if out is None else out
    found: list[tuple[int, F64]] = []
    for k in np.unique(parts[parts >= 0]).tolist():
        mine = parts == k
        if (share := _overall(shares[:, mine])) is not None:
            found.append((int(mine.sum()), share))
    if len(found) == 1:  # one part: its shares as they are (a one-part hybrid = its substrate)
        return found[0][1]
    hosts = sum(n for n, _ in found)
    return sum((n * share for n, share in found), np.zeros(n_t)) / hosts if hosts else equal


def part_shares(shares: F64, parts: I64 | None, k: int) -> F64:
    """The tenants' shares of part ``k``'s weights (of all, for ``parts`` None or a part
    no tenant weighs on)."""
    if parts is not None and (out := _overall(shares[:, parts == k])) is not None:
        return out
    return overall_shares(shares, parts)


def attribute(shares: F64, per_host: F64, parts: I64 | None = None) -> F64:
    """Per-host values (hosts, or hosts × k) split among tenants → (tenants[, k]).

    Each host's value goes to the tenants by their weights on it (``shares``, tenants ×
    hosts, from :func:`tenant_host_shares`); a host nobody weighs on is split by
    :func:`overall_shares`, or, in a hybrid (``parts``), by the shares of its own part
    (a shared part's control-plane hosts are its tenants'). Columns add up to the hosts'
    totals.
    """
    col = shares.sum(axis=0)
    direct = (shares / np.where(col > 0, col, 1.0)) @ per_host
    values = np.asarray(per_host)
    idle = col == 0
    if parts is None:
        rest = values[idle].sum(axis=0)
        out: F64 = direct + np.multiply.outer(overall_shares(shares), rest)
        return out
    out = direct
    for k in np.unique(parts).tolist():
        rest = values[idle & (parts == k)].sum(axis=0)
        out = out + np.multiply.outer(part_shares(shares, parts, k), rest)
    return out
