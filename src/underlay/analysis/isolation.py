"""Isolation and blast radius: who shares a kernel (a host, a rack) with whom, which of the
scenario's isolation rules that breaks, and how far an escape reaches.

Sharing domains, per substrate:

    substrate             kernel                      host escape needs
    baremetal-dedicated   the host (one tenant)       a kernel escape (root on the host)
    baremetal-shared      the host (all its tenants)  a kernel escape
    vm                    the VM (one tenant)         a hypervisor escape from the guest
    sandboxed             the pod's own sandbox       a sandbox (runtime) escape

Threat model (each figure is a default the user can override, see ``security`` in the
defaults): attacks start in a pod; where they start is weighted by the pod's isolation
class (``security.foothold_weight``: untrusted code is the usual entry; a scenario's own
class not listed there weighs as the nearest class it inherits from). Escapes happen at
published rates: a container reaches its kernel's root at ``runtime_escapes_per_year``
(runc escape CVEs) plus ``kernel_exploits_per_year`` × ``kernel_exploit_success_from_container``
(Lin et al.: 56.8 % of kernel exploits work from a default container); a guest reaches its
host at the hypervisor's ``escapes_per_year``; a sandboxed pod at its runtime's. Each escape
exposes every pod of the domain it lands in: the kernel for a container escape (on bare
metal the kernel is the host), the host for a hypervisor or sandbox escape. A hypervisor
escape is counted from any pod in a VM (conservative: it assumes the attacker already
holds the guest kernel, which alone exposes only the VM's own tenant).

For a tenant ``t``, with ``n[d, t]`` its pods in domain ``d``, ``W[d]`` the foothold weight
in ``d`` and ``W`` the whole fleet's:

    incidents a year   = λ · Σ_d [n[d,t] > 0] · (W[d] − W[d,t]) / W
    exposed pods a year = λ · Σ_d n[d,t] · (W[d] − W[d,t]) / W

i.e. escapes that start in another tenant's pod and land where ``t`` runs. The blast radius
of an escape from a random pod (uniform over pods) is the mean number of *other* tenants
and their pods in its domain, and the share of escapes that reach each data (isolation)
class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from underlay.analysis.isolation_parts import part_escapes
from underlay.defaults.catalog import Defaults, Security
from underlay.model.scenario import IsolationPolicy, Sandboxed, Scenario, Vm
from underlay.placement.result import SubstratePlacement

__all__ = [
    "BlastRadius",
    "Escape",
    "IsolationViolation",
    "SharingEdge",
    "SubstrateIsolation",
    "TenantIsolation",
    "analyse_isolation",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
LEVELS = ("kernel", "host", "rack")


@dataclass(frozen=True)
class Escape:
    """One kind of escape on a substrate: its yearly rate and the domain it exposes."""

    kind: str  # container | hypervisor | sandbox
    per_year: float
    exposes: str  # kernel | host
    source: str


@dataclass(frozen=True)
class BlastRadius:
    """What an escape from a random pod reaches (means over pods, uniform)."""

    escape: str
    per_year: float
    tenants_exposed_mean: float  # other tenants in the domain
    tenants_exposed_max: int
    pods_exposed_mean: float  # other tenants' pods in the domain
    class_exposed_percent: dict[str, float]  # share of escapes reaching each class


@dataclass(frozen=True)
class SharingEdge:
    """Two tenants sharing kernels (hosts, racks): an edge of the kernel-sharing graph."""

    a: str
    b: str
    kernels: int
    hosts: int
    racks: int


@dataclass(frozen=True)
class IsolationViolation:
    """A pair of tenants that breaks an isolation rule."""

    rule: int  # index in scenario.isolation.rules
    level: str  # kernel | host | rack
    tenant: str
    other: str
    tenant_class: str
    other_class: str
    shared: int  # kernels / hosts / racks they share

    def describe(self) -> str:
        """The violation in words."""
        unit = {"kernel": "kernel", "host": "host", "rack": "rack"}[self.level]
        return (
            f"{self.tenant} ({self.tenant_class}) shares {self.shared:,} {unit}"
            f"{'s' if self.shared != 1 else ''} with {self.other} ({self.other_class})"
        )


@dataclass(frozen=True)
class TenantIsolation:
    """One tenant on one substrate."""

    name: str
    isolation: str
    shares_kernel_with: list[str]
    shares_host_with: list[str]
    kernels: int  # kernels its pods run on
    violations: int
    incidents_per_year: float  # escapes by others reaching its pods (all kinds)
    exposed_pods_per_year: float
    by_escape: dict[str, float]  # incidents a year, per escape kind
    blast_tenants_mean: float  # when the escape starts in one of its pods
    blast_pods_mean: float


@dataclass(frozen=True)
class SubstrateIsolation:
    """Isolation on one substrate, whole scenario."""

    name: str
    kind: str
    kernels: int
    tenants_per_kernel_max: int
    tenants_per_host_max: int
    escapes: list[Escape]
    blast: list[BlastRadius]
    edges: list[SharingEdge]
    violations: list[IsolationViolation]
    tenants: list[TenantIsolation]
    notes: list[str] = field(default_factory=list)

    @property
    def incidents_per_year(self) -> float:
        """Cross-tenant exposures a year, summed over tenants."""
        return sum(t.incidents_per_year for t in self.tenants)


def _escapes(scenario: Scenario, defaults: Defaults, label: str) -> list[Escape]:
    sec = defaults.security
    container = Escape(
        "container",
        sec.container_escapes_per_year,
        "kernel",
        "runtime escapes + kernel exploits x success from a container (defaults: security)",
    )
    substrate = scenario.substrate(label)
    if isinstance(substrate, Vm):
        hyp = defaults.hypervisors[substrate.hypervisor]
        return [
            container,
            Escape(
                "hypervisor",
                hyp.escapes_per_year,
                "host",
                f"hypervisors.{substrate.hypervisor}.escapes_per_year",
            ),
        ]
    if isinstance(substrate, Sandboxed):
        rt = defaults.sandbox_runtimes[substrate.runtime]
        return [
            container,
            Escape(
                "sandbox",
                rt.escapes_per_year,
                "host",
                f"sandbox_runtimes.{substrate.runtime}.escapes_per_year",
            ),
        ]
    return [container]


def _foothold_weight(policy: IsolationPolicy, security: Security, name: str) -> float:
    """Foothold weight of an isolation class: its own when ``security.foothold_weight``
    lists it, else that of the nearest class it inherits from that is listed (the largest
    among equally near ones), else the defaults' 1.0 for an unlisted class. A scenario's
    ``pci`` class inheriting ``regulated`` is regulated code, not an unknown entry point."""
    listed = security.foothold_weight
    level, seen = [name], {name}
    while level:
        known = [listed[c] for c in level if c in listed]
        if known:
            return max(known)
        parents = [
            parent
            for c in level
            if c in policy.classes
            for parent in policy.classes[c].inherits
            if parent not in seen
        ]
        seen.update(parents)
        level = list(dict.fromkeys(parents))
    return security.weight_of(name)


def _pod_groups(p: SubstratePlacement) -> tuple[I64, I64, I64]:
    """(tenant, node, pods) for every (workload, node) with pods on it."""
    tenants, nodes, counts = [], [], []
    for ref, pn, pc in zip(p.workloads, p.pod_nodes, p.pod_counts, strict=True):
        keep = pc > 0
        if keep.any():
            tenants.append(np.full(int(keep.sum()), ref.tenant_index, np.int64))
            nodes.append(pn[keep])
            counts.append(pc[keep])
    if not tenants:
        z = np.zeros(0, np.int64)
        return z, z, z
    return np.concatenate(tenants), np.concatenate(nodes), np.concatenate(counts)


def _matrix(domain: I64, tenant: I64, pods: I64, n_t: int) -> sp.csr_matrix:
    """(domains × tenants) pod counts; domains renumbered densely."""
    if not len(domain):
        return sp.csr_matrix((0, n_t))
    _, dense = np.unique(domain, return_inverse=True)
    return sp.csr_matrix(
        (pods.astype(np.float64), (dense, tenant)), shape=(int(dense.max()) + 1, n_t)
    )


def _by_level(p: SubstratePlacement, n_t: int) -> tuple[dict[str, sp.csr_matrix], I64, I64]:
    """(domains × tenants) pod counts per level (kernel, host, rack), and the pod groups'
    tenants and pod counts."""
    t_of, node, pods = _pod_groups(p)
    host = p.nodes.host[node] if len(node) else node
    rack = np.array(p.hosts.rack, np.int64)[host] if len(host) else host
    if p.kind == "vm":
        kernel = node
    elif p.kind == "sandboxed":
        # One kernel per pod: no two pods share one. Domains of size one per pod group are
        # enough for the sums below once counts are split, so give every pod its own id.
        kernel = np.arange(len(node))  # groups; sharing is zero by construction
    elif p.kind == "hybrid":
        # A node is a kernel (a bare-metal host's one node, or a VM); in a sandboxed part
        # each pod group gets its own (no two tenants share a sandbox's kernel).
        kernel = node.copy()
        for part in p.parts:
            if part.kind == "sandboxed":
                inside = (node >= part.nodes[0]) & (node < part.nodes[1])
                kernel[inside] = len(p.nodes) + np.flatnonzero(inside)
    else:
        kernel = host
    by_level = {
        "kernel": _matrix(kernel, t_of, pods, n_t),
        "host": _matrix(host, t_of, pods, n_t),
        "rack": _matrix(rack, t_of, pods, n_t),
    }
    if p.kind == "sandboxed":
        # A pod group is several pods, each in its own sandbox: no cross-tenant kernels.
        by_level["kernel"] = sp.csr_matrix(
            (pods.astype(np.float64), (np.arange(len(pods)), t_of)), shape=(len(pods), n_t)
        )
    return by_level, t_of, pods


@dataclass
class _Exposure:
    """Per tenant, incidents a year by escape kind and pods exposed; the blast radius of
    each escape, and per tenant that of the farthest-reaching one."""

    by_escape: dict[str, F64]
    pods_exposed: F64
    blast: list[BlastRadius]
    blast_tenants: F64
    blast_pods: F64


def _exposure(
    by_level: dict[str, sp.csr_matrix],
    escapes: list[Escape],
    weight_t: F64,
    class_of: I64,
    class_names: list[str],
) -> _Exposure:
    """Exposure per tenant, per escape kind, and the blast radii."""
    n_t = len(weight_t)
    total_w = float((by_level["host"] @ weight_t).sum())  # foothold weight of all pods
    out = _Exposure({}, np.zeros(n_t), [], np.zeros(n_t), np.zeros(n_t))
    for esc in escapes:
        m = by_level[esc.exposes].tocoo()
        d, t, n = m.row, m.col, m.data
        w_dom = by_level[esc.exposes] @ weight_t  # foothold weight per domain
        foreign_w = w_dom[d] - n * weight_t[t]
        share = foreign_w / total_w if total_w > 0 else np.zeros_like(foreign_w)
        incidents: F64 = np.bincount(t, weights=esc.per_year * share, minlength=n_t).astype(
            np.float64
        )
        out.by_escape[esc.kind] = incidents
        out.pods_exposed += np.bincount(t, weights=esc.per_year * share * n, minlength=n_t)
        # blast radius from a foothold in tenant t's pods on domain d
        dom_pods = np.asarray(by_level[esc.exposes].sum(axis=1)).ravel()
        dom_tenants = np.diff(by_level[esc.exposes].indptr)
        other_pods = dom_pods[d] - n
        other_tenants = dom_tenants[d] - 1
        total_pods = float(n.sum())
        class_pods = _class_pods(by_level[esc.exposes], class_of, len(class_names))
        exposed_class = class_pods[d] - np.where(
            class_of[t][:, None] == np.arange(len(class_names))[None, :], n[:, None], 0
        )
        reach = {
            c: 100.0 * float((n * (exposed_class[:, i] > 0)).sum()) / total_pods
            if total_pods
            else 0.0
            for i, c in enumerate(class_names)
        }
        out.blast.append(
            BlastRadius(
                escape=esc.kind,
                per_year=esc.per_year,
                tenants_exposed_mean=float((n * other_tenants).sum() / total_pods)
                if total_pods
                else 0.0,
                tenants_exposed_max=int(other_tenants.max()) if len(other_tenants) else 0,
                pods_exposed_mean=float((n * other_pods).sum() / total_pods) if total_pods else 0.0,
                class_exposed_percent=reach,
            )
        )
        if esc.kind == escapes[-1].kind:  # the farthest-reaching escape of this substrate
            own = np.bincount(t, weights=n, minlength=n_t)
            safe = np.where(own > 0, own, 1)
            out.blast_tenants = np.bincount(t, weights=n * other_tenants, minlength=n_t) / safe
            out.blast_pods = np.bincount(t, weights=n * other_pods, minlength=n_t) / safe
    return out


def _violations(scenario: Scenario, shared: dict[str, I64]) -> list[IsolationViolation]:
    """Pairs of tenants sharing what a rule of the policy says they must not."""
    tenants, policy = scenario.tenants, scenario.isolation
    classes = [t.isolation for t in tenants]
    lineage = [policy.lineage(c) for c in classes]
    violations: list[IsolationViolation] = []
    seen: set[tuple[str, int, int]] = set()
    for ri, rule in enumerate(policy.rules):
        ca, cb = rule.between
        m = shared[rule.never_share]
        side_a = np.array([ca in lin for lin in lineage], bool)
        side_b = np.array([cb in lin for lin in lineage], bool)
        pairs = np.argwhere((m > 0) & side_a[:, None] & side_b[None, :])
        for a, b in pairs.tolist():
            if a == b:
                continue
            key = (rule.never_share, min(a, b), max(a, b))
            if key in seen:
                continue
            seen.add(key)
            violations.append(
                IsolationViolation(
                    ri,
                    rule.never_share,
                    tenants[a].name,
                    tenants[b].name,
                    classes[a],
                    classes[b],
                    int(m[a, b]),
                )
            )
    return violations


def _tenant_rows(
    scenario: Scenario,
    shared: dict[str, I64],
    kernels_of: NDArray[Any],
    violations: list[IsolationViolation],
    ex: _Exposure,
) -> list[TenantIsolation]:
    """One row per tenant."""
    tenants = scenario.tenants
    n_t = len(tenants)
    names = [t.name for t in tenants]
    n_viol = np.zeros(n_t, np.int64)
    for v in violations:
        n_viol[names.index(v.tenant)] += 1
        n_viol[names.index(v.other)] += 1
    total_incidents = sum(ex.by_escape.values(), np.zeros(n_t))
    rows = []
    for ti, tenant in enumerate(tenants):
        rows.append(
            TenantIsolation(
                name=tenant.name,
                isolation=tenant.isolation,
                shares_kernel_with=[
                    names[o] for o in np.flatnonzero(shared["kernel"][ti]).tolist() if o != ti
                ],
                shares_host_with=[
                    names[o] for o in np.flatnonzero(shared["host"][ti]).tolist() if o != ti
                ],
                kernels=int(kernels_of[ti]),
                violations=int(n_viol[ti]),
                incidents_per_year=float(total_incidents[ti]),
                exposed_pods_per_year=float(ex.pods_exposed[ti]),
                by_escape={k: float(v[ti]) for k, v in ex.by_escape.items()},
                blast_tenants_mean=float(ex.blast_tenants[ti]),
                blast_pods_mean=float(ex.blast_pods[ti]),
            )
        )
    return rows


def analyse_isolation(
    scenario: Scenario, defaults: Defaults, p: SubstratePlacement
) -> SubstrateIsolation:
    """Kernel sharing, rule violations and blast radius of placement ``p``."""
    tenants = scenario.tenants
    n_t = len(tenants)
    by_level, t_of, pods = _by_level(p, n_t)
    shared = {
        level: _co_occurrence(m) for level, m in by_level.items()
    }  # tenants × tenants, domains shared
    classes = [t.isolation for t in tenants]
    weight_t = np.array(
        [_foothold_weight(scenario.isolation, defaults.security, c) for c in classes], np.float64
    )
    escapes = _escapes(scenario, defaults, p.name)
    if p.parts:  # a hybrid: the escapes of its vm and sandboxed parts
        g_t, g_node, g_pods = _pod_groups(p)
        for part in part_escapes(scenario, defaults, p, (g_t, p.nodes.host[g_node], g_pods)):
            by_level[part.level] = part.domains
            escapes.append(Escape(part.kind, part.per_year, part.level, part.source))
    class_names = sorted(set(classes))
    class_of = np.array([class_names.index(c) for c in classes], np.int64)
    exposure = _exposure(by_level, escapes, weight_t, class_of, class_names)
    kernel_count = by_level["kernel"].shape[0]
    if p.kind == "sandboxed":
        kernel_count = int(pods.sum())
    violations = _violations(scenario, shared)
    names = [t.name for t in tenants]
    edges = [
        SharingEdge(
            names[a],
            names[b],
            int(shared["kernel"][a, b]),
            int(shared["host"][a, b]),
            int(shared["rack"][a, b]),
        )
        for a, b in np.argwhere(np.triu(shared["host"], 1) > 0).tolist()
    ]
    kernels_of = np.asarray((by_level["kernel"] > 0).sum(axis=0)).ravel()
    if p.kind == "sandboxed":
        kernels_of = np.bincount(t_of, weights=pods, minlength=n_t)
    per_kernel = 1 if p.kind == "sandboxed" and len(pods) else _max_tenants(by_level["kernel"])
    return SubstrateIsolation(
        name=p.name,
        kind=p.kind,
        kernels=kernel_count,
        tenants_per_kernel_max=per_kernel,
        tenants_per_host_max=_max_tenants(by_level["host"]),
        escapes=escapes,
        blast=exposure.blast,
        edges=edges,
        violations=violations,
        tenants=_tenant_rows(scenario, shared, kernels_of, violations, exposure),
        notes=["all tenants share one cluster's API server and control plane (not counted here)"]
        if p.kind in ("baremetal-shared", "sandboxed") and n_t > 1
        else [],
    )


def _co_occurrence(m: sp.csr_matrix) -> I64:
    """(tenants × tenants) number of domains where both have pods."""
    b = (m > 0).astype(np.int64)
    out: I64 = np.asarray((b.T @ b).todense(), np.int64)
    return out


def _class_pods(m: sp.csr_matrix, class_of: I64, n_classes: int) -> F64:
    """(domains × classes) pods of each isolation class in each domain."""
    to_class = sp.csr_matrix(
        (np.ones(len(class_of)), (np.arange(len(class_of)), class_of)),
        shape=(len(class_of), n_classes),
    )
    out: F64 = np.asarray((m @ to_class).todense(), np.float64)
    return out


def _max_tenants(m: sp.csr_matrix) -> int:
    """Most tenants in one domain."""
    return int(np.diff(m.indptr).max()) if m.shape[0] else 0
